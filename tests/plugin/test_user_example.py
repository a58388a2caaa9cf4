"""What a user writes to test their own DAGs: only the plugin's fixtures, markers and knobs.

(Airflow itself is configured by the project's conftest, as in any DAG test that calls
``dag.test()``: a private AIRFLOW_HOME with a migrated SQLite database.) This file is included in
docs/testing.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.aqueduct.operators import AqueductCreateExperimentOperator
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator
from airflow_provider.testing import airflow_env

pytestmark = pytest.mark.usefixtures("airflow_db")


# --8<-- [start:dataiku]
@pytest.mark.emulator("dataiku", run_duration=0.3)
def test_nightly_build_survives_a_flaky_dss(dataiku_emulator: Any) -> None:
    scenario = dataiku_emulator.state.scenarios.add_scenario("SALES", "NIGHTLY_BUILD")
    dataiku_emulator.faults.fail_next(2, 503, method="GET")  # DSS answers 503 twice while we wait

    with DAG("user_dss_nightly", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        DataikuRunScenarioOperator(task_id="build", project_key="SALES", scenario_id="NIGHTLY_BUILD", deferrable=True, poll_interval=0.2)

    dag_run = airflow_env.run_dag(dag)

    assert dag_run.state == "success"
    assert [run.outcome for run in scenario.runs] == ["SUCCESS"]  # one run: the 503s were not resubmits


# --8<-- [end:dataiku]


@pytest.mark.emulator("digitalhub", demo=True)
def test_digitalhub_run(digitalhub_emulator: Any) -> None:
    task = "python+job://demo/6fba40c1df474ad0990e09b8c41fa067"
    with DAG("user_dh_run", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        DigitalHubCreateRunOperator(task_id="run", project="demo", kind="python+job:run", task=task, parameters={"run": "{{ run_id }}"}, poll_interval=0.2)

    dag_run = airflow_env.run_dag(dag, logical_date=None)  # as `airflow dags trigger` does

    assert dag_run.state == "success"
    runs = list(digitalhub_emulator.state.runs.values())
    assert len(runs) == 1 and runs[0].body["spec"]["parameters"]["run"] == dag_run.run_id


def test_aqueduct_experiment(aqueduct_emulator: Any) -> None:
    with DAG("user_aq_experiment", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        AqueductCreateExperimentOperator(task_id="experiment", title="calibration {{ run_id }}", description="from my DAG", tags=["mine"])

    dag_run = airflow_env.run_dag(dag)

    assert dag_run.state == "success"
    titles = [e["title"] for e in aqueduct_emulator.state.experiments.values()]
    assert titles == [f"calibration {dag_run.run_id}"]


@pytest.mark.emulator("paddleflow", run_duration=0.3)
def test_paddleflow_run(paddleflow_emulator: Any) -> None:
    yaml_raw = "name: mine\ndocker_env: python:3.9-slim\nentry_points:\n  step:\n    command: echo hi\n"
    with DAG("user_pf_run", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        PaddleFlowCreateRunOperator(task_id="run", yaml_raw=yaml_raw, deferrable=True, poll_interval=0.2)

    dag_run = airflow_env.run_dag(dag)

    assert dag_run.state == "success"
    assert [r.name for r in paddleflow_emulator.state.runs.values()] == ["mine"]


def test_fixture_sets_the_connection_and_restores_it(request: pytest.FixtureRequest) -> None:
    import os

    before = os.environ.get("AIRFLOW_CONN_AQUEDUCT_DEFAULT")
    served = request.getfixturevalue("aqueduct_emulator")
    assert served.url.startswith("http://127.0.0.1:") and not served.url.endswith(":0")
    assert served.connection["host"] == served.url
    assert os.environ["AIRFLOW_CONN_AQUEDUCT_DEFAULT"] != before
