"""DigitalHub operators and sensor in real Airflow (dag.test, SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
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


def _final_state(dh_state: Any, project: str) -> tuple[str, Any]:
    (((_, run_id), rec),) = [(k, r) for k, r in dh_state.runs.items() if k[0] == project]
    import time

    return run_id, dh_state.run_json(rec, time.time())["status"]["state"]


def test_timeout_stops_a_running_run_and_follows_it_to_stopped(dhcore: Any, dh_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """Why: a timeout left the run in STOP instead of following it to STOPPED."""
    task = _project(dh_state, "timeout")
    dh_state.run_duration = 30
    try:
        with _dag("timeout") as dag:
            DigitalHubCreateRunOperator(task_id="run", project="timeout", kind="python+job:run", task=task, deferrable=True, poll_interval=0.1, timeout=1.0)
        dag_run = run_dag(dag)
    finally:
        dh_state.run_duration = 0.8
    assert _states(dag_run) == {"run": "failed"}
    run_id, state = _final_state(dh_state, "timeout")
    assert state == "STOPPED"
    assert f"gave up waiting and stopped run {run_id} (STOPPED)" in capfd.readouterr().out


def test_timeout_before_running_says_what_it_left(dhcore: Any, dh_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    task = _project(dh_state, "pending")
    dh_state.pending_after = 30
    try:
        with _dag("pending") as dag:
            DigitalHubCreateRunOperator(task_id="run", project="pending", kind="python+job:run", task=task, poll_interval=0.1, timeout=0.8, stop_timeout=0.5)
        dag_run = run_dag(dag)
    finally:
        dh_state.pending_after = 0.2
    assert _states(dag_run) == {"run": "failed"}
    run_id, state = _final_state(dh_state, "pending")
    assert state == "READY"
    out = capfd.readouterr().out
    assert f"could not cancel it: left run {run_id} not ended: it was still READY after 0.5s and DHCore stops only RUNNING runs; delete it to end it" in out


def test_timeout_before_running_deletes_when_asked(dhcore: Any, dh_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    task = _project(dh_state, "pendingdel")
    dh_state.pending_after = 30
    try:
        with _dag("pendingdel") as dag:
            DigitalHubCreateRunOperator(task_id="run", project="pendingdel", kind="python+job:run", task=task, poll_interval=0.1, timeout=0.8,
                                        stop_timeout=0.3, delete_if_not_started=True)  # fmt: skip
        dag_run = run_dag(dag)
    finally:
        dh_state.pending_after = 0.2
    assert _states(dag_run) == {"run": "failed"}
    run_id, state = _final_state(dh_state, "pendingdel")
    assert state == "DELETING"
    assert f"gave up waiting and deleted run {run_id}: it was still READY after 0.3s" in capfd.readouterr().out


def test_stop_operator_ends_runs_or_says_what_it_left(dhcore: Any, dh_state: Any) -> None:
    """Why: there was no DigitalHubStopRunOperator."""
    import time

    from airflow_provider.digitalhub.hook import DigitalHubHook
    from airflow_provider.digitalhub.operators import DigitalHubStopRunOperator

    task = _project(dh_state, "stopop")
    hook = DigitalHubHook()
    dh_state.run_duration = 30
    try:
        running = hook.new_run("stopop", "python+job:run", task=task)
        done = hook.new_run("stopop", "python+job:run", task=task, parameters={"duration": 0.1})
        dh_state.pending_after = 30
        waiting = hook.new_run("stopop", "python+job:run", task=task)
        doomed = hook.new_run("stopop", "python+job:run", task=task)
        time.sleep(0.5)
        key = f"store://stopop/run/python+job:run/{running.id}"
        with _dag("stopop") as dag:
            DigitalHubStopRunOperator(task_id="running", identifier=key, poll_interval=0.1)
            DigitalHubStopRunOperator(task_id="done", identifier=done.id, project="stopop", poll_interval=0.1)
            DigitalHubStopRunOperator(task_id="waiting", identifier=waiting.id, project="stopop", timeout=0.3, poll_interval=0.1)
            DigitalHubStopRunOperator(task_id="doomed", identifier=doomed.id, project="stopop", timeout=0.3, poll_interval=0.1, delete_if_not_started=True)
        dag_run = run_dag(dag)
    finally:
        dh_state.run_duration, dh_state.pending_after = 0.8, 0.2
    outcomes = task_outcomes(dag_run)
    assert {k: v["state"] for k, v in outcomes.items()} == {"running": "success", "done": "success", "waiting": "failed", "doomed": "success"}
    assert outcomes["running"]["result"] == {
        "run_id": running.id,
        "project": "stopop",
        "state": "STOPPED",
        "ended": True,
        "message": f"stopped run {running.id} (STOPPED)",
    }
    assert outcomes["done"]["result"]["message"] == f"run {done.id} had already ended COMPLETED"
    assert outcomes["doomed"]["result"]["state"] == "DELETING"
    assert hook.get_run(waiting.id, "stopop").state.value == "READY"
