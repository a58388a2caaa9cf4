"""End to end with real Airflow processes: a deferred DSS wait survives a killed triggerer.

Starts api-server, scheduler, dag-processor and triggerer (LocalExecutor, SQLite) against the DSS
emulator, triggers a DAG whose task defers, SIGKILLs the triggerer while the task is deferred,
starts a new one, and checks the task succeeds on its first try with exactly one scenario run.
The deployment-level fault suite (PostgreSQL, two triggerers, four platforms) is ``tests/faults``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider.testing import serve_emulator
from airflow_provider.testing.cluster import Deployment, connection_env, deployment, wait_until

DAG_FILE = """
from __future__ import annotations
import datetime as dt
from airflow.sdk import DAG
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
with DAG("e2e_restart", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False):
    DataikuRunScenarioOperator(task_id="run", project_key="DEMO", scenario_id="REFRESH_KPIS", deferrable=True, poll_interval=0.5, timeout=600)
"""


@pytest.fixture
def cluster() -> Iterator[tuple[Deployment, Any]]:
    with serve_emulator("dataiku", None, run_duration=20) as (emulator, server):
        from airflow_provider.testing.dataiku import connection

        env = connection_env("dataiku_default", connection(server.url))
        with deployment({"e2e_restart.py": DAG_FILE}, env=env, config={"core": {"parallelism": "2"}}) as airflow:
            yield airflow, emulator


def _task(airflow: Deployment) -> tuple[str | None, int | None]:
    rows = airflow.task_instances("e2e_restart")
    return (rows[0]["state"], rows[0]["try_number"]) if rows else (None, None)


def test_deferred_wait_survives_a_killed_triggerer(cluster: tuple[Deployment, Any]) -> None:
    airflow, emulator = cluster
    airflow.wait_for_dags(["e2e_restart"], timeout=180)  # the dag-processor must have parsed the file first
    airflow.trigger("e2e_restart")
    wait_until(lambda: _task(airflow)[0] == "deferred", 90, f"the task deferred (logs in {airflow.home})")

    airflow.kill("triggerer")  # no clean shutdown: the trigger is orphaned in the DB
    time.sleep(2)
    airflow.start("triggerer")

    state, try_number = wait_until(lambda: _task(airflow) if _task(airflow)[0] in {"success", "failed", "up_for_retry"} else None, 240, "the task ended")
    scenario = emulator.state.scenarios.scenario("DEMO", "REFRESH_KPIS")
    assert (state, try_number) == ("success", 1)
    assert len(scenario.runs) == 1 and scenario.runs[0].outcome_at(time.time()) == "SUCCESS"
