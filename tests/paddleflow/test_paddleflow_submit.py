"""The submit protocol on PaddleFlow: an ambiguous run creation never creates two runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator, PaddleFlowRetryRunOperator
from airflow_provider.testing.airflow_env import run_dag, task_outcomes
from airflow_provider.testing.paddleflow import DEMO_YAML

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = iter(range(1, 10_000))
FAULTS = [("status", 502, True), ("status", 504, True), ("reset", 0, True), ("status", 503, False)]
RUN_POST = r"/api/paddleflow/v1/run/?$"


@pytest.mark.parametrize(("kind", "status", "commit"), FAULTS, ids=["502-after-commit", "504-after-commit", "reset-after-commit", "503-not-processed"])
def test_ambiguous_submit_starts_exactly_one_run(pf: Any, pf_state: Any, kind: str, status: int, commit: bool) -> None:
    name = f"submit_{next(_seq)}_{kind}_{status}"
    with DAG(f"pf_{name}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        PaddleFlowCreateRunOperator(task_id="run", yaml_raw=DEMO_YAML, run_name=name, poll_interval=0.1, absence_check_interval=0.2)
    before = len(pf[0].faults.calls("POST"))
    if kind == "reset":
        pf[0].faults.reset_next(1, method="POST", path_pattern=RUN_POST)
    else:
        pf[0].faults.fail_next(1, status, method="POST", path_pattern=RUN_POST, commit=commit)
    dag_run = run_dag(dag)
    assert dag_run.state == "success", task_outcomes(dag_run)
    assert [r.name for r in pf_state.runs.values()].count(name) == 1
    posts = [c for c in pf[0].faults.calls("POST")[before:] if c.path.rstrip("/").endswith("/run")]
    assert len(posts) == (1 if commit else 2)


def test_untaggable_retry_run_is_not_resubmitted(pf: Any, pf_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """A PaddleFlow retry creates a run that cannot carry the task's tag: no lookup, no second submit."""
    from airflow_provider.paddleflow.hook import PaddleFlowHook
    from airflow_provider.testing.paddleflow import FLAKY_YAML

    hook = PaddleFlowHook("paddleflow_default")
    failed = hook.create_run(run_yaml_raw=FLAKY_YAML, run_name=f"to_retry_{next(_seq)}")
    hook.drive(_wait_terminal(hook, failed))
    with DAG(f"pf_retry_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        PaddleFlowRetryRunOperator(task_id="retry", run_id=failed, poll_interval=0.1)
    runs_before = len(pf_state.runs)
    pf[0].faults.fail_next(1, 502, method="PUT", path_contains=f"/run/{failed}", commit=True)
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert dag_run.state == "failed"
    assert len(pf_state.runs) == runs_before + 1, "exactly the one retry run the ambiguous request made"
    assert "the run may exist" in out and f"retried from {failed}" in out


def _wait_terminal(hook: Any, run_id: str) -> Any:
    from airflow_provider.common.flow import Sleep
    from airflow_provider.paddleflow.api import runs
    from airflow_provider.paddleflow.states import FINAL_STATES

    for _ in range(200):
        run = yield from runs.show_run(run_id)
        if run.get("status") in FINAL_STATES:
            return run
        yield Sleep(0.1)
    raise AssertionError(f"run {run_id} did not end")
