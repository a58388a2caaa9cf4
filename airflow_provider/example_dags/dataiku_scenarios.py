"""Run DSS scenarios from Airflow: one waits deferred (no worker slot), one in place, a sensor
checks the last run, and a report task reads the run summaries from XCom.

Connection ``dataiku_default``: Host = DSS URL, Password = API key. The main job
(``scripts/run-examples``) points it at the built-in DSS emulator.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider.dataiku.operators import DataikuAbortScenarioOperator, DataikuRunScenarioOperator
from airflow_provider.dataiku.sensors import DataikuScenarioRunSensor

with DAG(
    "dataiku_scenarios",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "dataiku"],
    default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=5)},
) as dag:
    build_orders = DataikuRunScenarioOperator(
        task_id="build_orders",
        project_key="DEMO",
        scenario_id="BUILD_ORDERS",
        # a run triggered without a logical date (CLI, REST API, UI) has no ds: fall back to run_after
        scenario_params={"run_date": "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"},
        deferrable=True,
        poll_interval=0.3,
        timeout=dt.timedelta(minutes=30),
    )
    refresh_kpis = DataikuRunScenarioOperator(
        task_id="refresh_kpis",
        project_key="DEMO",
        scenario_id="REFRESH_KPIS",
        deferrable=False,
        poll_interval=0.3,
    )
    check_quality = DataikuRunScenarioOperator(
        task_id="check_quality",
        project_key="DEMO",
        scenario_id="CHECK_QUALITY",
        warning_is_success=True,  # the checks may warn; only FAILED stops the pipeline
        deferrable=True,
        poll_interval=0.3,
    )
    last_build_ok = DataikuScenarioRunSensor(
        task_id="last_build_ok",
        project_key="DEMO",
        scenario_id="BUILD_ORDERS",
        which="last",
        expected_outcomes=["SUCCESS"],
        poke_interval=0.3,
        timeout=300,
    )
    no_leftover_kpi_run = DataikuAbortScenarioOperator(task_id="no_leftover_kpi_run", project_key="DEMO", scenario_id="REFRESH_KPIS")

    @task
    def report(build: dict[str, Any], kpis: dict[str, Any], quality: dict[str, Any]) -> str:
        lines = [f"{r['scenario_id']}: {r['outcome']} in {r['duration_s']}s ({r['waited']}) {r['url']}" for r in (build, kpis, quality)]
        return "\n".join(lines)

    build_orders >> last_build_ok
    [build_orders, refresh_kpis] >> check_quality >> no_leftover_kpi_run
    report(build_orders.output, refresh_kpis.output, check_quality.output)

if __name__ == "__main__":
    dag.test()
