"""Aqueduct from Airflow: find-or-create an experiment, upload inputs, tag it, run an extension
action and wait for its task without holding a worker slot, then download the results.

Connection ``aqueduct_default``: Host = the Aqueduct server URL. The main job points it at the
built-in emulator (task-based generation, with a ``demo`` extension).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from airflow.sdk import DAG, task

from airflow_provider.aqueduct.operators import (
    AqueductCreateExperimentOperator,
    AqueductDownloadFilesOperator,
    AqueductExecuteExtensionOperator,
    AqueductTagExperimentOperator,
    AqueductUploadFilesOperator,
)

EID = "{{ ti.xcom_pull(task_ids='experiment')['eid'] }}"

with DAG(
    "aqueduct_experiments",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "aqueduct"],
    default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=5)},
) as dag:
    experiment = AqueductCreateExperimentOperator(
        # a run triggered without a logical date (CLI, REST API, UI) has no ds: fall back to run_after
        task_id="experiment",
        title="Nightly calibration {{ (dag_run.logical_date or dag_run.run_after) | ds }}",
        description="created by Airflow",
        tags=["airflow"],
    )

    @task
    def write_inputs() -> list[str]:
        folder = Path(tempfile.mkdtemp(prefix="aqueduct-inputs-"))
        (folder / "settings.csv").write_text("qubit,frequency\nq0,5.1\nq1,5.3\n")
        return [str(folder / "settings.csv")]

    upload = AqueductUploadFilesOperator(task_id="upload_inputs", experiment=EID, files=write_inputs())
    tag = AqueductTagExperimentOperator(task_id="tag", experiment=EID, add=["calibration", "nightly"])
    analyse = AqueductExecuteExtensionOperator(
        task_id="analyse",
        extension="demo",
        action="echo",
        experiment=EID,
        parameters={"message": "calibrate", "count": 2, "flag": True, "mode": "fast"},
        deferrable=True,
        poll_interval=0.3,
        timeout=dt.timedelta(minutes=30),
    )
    download = AqueductDownloadFilesOperator(task_id="download_results", experiment=EID, dest_dir=tempfile.gettempdir() + "/aqueduct-results")

    experiment >> upload >> tag >> analyse >> download

if __name__ == "__main__":
    dag.test()
