"""PaddleFlow from Airflow: register a pipeline, run a version and wait deferred, take the
"retry on failure" path for a flaky run (PaddleFlow re-runs only the failed steps), and manage
a schedule as code.

Connection ``paddleflow_default``: Host (port 8999 by default), Login/Password. The main job
points it at the built-in emulator.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider.paddleflow.operators import (
    PaddleFlowCreatePipelineOperator,
    PaddleFlowCreateRunOperator,
    PaddleFlowCreateScheduleOperator,
    PaddleFlowDeleteScheduleOperator,
    PaddleFlowRetryRunOperator,
)

TRAIN_YAML = """
name: train_model
docker_env: python:3.9-slim
entry_points:
  prepare:
    command: echo "preparing data for {{who}}"
    parameters:
      who: airflow
  train:
    deps: prepare
    command: python train.py --epoch {{epoch}}
    parameters:
      epoch: 3
"""

FLAKY_YAML = """
name: flaky_ingest
docker_env: python:3.9-slim
entry_points:
  fetch:
    command: echo fetching
  unstable:
    deps: fetch
    command: exit 1
"""

PIPELINE = "{{ ti.xcom_pull(task_ids='register_pipeline') }}"

with DAG("paddleflow_runs", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, tags=["example", "paddleflow"]) as dag:
    register = PaddleFlowCreatePipelineOperator(task_id="register_pipeline", yaml_raw=TRAIN_YAML, desc="training pipeline", if_exists="new_version")
    train = PaddleFlowCreateRunOperator(
        task_id="train",
        pipeline_id="{{ ti.xcom_pull(task_ids='register_pipeline')['pipeline_id'] }}",
        pipeline_version_id="{{ ti.xcom_pull(task_ids='register_pipeline')['pipeline_version_id'] }}",
        parameters={"epoch": 5},
        deferrable=True,
        poll_interval=0.3,
        timeout=dt.timedelta(hours=2),
    )
    flaky = PaddleFlowCreateRunOperator(task_id="flaky_ingest", yaml_raw=FLAKY_YAML, deferrable=True, poll_interval=0.3, log_tail_lines=5)
    retry = PaddleFlowRetryRunOperator(
        task_id="retry_flaky_ingest",
        run_id="{{ ti.xcom_pull(task_ids='flaky_ingest', key='remote_ref')['run_id'] }}",
        trigger_rule="all_failed",  # the failure path: only when the first attempt failed
        deferrable=True,
        poll_interval=0.3,
    )
    schedule = PaddleFlowCreateScheduleOperator(
        task_id="nightly_schedule",
        name="nightly_train",
        pipeline_id="{{ ti.xcom_pull(task_ids='register_pipeline')['pipeline_id'] }}",
        pipeline_version_id="{{ ti.xcom_pull(task_ids='register_pipeline')['pipeline_version_id'] }}",
        crontab="@daily",
        concurrency=1,
        concurrency_policy="skip",
        expire_interval=3600,
    )
    cleanup = PaddleFlowDeleteScheduleOperator(task_id="remove_schedule", schedule_id="{{ ti.xcom_pull(task_ids='nightly_schedule')['schedule_id'] }}")

    register >> train >> schedule >> cleanup
    flaky >> retry

if __name__ == "__main__":
    dag.test()
