"""DigitalHub (DHCore) runs from Airflow: create a run and wait deferred, watch it with a sensor,
label it, re-run it from an exported YAML descriptor in place, then clean up.

Connection ``digitalhub_default``: Host = DHCore endpoint, Login/Password (basic) or an access
token. The main job (``scripts/run-examples``) points it at the built-in DHCore emulator, whose
``demo`` project has a ``python+job`` task for the function ``hello``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator, DigitalHubDeleteRunOperator, DigitalHubUpdateRunOperator
from airflow_provider.digitalhub.sensors import DigitalHubRunSensor

PROJECT = "demo"
TASK = "python+job://demo/6fba40c1df474ad0990e09b8c41fa067"  # <task kind>://<project>/<task id>
RUN_KEY = "{{ ti.xcom_pull(task_ids='run_job')['key'] }}"

with DAG(
    "digitalhub_runs",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "digitalhub"],
    default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=5)},
) as dag:
    run_job = DigitalHubCreateRunOperator(
        task_id="run_job",
        project=PROJECT,
        kind="python+job:run",
        task=TASK,
        # a run triggered without a logical date (CLI, REST API, UI) has no ds: fall back to run_after
        parameters={"x": 1, "date": "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"},
        labels=["nightly"],
        deferrable=True,
        poll_interval=0.3,
        timeout=dt.timedelta(hours=1),
    )
    completed = DigitalHubRunSensor(task_id="completed", identifier=RUN_KEY, poke_interval=0.3, timeout=600)
    reviewed = DigitalHubUpdateRunOperator(task_id="label_reviewed", identifier=RUN_KEY, metadata={"labels": ["nightly", "reviewed"]})

    @task
    def export_descriptor(run: dict[str, Any]) -> str:
        """What ``run.export()`` writes; a team would keep such descriptors in git."""
        import yaml

        descriptor = {"kind": run["kind"], "project": run["project"], "metadata": {"project": run["project"], "labels": ["from-yaml"]},
                      "spec": {"task": TASK, "parameters": {"x": 2}}}  # fmt: skip
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump(descriptor, f)
        return f.name

    rerun = DigitalHubCreateRunOperator(task_id="rerun_from_yaml", yaml_file=export_descriptor(run_job.output), deferrable=False, poll_interval=0.3)
    cleanup = DigitalHubDeleteRunOperator(task_id="delete_rerun", identifier="{{ ti.xcom_pull(task_ids='rerun_from_yaml')['key'] }}")

    run_job >> completed >> reviewed
    rerun >> cleanup

if __name__ == "__main__":
    dag.test()
