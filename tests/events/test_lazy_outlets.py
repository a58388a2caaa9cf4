"""The platform asset is declared at construction and built on the first read of ``outlets``
(parse-time cost, docs/performance.md): everything that reads outlets still sees it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle

from airflow.sdk import DAG, Asset

from airflow_provider.dataiku.operators import DataikuRunScenarioOperator

URI = "dataiku://dss/P/scenarios/S"


def _op(**kwargs: object) -> DataikuRunScenarioOperator:
    return DataikuRunScenarioOperator(task_id="t", project_key="P", scenario_id="S", asset_host="dss", **kwargs)  # type: ignore[arg-type]


def test_the_asset_is_built_on_the_first_read_only() -> None:
    op = _op()
    assert "_pending_asset" in vars(op)
    assert op.outlets == [Asset(name=URI, uri=URI)]
    assert "_pending_asset" not in vars(op)
    assert op.outlets is op.outlets  # one list: add_outlets and >> extend it


def test_user_outlets_come_first_and_assigning_replaces_them() -> None:
    mine = Asset("mine")
    op = _op(outlets=[mine])
    assert [a.uri for a in op.outlets] == ["mine", URI]
    fresh = _op()
    fresh.outlets = [mine]  # as before: assigning outlets replaces the declared asset too
    assert fresh.outlets == [mine]
    op.add_outlets([Asset("more")])
    assert [a.uri for a in op.outlets] == ["mine", URI, "more"]


def test_copies_and_pickles_keep_the_declared_asset() -> None:
    op = _op()
    assert copy.deepcopy(op).outlets == [Asset(name=URI, uri=URI)]
    assert pickle.loads(pickle.dumps(op)).outlets == [Asset(name=URI, uri=URI)]
    assert op.outlets == [Asset(name=URI, uri=URI)]


def test_the_serialized_dag_carries_the_asset() -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("lazy_outlets", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        _op()
    data = DagSerialization.to_dict(dag)
    task = data["dag"]["tasks"][0]["__var"]
    assert [o["__var"]["uri"] for o in task["outlets"]] == [URI]
    assert [json.loads(d["dependency_id"])["uri"] for d in data["dag"]["dag_dependencies"]] == [URI]
