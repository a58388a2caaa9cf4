"""A pipeline across three platforms, chained by assets, and a DAG started by something that
happened on a platform outside Airflow.

* ``cross_system_train``: a PaddleFlow training run. Its operator's outlet asset
  ``paddleflow://paddleflow_default/runs/cross_system_train`` gets an event (run id, outcome, URL).
* ``cross_system_score`` (``schedule=[TRAINED]``): a DSS scenario; outlet ``dataiku://.../CROSS/scenarios/SCORE_MODEL``.
* ``cross_system_publish`` (``schedule=[SCORED]``): a DigitalHub run.
* ``cross_system_on_nightly_export``: scheduled by an ``AssetWatcher`` that fires when the DSS
  scenario ``CROSS.NIGHTLY_EXPORT`` finishes, whoever ran it; each finished run is handled once
  (``unprocessed_events``) even if Airflow delivers its event twice.

The watched asset is declared here only: declaring it again in another DAG file without its watcher
would switch the watcher off. Run it all with ``scripts/run-examples`` (the event-driven part runs in
a short-lived scheduler + triggerer against the emulators).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider.common.assets import dataiku_scenario_asset, paddleflow_asset
from airflow_provider.dataiku.events import DataikuScenarioRunFinishedTrigger
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator

TRAIN_YAML = """name: cross_system_train
docker_env: python:3.11-slim
entry_points:
  train:
    command: python -c "print('training', {{epochs}})"
    parameters:
      epochs: 3
"""
DH_TASK = "python+job://demo/6fba40c1df474ad0990e09b8c41fa067"  # the DHCore demo project's task

# the operators' own outlets, spelled out so the downstream DAGs can schedule on them
TRAINED = paddleflow_asset("paddleflow_default", run_name="cross_system_train")
SCORED = dataiku_scenario_asset("dataiku_default", "CROSS", "SCORE_MODEL")
NIGHTLY_EXPORT_DONE = Asset(
    name="dss_cross_nightly_export_finished",
    uri="x-dataiku-events://dataiku_default/CROSS/NIGHTLY_EXPORT",
    watchers=[
        AssetWatcher(
            name="nightly_export_finished",
            trigger=DataikuScenarioRunFinishedTrigger(conn_id="dataiku_default", project_key="CROSS", scenario_id="NIGHTLY_EXPORT", poll_interval=2.0),
        )
    ],
)
# a retried task re-attaches to the remote run its first try started
COMMON = {"start_date": dt.datetime(2026, 1, 1), "catchup": False, "tags": ["example", "cross-system"],
          "default_args": {"retries": 1, "retry_delay": dt.timedelta(seconds=5)}}  # fmt: skip

with DAG("cross_system_train", schedule=None, **COMMON):
    PaddleFlowCreateRunOperator(
        task_id="train", yaml_raw=TRAIN_YAML, run_name="cross_system_train", parameters={"epochs": 5}, deferrable=True, poll_interval=0.3
    )

with DAG("cross_system_score", schedule=[TRAINED], **COMMON):
    DataikuRunScenarioOperator(task_id="score", project_key="CROSS", scenario_id="SCORE_MODEL", deferrable=True, poll_interval=0.3)

with DAG("cross_system_publish", schedule=[SCORED], **COMMON):
    DigitalHubCreateRunOperator(
        task_id="publish", project="demo", kind="python+job:run", task=DH_TASK, parameters={"stage": "publish"}, deferrable=True, poll_interval=0.3
    )

with DAG("cross_system_on_nightly_export", schedule=[NIGHTLY_EXPORT_DONE], max_active_runs=1, **COMMON):

    @task(inlets=[NIGHTLY_EXPORT_DONE])
    def handle_export(inlet_events: Any = None, asset_state_store: Any = None) -> list[str]:
        from airflow_provider.common.event_consumer import unprocessed_events

        handled = []
        for payload in unprocessed_events(NIGHTLY_EXPORT_DONE, inlet_events, asset_state_store):
            print(f"DSS run {payload['run_id']} of {payload['scope']} finished {payload['outcome']} at {payload['finished_at']}: {payload['url']}")
            handled.append(payload["dedup_key"])
        return handled

    handle_export()
