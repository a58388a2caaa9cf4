"""Run in a fresh interpreter by test_openlineage.py: OpenLineage reads its transport when first used."""

from __future__ import annotations

import datetime as dt
import sys

from airflow.sdk import DAG

from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator
from airflow_provider.testing.airflow_env import run_dag

FAILING_YAML = """name: ol_fail
docker_env: python:3.11-slim
entry_points:
  train:
    command: exit 1
"""

with DAG(sys.argv[1], schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
    DataikuRunScenarioOperator(task_id="dss_ok", project_key="OL", scenario_id="GOOD", deferrable=False, poll_interval=0.1)
    DataikuRunScenarioOperator(task_id="dss_fail", project_key="OL", scenario_id="BAD", deferrable=False, poll_interval=0.1)
    PaddleFlowCreateRunOperator(task_id="pf_ok", yaml_raw=FAILING_YAML.replace("exit 1", "echo ok"), run_name="ol_ok", deferrable=True, poll_interval=0.1)

print("STATE", run_dag(dag).state)
