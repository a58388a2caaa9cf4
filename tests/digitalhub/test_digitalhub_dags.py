"""DigitalHub operators and sensor in real Airflow (dag.test, SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
from airflow_provider.digitalhub.sensors import DigitalHubRunSensor
from airflow_provider.testing.airflow_env import run_dag, task_outcomes
from airflow_provider.testing.digitalhub import BASIC_PASSWORD, DEMO_TASK, connection

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))


def _dag(name: str, **kwargs: Any) -> DAG:
    return DAG(f"dh_{name}_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, **kwargs)


def _states(dag_run: Any) -> dict[str, str]:
    return {k: v["state"] for k, v in task_outcomes(dag_run).items()}


def _project(dh_state: Any, name: str) -> str:
    dh_state.add_project(name)
    task = dh_state.add_task(name, dh_state.add_function(name, "f"))
    return f"python+job://{name}/{task['id']}"


def test_example_dag(example_dags: dict, dhcore: Any, capfd: pytest.CaptureFixture[str]) -> None:
    dag_run = example_dags["digitalhub_runs"].test()
    outcomes = task_outcomes(dag_run)
    assert dag_run.state == "success", outcomes
    assert outcomes["run_job"]["result"]["waited"] == "deferred" and outcomes["run_job"]["result"]["state"] == "COMPLETED"
    assert outcomes["rerun_from_yaml"]["result"]["waited"] == "in_place"
    assert outcomes["completed"]["result"]["key"] == outcomes["run_job"]["result"]["key"]
    assert BASIC_PASSWORD not in capfd.readouterr().out


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "in_place"])
def test_error_run_fails_the_task_with_log_tail(deferrable: bool, dhcore: Any, capfd: pytest.CaptureFixture[str]) -> None:
    with _dag("fail") as dag:
        DigitalHubCreateRunOperator(
            task_id="run", project="demo", kind="python+job:run", task=DEMO_TASK, parameters={"fail": True}, deferrable=deferrable, poll_interval=0.1
        )
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert _states(dag_run) == {"run": "failed"}
    assert "failed (state ERROR): Something got wrong during function execution." in out
    assert "ERROR ValueError: Something got wrong during function execution." in out  # the decoded log tail


def test_retry_reattaches_to_its_own_run(dhcore: Any, dh_state: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    task = _project(dh_state, "reattach")
    monkeypatch.setenv("AIRFLOW_CONN_DH_FLAKY", json.dumps({**connection(dhcore[1].url), "extra": {"auth_type": "basic", "retry_attempts": 1}}))
    with _dag("reattach", default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=0)}) as dag:
        DigitalHubCreateRunOperator(task_id="run", project="reattach", kind="python+job:run", task=task, digitalhub_conn_id="dh_flaky",
                                    poll_interval=0.1, max_consecutive_poll_errors=1)  # fmt: skip
    dhcore[0].faults.fail_next(2, 503, method="GET", path_pattern=r"/-/reattach/runs/[0-9a-f]{32}$")
    dh_state.run_duration = 2.0
    try:
        dag_run = run_dag(dag)
    finally:
        dh_state.run_duration = 0.8
    assert dag_run.state == "success", task_outcomes(dag_run)
    assert len([k for k in dh_state.runs if k[0] == "reattach"]) == 1, "the retry created a second run"
    assert dag_run.get_task_instances()[0].try_number == 2


def test_timeout_stops_a_running_run(dhcore: Any, dh_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    task = _project(dh_state, "timeout")
    dh_state.run_duration = 30
    try:
        with _dag("timeout") as dag:
            DigitalHubCreateRunOperator(task_id="run", project="timeout", kind="python+job:run", task=task, deferrable=True, poll_interval=0.1, timeout=1.0)
        dag_run = run_dag(dag)
    finally:
        dh_state.run_duration = 0.8
    assert _states(dag_run) == {"run": "failed"}
    (rec,) = [r for (p, _), r in dh_state.runs.items() if p == "timeout"]
    assert rec.stopped_at is not None
    assert "gave up waiting and cancelled it" in capfd.readouterr().out


def test_timeout_before_running_reports_why_it_cannot_stop(dhcore: Any, dh_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    task = _project(dh_state, "pending")
    dh_state.pending_after = 30
    try:
        with _dag("pending") as dag:
            DigitalHubCreateRunOperator(task_id="run", project="pending", kind="python+job:run", task=task, poll_interval=0.1, timeout=0.8)
        dag_run = run_dag(dag)
    finally:
        dh_state.pending_after = 0.2
    assert _states(dag_run) == {"run": "failed"}
    assert "only RUNNING runs can be stopped" in capfd.readouterr().out


def test_sensor_fails_on_error_and_waits_for_target(dhcore: Any) -> None:
    from airflow_provider.digitalhub.hook import DigitalHubHook

    hook = DigitalHubHook()
    ok = hook.new_run("demo", "python+job:run", task=DEMO_TASK)
    bad = hook.new_run("demo", "python+job:run", task=DEMO_TASK, parameters={"fail": True})
    with _dag("sensor") as dag:
        DigitalHubRunSensor(task_id="ok", identifier=ok.key, poke_interval=0.1, timeout=30)
        DigitalHubRunSensor(
            task_id="running", identifier=ok.id, project="demo", target_states=["RUNNING", "COMPLETED"], deferrable=True, poke_interval=0.1, timeout=30
        )
        DigitalHubRunSensor(task_id="bad", identifier=bad.key, deferrable=True, poke_interval=0.1, timeout=30)
    dag_run = run_dag(dag)
    outcomes = task_outcomes(dag_run)
    assert {k: v["state"] for k, v in outcomes.items()} == {"ok": "success", "running": "success", "bad": "failed"}
    assert outcomes["ok"]["result"]["state"] == "COMPLETED"
    assert outcomes["running"]["result"]["state"] in ("RUNNING", "COMPLETED")


def test_bad_inputs_in_a_dag(dhcore: Any, tmp_path: Any, capfd: pytest.CaptureFixture[str]) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("kind: python+job:run\nspec: [unclosed\n")
    with _dag("bad") as dag:
        DigitalHubCreateRunOperator(task_id="legacy_kind", project="demo", kind="python+run", task=DEMO_TASK)
        DigitalHubCreateRunOperator(task_id="unknown_project", project="nope", kind="python+job:run", task="python+job://nope/x")
        DigitalHubCreateRunOperator(task_id="bad_yaml", yaml_file=str(bad_yaml))
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert set(_states(dag_run).values()) == {"failed"}
    assert "is the pre-0.15 naming" in out and "No such project." in out and "is not valid YAML" in out
