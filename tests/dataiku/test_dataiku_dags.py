"""DSS operators and sensors in real Airflow (dag.test, SQLite), deferred and in place."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.dataiku.operators import DataikuAbortScenarioOperator, DataikuRunScenarioOperator
from airflow_provider.dataiku.sensors import DataikuScenarioRunSensor
from airflow_provider.testing.airflow_env import run_dag, task_outcomes
from airflow_provider.testing.dataiku import DEMO_API_KEY

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))


def _dag(name: str, **kwargs: Any) -> DAG:
    return DAG(f"dss_{name}_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, **kwargs)


def _states(dag_run: Any) -> dict[str, str]:
    return {k: v["state"] for k, v in task_outcomes(dag_run).items()}


def test_example_dag_succeeds_with_deferred_tasks(example_dags: dict, dss: Any) -> None:
    dag_run = example_dags["dataiku_scenarios"].test()
    outcomes = task_outcomes(dag_run)
    assert dag_run.state == "success", outcomes
    assert outcomes["build_orders"]["result"]["waited"] == "deferred"
    assert outcomes["refresh_kpis"]["result"]["waited"] == "in_place"
    assert outcomes["check_quality"]["result"]["outcome"] == "WARNING"
    assert outcomes["build_orders"]["result"]["url"].endswith(f"/projects/DEMO/scenarios/BUILD_ORDERS/runs/list/{outcomes['build_orders']['result']['run_id']}")


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "in_place"])
def test_failed_scenario_fails_the_task_with_error_and_log_tail(deferrable: bool, new_scenario: Any, capfd: pytest.CaptureFixture[str]) -> None:
    sc = new_scenario(duration=0.4, outcome="FAILED", error="Job failed: column amount is missing")
    with _dag("fail") as dag:
        DataikuRunScenarioOperator(task_id="run", project_key="TEST", scenario_id=sc.id, deferrable=deferrable, poll_interval=0.1)
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert dag_run.state == "failed" and _states(dag_run) == {"run": "failed"}
    assert "step 'Check B': Job failed: column amount is missing (DKUSQLException)" in out
    assert "[ERROR] [dku.job] - Job failed: column amount is missing" in out  # the remote log tail
    assert len(sc.runs) == 1


@pytest.mark.parametrize("warning_is_success", [True, False])
def test_warning_outcome_accepted_or_failing(warning_is_success: bool, new_scenario: Any) -> None:
    sc = new_scenario(duration=0.3, outcome="WARNING")
    with _dag("warn") as dag:
        DataikuRunScenarioOperator(
            task_id="run", project_key="TEST", scenario_id=sc.id, warning_is_success=warning_is_success, deferrable=True, poll_interval=0.1
        )
    dag_run = run_dag(dag)
    assert _states(dag_run) == {"run": "success" if warning_is_success else "failed"}


def test_a_run_the_triggerer_left_unread_is_read_by_its_task(new_scenario: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """At scale the triggerer ends most waits with ENDED (outcome unread): the operator and the
    sensor read the outcome when they resume, failure details included."""
    import airflow_provider.common.jobs

    monkeypatch.setattr(airflow_provider.common.jobs, "FINAL_READS", 0)  # every ended run left to its task
    ok = new_scenario(duration=0.4)
    bad = new_scenario(duration=0.4, outcome="FAILED", error="Job failed: column amount is missing")
    watched = new_scenario(duration=0.4, outcome="FAILED")
    with _dag("settle") as dag:
        DataikuRunScenarioOperator(task_id="ok", project_key="TEST", scenario_id=ok.id, deferrable=True, poll_interval=0.1)
        DataikuRunScenarioOperator(task_id="bad", project_key="TEST", scenario_id=bad.id, deferrable=True, poll_interval=0.1)
        start = DataikuRunScenarioOperator(task_id="start", project_key="TEST", scenario_id=watched.id, wait_for_completion=False)
        start >> DataikuScenarioRunSensor(
            task_id="watch", project_key="TEST", scenario_id=watched.id, which="current", deferrable=True, poke_interval=0.1, timeout=30
        )
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert _states(dag_run) == {"ok": "success", "bad": "failed", "start": "success", "watch": "failed"}
    result = task_outcomes(dag_run)["ok"]["result"]
    assert (result["state"], result["outcome"], result["waited"]) == ("SUCCESS", "SUCCESS", "deferred")
    assert "step 'Check B': Job failed: column amount is missing (DKUSQLException)" in out
    assert "ended FAILED, not in SUCCESS/WARNING" in out


def test_timeout_aborts_the_remote_run(new_scenario: Any, capfd: pytest.CaptureFixture[str]) -> None:
    sc = new_scenario(duration=60)
    with _dag("timeout") as dag:
        DataikuRunScenarioOperator(task_id="run", project_key="TEST", scenario_id=sc.id, deferrable=True, poll_interval=0.1, timeout=1)
    dag_run = run_dag(dag)
    assert _states(dag_run) == {"run": "failed"}
    assert sc.runs[0].outcome_at(__import__("time").time()) == "ABORTED"
    assert "gave up waiting and cancelled it" in capfd.readouterr().out


def test_retried_task_reattaches_to_its_own_run(new_scenario: Any, dss: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Try 1 loses contact with DSS after starting the run; try 2 must adopt that run, not start another."""
    conn = {"conn_type": "dataiku", "host": dss[1].url, "password": DEMO_API_KEY, "extra": {"retry_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_DSS_FLAKY", json.dumps(conn))
    sc = new_scenario(duration=2.0)
    with _dag("reattach", default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=0)}) as dag:
        DataikuRunScenarioOperator(
            task_id="run",
            project_key="TEST",
            scenario_id=sc.id,
            dataiku_conn_id="dss_flaky",
            deferrable=False,
            poll_interval=0.1,
            max_consecutive_poll_errors=1,
        )
    # the state reads of try 1 (coalesced: the project's scenario list)
    dss[0].faults.fail_next(2, 503, method="GET", path_pattern=r"/projects/TEST/scenarios/$")
    dag_run = run_dag(dag)
    assert dag_run.state == "success", task_outcomes(dag_run)
    assert len(sc.runs) == 1 and len(sc.fires) == 1, "the retry started a second run"
    ti = dag_run.get_task_instances()[0]
    assert ti.try_number == 2
    # the one run is this task instance's: try 2 adopted the run that try 1 tagged
    (fire,) = sc.fires
    assert fire.params["airflow_task_instance"] == f"airflow:{dag.dag_id}/run/{dag_run.run_id}/-1"


def test_retry_does_not_adopt_a_run_tagged_for_another_task(new_scenario: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook

    sc = new_scenario(duration=30)
    DataikuHook().run_scenario("TEST", sc.id, {"airflow_task_instance": "airflow:other_dag/run/x/-1"})
    op = DataikuRunScenarioOperator(task_id="run", project_key="TEST", scenario_id=sc.id)
    assert op.find_existing(DataikuHook(), {}, "airflow:my_dag/run/x/-1") is None
    DataikuHook().abort_scenario("TEST", sc.id)


def test_sensor_waits_for_current_run_and_checks_outcome(new_scenario: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook

    ok = new_scenario(duration=1.5)
    bad = new_scenario(duration=0.2, outcome="FAILED")
    DataikuHook().run_scenario("TEST", bad.id)
    with _dag("sensor") as dag:
        start = DataikuRunScenarioOperator(task_id="start", project_key="TEST", scenario_id=ok.id, wait_for_completion=False)
        ok_current = DataikuScenarioRunSensor(task_id="ok_current", project_key="TEST", scenario_id=ok.id, which="current", poke_interval=0.1, timeout=30)
        DataikuScenarioRunSensor(task_id="bad_last", project_key="TEST", scenario_id=bad.id, deferrable=True, poke_interval=0.1, timeout=30)
        start >> ok_current
    dag_run = run_dag(dag)
    assert _states(dag_run) == {"start": "success", "ok_current": "success", "bad_last": "failed"}
    result = task_outcomes(dag_run)["ok_current"]["result"]
    assert result["state"] == "SUCCESS" and result["run_id"] == ok.runs[0].run_id


def test_fire_and_forget_then_abort(new_scenario: Any) -> None:
    sc = new_scenario(duration=30)
    with _dag("forget") as dag:
        start = DataikuRunScenarioOperator(task_id="start", project_key="TEST", scenario_id=sc.id, wait_for_completion=False)
        abort = DataikuAbortScenarioOperator(task_id="abort", project_key="TEST", scenario_id=sc.id, run_id="{{ ti.xcom_pull('start')['run_id'] }}")
        start >> abort
    dag_run = run_dag(dag)
    outcomes = task_outcomes(dag_run)
    assert outcomes["start"]["result"]["waited"] == "no"
    assert outcomes["abort"]["result"] == {"aborted": True, "run_id": sc.runs[0].run_id}
    assert sc.runs[0].aborted_at is not None


def test_operator_on_kill_aborts_its_own_run_only(new_scenario: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import scenario_run_ref

    sc = new_scenario(duration=30)
    hook = DataikuHook()
    run = hook.wait_for_scenario_run("TEST", sc.id, hook.run_scenario("TEST", sc.id), poll_interval=0.05)
    op = DataikuRunScenarioOperator(task_id="run", project_key="TEST", scenario_id=sc.id)
    op._ref = {**scenario_run_ref(run), "run_id": "someone-elses-run"}
    op.on_kill()
    assert sc.runs[0].aborted_at is None, "aborted a run that was not the task's own"
    op._ref = scenario_run_ref(run)
    op.on_kill()
    assert hook.get_scenario_run("TEST", sc.id, run.run_id).outcome == "ABORTED"


def test_sensor_in_reschedule_mode_follows_the_run_it_saw(new_scenario: Any) -> None:
    sc = new_scenario(duration=1.5)
    with _dag("reschedule") as dag:
        start = DataikuRunScenarioOperator(task_id="start", project_key="TEST", scenario_id=sc.id, wait_for_completion=False)
        watch = DataikuScenarioRunSensor(
            task_id="watch", project_key="TEST", scenario_id=sc.id, which="current", mode="reschedule", poke_interval=0.2, timeout=60
        )
        start >> watch
    dag_run = run_dag(dag)
    assert _states(dag_run) == {"start": "success", "watch": "success"}
    assert task_outcomes(dag_run)["watch"]["result"]["run_id"] == sc.runs[0].run_id


def test_current_run_sensor_ignores_a_run_older_than_the_dag_run(new_scenario: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook

    sc = new_scenario(duration=0.1)
    hook = DataikuHook()
    hook.wait_for_scenario_run_completion(hook.wait_for_scenario_run("TEST", sc.id, hook.run_scenario("TEST", sc.id), poll_interval=0.05), poll_interval=0.05)
    with _dag("stale") as dag:
        DataikuScenarioRunSensor(task_id="watch", project_key="TEST", scenario_id=sc.id, which="current", poke_interval=0.2, timeout=1.5)
    assert _states(run_dag(dag)) == {"watch": "failed"}  # sensor timeout: no run started during this DAG run
