"""The submit protocol on DSS: an ambiguous scenario run request never fires the scenario twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.testing.airflow_env import run_dag, task_outcomes

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))

#: (fault kind, status, does the platform do the work) -> what the client sees
FAULTS = [("status", 502, True), ("status", 504, True), ("reset", 0, True), ("status", 503, False)]


def _arm(emulator: Any, kind: str, status: int, commit: bool, path: str) -> None:
    if kind == "reset":
        emulator.faults.reset_next(1, method="POST", path_contains=path)
    else:
        emulator.faults.fail_next(1, status, method="POST", path_contains=path, commit=commit)


@pytest.mark.parametrize(("kind", "status", "commit"), FAULTS, ids=["502-after-commit", "504-after-commit", "reset-after-commit", "503-not-processed"])
def test_ambiguous_submit_starts_exactly_one_run(dss: Any, new_scenario: Any, kind: str, status: int, commit: bool) -> None:
    sc = new_scenario(duration=0.3)
    with DAG(f"dss_submit_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        DataikuRunScenarioOperator(task_id="run", project_key="TEST", scenario_id=sc.id, poll_interval=0.1, absence_check_interval=0.2)
    _arm(dss[0], kind, status, commit, f"/{sc.id}/run")
    dag_run = run_dag(dag)
    assert dag_run.state == "success", task_outcomes(dag_run)
    assert len(sc.fires) == 1, f"{len(sc.fires)} scenario fires for one task"
    posts = dss[0].faults.calls("POST", f"/{sc.id}/run")
    assert len(posts) == (1 if commit else 2), [p.answered for p in posts]
    assert dag_run.get_task_instances()[0].try_number == 1
