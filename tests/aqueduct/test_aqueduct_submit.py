"""The submit protocol on Aqueduct: an ambiguous executeExtension never starts two tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.aqueduct.operators import AqueductExecuteExtensionOperator
from airflow_provider.testing.airflow_env import run_dag, task_outcomes

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))
FAULTS = [("status", 502, True), ("status", 504, True), ("reset", 0, True), ("status", 503, False)]
MUTATION = "mutation ExecuteExtension"


def _experiment(conn_id: str, title: str) -> Any:
    from airflow_provider.aqueduct.hook import AqueductHook

    return AqueductHook(conn_id).create_experiment(title, "for a submit test")


def _arm(emulator: Any, kind: str, status: int, commit: bool) -> None:
    if kind == "reset":
        emulator.faults.reset_next(1, method="POST", path_contains="/api/graphql", body_contains=MUTATION)
    else:
        emulator.faults.fail_next(1, status, method="POST", path_contains="/api/graphql", body_contains=MUTATION, commit=commit)


@pytest.mark.parametrize(("kind", "status", "commit"), FAULTS, ids=["502-after-commit", "504-after-commit", "reset-after-commit", "503-not-processed"])
def test_ambiguous_submit_starts_exactly_one_task(aq_tasks: Any, kind: str, status: int, commit: bool) -> None:
    exp = _experiment("aqueduct_default", f"submit {next(_seq)} {kind} {status}")
    with DAG(f"aq_submit_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        AqueductExecuteExtensionOperator(task_id="echo", extension="demo", action="echo", experiment=exp.eid, parameters={"message": "once"},
                                         poll_interval=0.1, absence_check_interval=0.2)  # fmt: skip
    _arm(aq_tasks[0], kind, status, commit)
    dag_run = run_dag(dag)
    assert dag_run.state == "success", task_outcomes(dag_run)
    tasks = [t for t in aq_tasks[0].state.tasks.values() if t.experiment_uuid == exp.uuid]
    assert len(tasks) == 1, f"{len(tasks)} tasks for one task instance"


def test_released_server_is_never_run_twice(aq_released: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """A released server runs the action inside the request and keeps no record: an ambiguous answer fails
    the task, saying the action may have run and where to look."""
    exp = _experiment("aqueduct_released", f"released {next(_seq)}")
    with DAG(f"aq_released_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        AqueductExecuteExtensionOperator(task_id="echo", extension="demo", action="echo", experiment=exp.eid, parameters={"message": "x"},
                                         aqueduct_conn_id="aqueduct_released")  # fmt: skip
    _arm(aq_released[0], "status", 502, True)
    before = len(aq_released[0].faults.calls("POST"))
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert dag_run.state == "failed"
    mutations = [c for c in aq_released[0].faults.calls("POST")[before:] if MUTATION.encode() in c.body]
    assert len(mutations) == 1, out[-3000:]
    assert "the action may have run" in out and "not run again" in out


def test_two_candidate_tasks_are_ambiguous_and_adopted_by_neither(aq_tasks: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """Aqueduct tasks carry no tag: when another identical task shares the window, the operator refuses to guess."""
    from airflow_provider.aqueduct.api.extensions import validate_parameters
    from airflow_provider.aqueduct.hook import AqueductHook

    exp = _experiment("aqueduct_default", f"ambiguous {next(_seq)}")
    hook = AqueductHook("aqueduct_default")
    params = validate_parameters(hook.get_extension_action("demo", "echo"), {"message": "same", "experiment": exp.eid})
    hook.execute_extension("demo", "echo", params, experiment_uuid=exp.uuid)  # somebody else's identical task
    with DAG(f"aq_ambiguous_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        AqueductExecuteExtensionOperator(task_id="echo", extension="demo", action="echo", experiment=exp.eid, parameters={"message": "same"},
                                         poll_interval=0.1, absence_check_interval=0.2)  # fmt: skip
    _arm(aq_tasks[0], "status", 504, True)
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert dag_run.state == "failed"
    assert len([t for t in aq_tasks[0].state.tasks.values() if t.experiment_uuid == exp.uuid]) == 2
    assert "adopting none" in out and "the run may exist" in out


def test_retry_reattaches_to_its_own_task(aq_tasks: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first try loses its wait after the submit (as a killed worker would); the retry finds the task and adopts it."""
    import json

    from airflow_provider.testing.aqueduct import connection

    monkeypatch.setenv("AIRFLOW_CONN_AQ_FLAKY", json.dumps({**connection(aq_tasks[1].url), "extra": {"retry_attempts": 1}}))
    exp = _experiment("aqueduct_default", f"reattach {next(_seq)}")
    with DAG(f"aq_reattach_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False,
             default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=0)}) as dag:  # fmt: skip
        AqueductExecuteExtensionOperator(task_id="sleep", extension="demo", action="sleep", experiment=exp.eid, parameters={"seconds": 3},
                                         aqueduct_conn_id="aq_flaky", poll_interval=0.1, max_consecutive_poll_errors=1)  # fmt: skip
    aq_tasks[0].faults.fail_next(2, 503, method="POST", path_contains="/api/graphql", body_contains="task(taskId: $")
    dag_run = run_dag(dag)
    assert dag_run.state == "success", task_outcomes(dag_run)
    assert dag_run.get_task_instances()[0].try_number == 2
    tasks = [t for t in aq_tasks[0].state.tasks.values() if t.experiment_uuid == exp.uuid]
    assert len(tasks) == 1, "the retry started a second task"
