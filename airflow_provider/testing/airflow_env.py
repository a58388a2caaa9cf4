"""Run DAGs in real Airflow with SQLite, in this process (used by the demo and the DAG tests)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def configure(home: str | Path, dags_folder: str | Path) -> None:
    """Point Airflow at a private home and SQLite DB. Must run before anything imports airflow."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(dags_folder).resolve())
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    # unit-test mode draws a random Fernet key per process: a second process (an OpenLineage test
    # run, a CLI call) could not read the trigger kwargs this one wrote. A throwaway key for this home.
    os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "YWlyZmxvdy1wcm92aWRlci10ZXN0LW9ubHkta2V5ISE=")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")


def set_connection(conn_id: str, conn: dict[str, Any]) -> None:
    import json

    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)


def reset_db() -> None:
    from airflow.utils.db import resetdb

    resetdb()


def load_dags(dags_folder: str | Path) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        problems = "\n".join(f"{path}: {err}" for path, err in bag.import_errors.items())
        raise RuntimeError(f"example DAGs failed to import:\n{problems}")
    return dict(bag.dags)


def task_outcomes(dag_run: Any) -> dict[str, dict[str, Any]]:
    """task_id (with map index) -> {"state", "result"} for every task instance of a finished run."""
    out: dict[str, dict[str, Any]] = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        result = None
        try:
            result = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index if ti.map_index >= 0 else None, key="return_value")
        except Exception:  # noqa: BLE001 - a failed task has no return value
            result = None
        out[key] = {"state": str(ti.state), "result": result}
    return out


def run_dag(dag: Any, **test_kwargs: Any) -> Any:
    """``dag.test(**test_kwargs)`` for a DAG built outside the DAGs folder: serialize it into the DB
    first (``logical_date=None`` gives a run without a logical date, as the CLI, REST API and UI do)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test(**test_kwargs)
