"""Ship code edited in a DSS code studio: build the template image, start the studio, check for
conflicting changes, pull the studio's edits back into DSS, and stop it.

Connection ``dataiku_default`` (an admin API key, for the template build). The main job points it
at the built-in DSS emulator, whose ``DEMO`` project has the code studio ``k3Xw9ZqR``.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider.dataiku.operators import (
    DataikuBuildCodeStudioTemplateOperator,
    DataikuCheckCodeStudioConflictsOperator,
    DataikuStartCodeStudioOperator,
    DataikuStopCodeStudioOperator,
    DataikuSyncCodeStudioZoneOperator,
)
from airflow_provider.dataiku.sensors import DataikuCodeStudioStateSensor

PROJECT, STUDIO = "DEMO", "k3Xw9ZqR"

with DAG("dataiku_code_studio", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, tags=["example", "dataiku"]) as dag:
    build = DataikuBuildCodeStudioTemplateOperator(task_id="build_template", template_id="vscode_py311", deferrable=True, poll_interval=0.3)
    start = DataikuStartCodeStudioOperator(task_id="start_studio", project_key=PROJECT, code_studio_id=STUDIO, deferrable=True, poll_interval=0.3)
    running = DataikuCodeStudioStateSensor(task_id="studio_running", project_key=PROJECT, code_studio_id=STUDIO, poke_interval=0.3, timeout=600)
    check = DataikuCheckCodeStudioConflictsOperator(task_id="check_conflicts", project_key=PROJECT, code_studio_id=STUDIO, on_conflict="continue")
    pull = DataikuSyncCodeStudioZoneOperator(
        task_id="pull_recipes", project_key=PROJECT, code_studio_id=STUDIO, direction="pull", zone="recipes", on_conflict="fail"
    )
    stop = DataikuStopCodeStudioOperator(task_id="stop_studio", project_key=PROJECT, code_studio_id=STUDIO, deferrable=True, poll_interval=0.3)

    build >> start >> running >> check >> pull >> stop

if __name__ == "__main__":
    dag.test()
