"""Every example DAG succeeds with and without a logical date (Airflow 3 allows ``logical_date=None``:
``airflow dags trigger``, the REST API and the UI create such runs), each against fresh emulators
from the pytest plugin."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider.example_dags import DAGS_FOLDER
from airflow_provider.testing import airflow_env

DAG_FILES = sorted(p.stem for p in DAGS_FOLDER.glob("*.py") if p.name != "__init__.py")
ALL_EMULATORS = ("dataiku_emulator", "digitalhub_emulator", "aqueduct_emulator", "paddleflow_emulator")


@pytest.mark.emulator(demo=True)
@pytest.mark.usefixtures(*ALL_EMULATORS)
@pytest.mark.parametrize("logical_date", ["none", "set"])
@pytest.mark.parametrize("dag_file", DAG_FILES)
def test_example_dag_succeeds(dag_file: str, logical_date: str, example_dags: dict[str, Any]) -> None:
    dags = [dag for dag in example_dags.values() if dag.fileloc.endswith(f"/{dag_file}.py")]
    assert dags, f"no DAG in {dag_file}.py"
    for dag in dags:
        when = None if logical_date == "none" else dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        dag_run = dag.test(logical_date=when)
        outcomes = airflow_env.task_outcomes(dag_run)
        assert (dag_run.logical_date is None) == (when is None)
        assert str(dag_run.state) == "success", f"{dag.dag_id} ({logical_date} logical date): {outcomes}"
