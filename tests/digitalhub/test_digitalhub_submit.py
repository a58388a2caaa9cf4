"""The submit protocol on DigitalHub: an ambiguous run creation never creates two runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
from airflow_provider.testing.airflow_env import run_dag, task_outcomes

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))
FAULTS = [("status", 502, True), ("status", 504, True), ("reset", 0, True), ("status", 503, False)]


@pytest.mark.parametrize(("kind", "status", "commit"), FAULTS, ids=["502-after-commit", "504-after-commit", "reset-after-commit", "503-not-processed"])
def test_ambiguous_submit_starts_exactly_one_run(dhcore: Any, dh_state: Any, kind: str, status: int, commit: bool) -> None:
    project = f"submit{next(_seq)}"
    dh_state.add_project(project)
    task = dh_state.add_task(project, dh_state.add_function(project, "f"))
    with DAG(f"dh_{project}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        DigitalHubCreateRunOperator(task_id="run", project=project, kind="python+job:run", task=f"python+job://{project}/{task['id']}",
                                    poll_interval=0.1, absence_check_interval=0.2)  # fmt: skip
    pattern = rf"/-/{project}/runs/?$"
    if kind == "reset":
        dhcore[0].faults.reset_next(1, method="POST", path_pattern=pattern)
    else:
        dhcore[0].faults.fail_next(1, status, method="POST", path_pattern=pattern, commit=commit)
    dag_run = run_dag(dag)
    assert dag_run.state == "success", task_outcomes(dag_run)
    assert len([k for k in dh_state.runs if k[0] == project]) == 1
    assert len(dhcore[0].faults.calls("POST", f"/-/{project}/runs")) == (1 if commit else 2)
