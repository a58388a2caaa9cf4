"""PaddleFlow operators and sensor in real Airflow (dag.test, SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator, PaddleFlowStopRunOperator
from airflow_provider.paddleflow.sensors import PaddleFlowRunSensor
from airflow_provider.testing.airflow_env import run_dag, task_outcomes
from airflow_provider.testing.paddleflow import DEMO_YAML, FLAKY_YAML, ROOT_PASSWORD, connection

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))


def _dag(name: str, **kwargs: Any) -> DAG:
    return DAG(f"pf_{name}_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, **kwargs)


def _states(dag_run: Any) -> dict[str, str]:
    return {k: v["state"] for k, v in task_outcomes(dag_run).items()}


def test_example_dag(example_dags: dict, pf: Any, capfd: pytest.CaptureFixture[str]) -> None:
    dag_run = example_dags["paddleflow_runs"].test()
    outcomes = task_outcomes(dag_run)
    assert dag_run.state == "success", outcomes
    assert outcomes["train"]["result"]["waited"] == "deferred" and outcomes["train"]["result"]["state"] == "succeeded"
    assert outcomes["flaky_ingest"]["state"] == "failed" and outcomes["retry_flaky_ingest"]["result"]["state"] == "succeeded"
    out = capfd.readouterr().out
    tokens = list(pf[0].state.tokens)
    assert ROOT_PASSWORD not in out and not any(token in out for token in tokens)


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "in_place"])
def test_failing_run_puts_the_failing_jobs_log_in_the_task_log(deferrable: bool, pf: Any, capfd: pytest.CaptureFixture[str]) -> None:
    with _dag("fail") as dag:
        PaddleFlowCreateRunOperator(task_id="run", yaml_raw=FLAKY_YAML, deferrable=deferrable, poll_interval=0.1, log_tail_lines=3)
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert _states(dag_run) == {"run": "failed"}
    assert "failed steps: unstable (exit status 1)" in out
    assert "RuntimeError: step unstable exited with status 1" in out


def test_retried_task_reattaches_to_its_run(pf: Any, pf_state: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PF_FLAKY", json.dumps({**connection(pf[1].url), "extra": {"retry_attempts": 1}}))
    pf_state.run_duration = 2.0
    try:
        with _dag("reattach", default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=0)}) as dag:
            PaddleFlowCreateRunOperator(
                task_id="run", yaml_raw=DEMO_YAML, run_name="reattach_me", paddleflow_conn_id="pf_flaky", poll_interval=0.1, max_consecutive_poll_errors=1
            )
        pf[0].faults.fail_next(2, 503, method="GET", path_pattern=r"/run/run-\d+$")
        dag_run = run_dag(dag)
    finally:
        pf_state.run_duration = 0.8
    assert dag_run.state == "success", task_outcomes(dag_run)
    assert [r.name for r in pf_state.runs.values()].count("reattach_me") == 1, "the retry started a second run"
    assert dag_run.get_task_instances()[0].try_number == 2


def test_timeout_stops_the_remote_run(pf: Any, pf_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    pf_state.run_duration = 30
    try:
        with _dag("timeout") as dag:
            PaddleFlowCreateRunOperator(task_id="run", yaml_raw=DEMO_YAML, run_name="too_slow", deferrable=True, poll_interval=0.1, timeout=1)
        dag_run = run_dag(dag)
    finally:
        pf_state.run_duration = 0.8
    assert _states(dag_run) == {"run": "failed"}
    (run,) = [r for r in pf_state.runs.values() if r.name == "too_slow"]
    assert run.stopped_at is not None
    assert "gave up waiting and cancelled it" in capfd.readouterr().out


def test_sensor_and_stop_rules(pf: Any, capfd: pytest.CaptureFixture[str]) -> None:
    from airflow_provider.paddleflow.hook import PaddleFlowHook

    hook = PaddleFlowHook()
    ok = hook.create_run(run_yaml_raw=DEMO_YAML)
    bad = hook.create_run(run_yaml_raw=FLAKY_YAML)
    with _dag("sensor") as dag:
        PaddleFlowRunSensor(task_id="ok", run_id=ok, poke_interval=0.1, timeout=30)
        bad_sensor = PaddleFlowRunSensor(task_id="bad", run_id=bad, deferrable=True, poke_interval=0.1, timeout=30)
        stop_finished = PaddleFlowStopRunOperator(task_id="stop_finished", run_id=bad, trigger_rule="all_done")
        stop_ignored = PaddleFlowStopRunOperator(task_id="stop_ignored", run_id=bad, ignore_finished=True, trigger_rule="all_done")
        bad_sensor >> [stop_finished, stop_ignored]
    dag_run = run_dag(dag)
    assert _states(dag_run) == {"ok": "success", "bad": "failed", "stop_finished": "failed", "stop_ignored": "success"}
    assert "can not be stopped (the run or schedule is not in a state that allows this)" in capfd.readouterr().out


def test_bad_inputs(pf: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PF_WRONG", json.dumps(connection(pf[1].url, password="not-the-password-42")))
    with _dag("bad") as dag:
        PaddleFlowCreateRunOperator(task_id="wrong_password", yaml_raw=DEMO_YAML, paddleflow_conn_id="pf_wrong")
        PaddleFlowCreateRunOperator(task_id="malformed_yaml", yaml_raw="name: x\nentry_points:\n  a: [unclosed\n")
        PaddleFlowCreateRunOperator(task_id="unknown_version", pipeline_id="ppl-000001", pipeline_version_id="99")
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert set(_states(dag_run).values()) == {"failed"}
    assert "Username or password not correct (check the Login and Password of the PaddleFlow connection)" in out
    assert "pipeline YAML is malformed at line 4" in out
    assert "PipelineNotFound" in out
    assert "not-the-password-42" not in out
