"""Aqueduct operators and sensor in real Airflow (dag.test, SQLite), both server generations."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.aqueduct.operators import AqueductCreateExperimentOperator, AqueductExecuteExtensionOperator, AqueductUploadFilesOperator
from airflow_provider.aqueduct.sensors import AqueductTaskSensor
from airflow_provider.testing.airflow_env import run_dag, task_outcomes

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))


def _dag(name: str) -> DAG:
    return DAG(f"aq_{name}_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False)


def _states(dag_run: Any) -> dict[str, str]:
    return {k: v["state"] for k, v in task_outcomes(dag_run).items()}


def _eid(conn_id: str, title: str) -> str:
    from airflow_provider.aqueduct.hook import AqueductHook

    return AqueductHook(conn_id).create_experiment(title, "for a DAG test").eid


def test_example_dag_waits_deferred(example_dags: dict, aq_tasks: Any) -> None:
    dag_run = example_dags["aqueduct_experiments"].test()
    outcomes = task_outcomes(dag_run)
    assert dag_run.state == "success", outcomes
    assert outcomes["analyse"]["result"]["waited"] == "deferred" and outcomes["analyse"]["result"]["result_code"] == 0
    assert Path(outcomes["download_results"]["result"]["paths"][0]).read_text().startswith("qubit,frequency")


@pytest.mark.parametrize(
    ("conn_id", "deferrable"),
    [("aqueduct_default", True), ("aqueduct_default", False), ("aqueduct_released", False)],
    ids=["tasks-deferred", "tasks-in-place", "released-sync"],
)
def test_failing_action_fails_with_stderr_tail(conn_id: str, deferrable: bool, aq_tasks: Any, aq_released: Any, capfd: pytest.CaptureFixture[str]) -> None:
    eid = _eid(conn_id, f"fail {conn_id} {deferrable}")
    with _dag("fail") as dag:
        AqueductExecuteExtensionOperator(task_id="fail", extension="demo", action="fail", experiment=eid, parameters={"code": 7},
                                         aqueduct_conn_id=conn_id, deferrable=deferrable, poll_interval=0.1)  # fmt: skip
        AqueductExecuteExtensionOperator(task_id="tolerated", extension="demo", action="fail", experiment=eid, parameters={"code": 7},
                                         aqueduct_conn_id=conn_id, fail_on_nonzero=False, poll_interval=0.1)  # fmt: skip
        AqueductExecuteExtensionOperator(task_id="echo", extension="demo", action="echo", experiment=eid, parameters={"message": "ok"},
                                         aqueduct_conn_id=conn_id, deferrable=deferrable, poll_interval=0.1)  # fmt: skip
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert _states(dag_run) == {"fail": "failed", "tolerated": "success", "echo": "success"}
    assert "err-msg" in out and ("exited with 7" in out or "result code 7" in out)
    assert task_outcomes(dag_run)["echo"]["result"]["result_code"] == 0


def test_cancelled_task_is_reported_as_cancelled(aq_tasks: Any, capfd: pytest.CaptureFixture[str]) -> None:
    from airflow_provider.aqueduct.hook import AqueductHook

    eid = _eid("aqueduct_default", "cancel me")
    hook = AqueductHook()

    def cancel_soon() -> None:
        for _ in range(100):
            running = [t for t in hook.get_tasks(limit=20, action_name="sleep") if t.task_status in ("PENDING", "STARTED") and t.experiment["eid"] == eid]
            if running:
                hook.cancel_task(running[0].uuid)
                return
            time.sleep(0.1)

    canceller = threading.Thread(target=cancel_soon)
    with _dag("cancel") as dag:
        AqueductExecuteExtensionOperator(task_id="sleep", extension="demo", action="sleep", experiment=eid, parameters={"seconds": 30}, poll_interval=0.1)
    canceller.start()
    dag_run = run_dag(dag)
    canceller.join()
    assert _states(dag_run) == {"sleep": "failed"}
    assert "was cancelled (state REVOKED)" in capfd.readouterr().out


def test_timeout_cancels_the_task_and_sensor_sees_it(aq_tasks: Any) -> None:
    from airflow_provider.aqueduct.hook import AqueductHook

    eid = _eid("aqueduct_default", "timeout")
    with _dag("timeout") as dag:
        AqueductExecuteExtensionOperator(
            task_id="sleep", extension="demo", action="sleep", experiment=eid, parameters={"seconds": 30}, deferrable=True, poll_interval=0.1, timeout=1
        )
    assert _states(run_dag(dag)) == {"sleep": "failed"}
    (task,) = [t for t in AqueductHook().get_tasks(limit=50, action_name="sleep") if t.experiment["eid"] == eid]
    assert AqueductHook().get_task(task.uuid).task_status == "REVOKED"
    with _dag("sensor") as dag:
        AqueductTaskSensor(task_id="revoked_ok", task_uuid=task.uuid, target_states=["REVOKED"], poke_interval=0.1, timeout=10)
        AqueductTaskSensor(task_id="wants_success", task_uuid=task.uuid, deferrable=True, poke_interval=0.1, timeout=10)
    assert _states(run_dag(dag)) == {"revoked_ok": "success", "wants_success": "failed"}


def test_bad_inputs_name_the_problem(aq_tasks: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from airflow_provider.aqueduct.hook import AqueductHook

    eid = _eid("aqueduct_default", "bad inputs")
    present = tmp_path / "present.txt"
    present.write_text("x")
    with _dag("bad") as dag:
        AqueductExecuteExtensionOperator(task_id="unknown_extension", extension="nope", action="echo", experiment=eid)
        AqueductExecuteExtensionOperator(task_id="unknown_action", extension="demo", action="zap", experiment=eid)
        AqueductExecuteExtensionOperator(task_id="mistyped", extension="demo", action="echo", experiment=eid, parameters={"message": "m", "count": "many"})
        AqueductExecuteExtensionOperator(task_id="missing_param", extension="demo", action="echo", experiment=eid)
        AqueductExecuteExtensionOperator(task_id="unknown_experiment", extension="demo", action="echo", experiment="19990101-9", parameters={"message": "m"})
        AqueductUploadFilesOperator(task_id="missing_file", experiment=eid, files=[str(present), str(tmp_path / "absent.txt")])
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert set(_states(dag_run).values()) == {"failed"}
    for message in ["unknown extension 'nope'", "has no action 'zap'", "parameter 'count' must be an int", "parameter 'message' (str) is required",
                    "Non-existing experiment with the specified eid", "files not found locally"]:  # fmt: skip
        assert message in out, message
    assert AqueductHook().get_experiment(eid).files == [], "an upload started although a file was missing"


def test_create_experiment_is_idempotent(aq_tasks: Any) -> None:
    with _dag("create") as dag:
        AqueductCreateExperimentOperator(task_id="first", title="Idempotent title", tags=["a"])
        second = AqueductCreateExperimentOperator(task_id="second", title="Idempotent title", tags=["b"])
        dag.get_task("first") >> second
    outcomes = task_outcomes(run_dag(dag))
    assert outcomes["first"]["result"]["created"] is True and outcomes["second"]["result"]["created"] is False
    assert outcomes["second"]["result"]["uuid"] == outcomes["first"]["result"]["uuid"] and outcomes["second"]["result"]["tags"] == ["a", "b"]
