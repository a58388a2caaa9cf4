"""Every run operator declares its platform's outlet asset, and a successful run writes an asset
event whose extra holds the remote run id, outcome and URL (real Airflow, dag.test, SQLite)."""

from __future__ import annotations

import datetime as dt
import inspect
import time
from typing import Any

import pytest
from airflow.sdk import DAG, Asset

from airflow_provider.aqueduct.operators import AqueductExecuteExtensionOperator
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator, PaddleFlowRetryRunOperator
from airflow_provider.testing import remote_events as remote
from airflow_provider.testing.airflow_env import run_dag, task_outcomes
from airflow_provider.testing.paddleflow import FLAKY_YAML

pytestmark = pytest.mark.usefixtures("airflow_db")


def _asset_events(dag_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(select(AssetEvent.source_task_id, AssetModel.uri, AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                               .where(AssetEvent.source_dag_id == dag_id)).all()  # fmt: skip
    return {task: (uri, extra) for task, uri, extra in rows}


def _failed_paddleflow_run() -> str:
    from airflow_provider.paddleflow.hook import PaddleFlowHook

    hook = PaddleFlowHook()
    run_id = hook.create_run(run_yaml_raw=FLAKY_YAML, run_name="flaky_for_retry")
    deadline = time.time() + 20
    while hook.show_run(run_id)["status"] != "failed" and time.time() < deadline:
        time.sleep(0.1)
    return str(run_id)


def test_every_run_operator_has_a_platform_asset_scheme() -> None:
    import airflow_provider.dataiku.operators  # noqa: F401 - registers the subclasses

    def subclasses(cls: type) -> list[type]:
        return [c for s in cls.__subclasses__() for c in (s, *subclasses(s))]

    missing = [
        c.__name__ for c in subclasses(RemoteJobOperator) if not inspect.isabstract(c) and c.__module__.startswith("airflow_provider.") and not c.asset_scheme
    ]
    assert missing == []


def test_templated_identity_gets_no_asset_and_asset_host_is_used() -> None:
    op = DataikuRunScenarioOperator(task_id="t", project_key="P", scenario_id="{{ params.s }}")
    assert op.outlets == []
    op = DataikuRunScenarioOperator(task_id="t", project_key="p", scenario_id="S", asset_host="DSS.Example.com", emit_asset=True)
    assert op.outlets == [Asset(name="dataiku://dss.example.com/P/scenarios/S", uri="dataiku://dss.example.com/P/scenarios/S")]
    assert DataikuRunScenarioOperator(task_id="t", project_key="P", scenario_id="S", emit_asset=False).outlets == []


def test_each_run_operators_asset_event_carries_run_id_outcome_and_url(emulators: dict) -> None:
    emulators["dataiku"][0].state.scenarios.add_scenario("ASSETS", "BUILD")
    task = remote.digitalhub_function(emulators["digitalhub"][0].state, "assets", "train")
    failed_pf = _failed_paddleflow_run()
    exp = _experiment()
    with DAG(f"run_operator_assets_{int(time.time())}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        DataikuRunScenarioOperator(task_id="dss", project_key="ASSETS", scenario_id="BUILD", deferrable=False, poll_interval=0.1)
        DigitalHubCreateRunOperator(task_id="dh", project="assets", kind="python+job:run", task=task, deferrable=False, poll_interval=0.1)
        PaddleFlowCreateRunOperator(
            task_id="pf", yaml_raw=remote.PF_YAML.format(name="assets_train"), run_name="assets_train", deferrable=True, poll_interval=0.1
        )
        PaddleFlowRetryRunOperator(task_id="pf_retry", run_id=failed_pf, deferrable=False, poll_interval=0.1)
        AqueductExecuteExtensionOperator(
            task_id="aq", extension="demo", action="echo", parameters={"message": "hi"}, experiment=exp, deferrable=False, poll_interval=0.1
        )
    dag_run = run_dag(dag)
    outcomes = task_outcomes(dag_run)
    assert dag_run.state == "success", outcomes
    events = _asset_events(dag.dag_id)
    expected_uris = {
        "dss": "dataiku://dataiku_default/ASSETS/scenarios/BUILD",
        "dh": f"digitalhub://digitalhub_default/assets/tasks/{task.rsplit('/', 1)[-1]}",
        "pf": "paddleflow://paddleflow_default/runs/assets_train",
        "pf_retry": "paddleflow://paddleflow_default/runs/pf_retry",
        "aq": "aqueduct://aqueduct_default/extensions/demo/echo",
    }
    assert {t: uri for t, (uri, _) in events.items()} == expected_uris
    for task_id, (_uri, extra) in events.items():
        result = outcomes[task_id]["result"]
        remote_id = result.get("run_id") or result.get("task_id")
        assert extra["run_id"] == remote_id and extra["outcome"] == result["state"] and extra["platform"] == expected_uris[task_id].split(":")[0], (
            task_id,
            extra,
        )
        assert extra["url"] and extra["url"] == result["url"], (task_id, extra)
    assert events["dss"][1]["outcome"] == "SUCCESS" and events["pf"][1]["outcome"] == "succeeded" and events["dh"][1]["outcome"] == "COMPLETED"


def _experiment() -> str:
    from airflow_provider.aqueduct.hook import AqueductHook

    return str(AqueductHook().create_experiment(f"assets {time.time()}", "for the asset test", []).eid)
