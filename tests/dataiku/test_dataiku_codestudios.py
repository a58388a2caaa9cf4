"""DSS code studios and templates: every hook method sync and async, the official client, and DAGs."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import dataikuapi
import pytest
from airflow.sdk import DAG

from airflow_provider.common.errors import AuthError, NotFoundError, ProviderError
from airflow_provider.dataiku.operators import (
    DataikuBuildCodeStudioTemplateOperator,
    DataikuCheckCodeStudioConflictsOperator,
    DataikuStartCodeStudioOperator,
    DataikuStopCodeStudioOperator,
    DataikuSyncCodeStudioZoneOperator,
)
from airflow_provider.dataiku.sensors import DataikuCodeStudioStateSensor
from airflow_provider.testing.airflow_env import run_dag, task_outcomes
from airflow_provider.testing.dataiku import DEMO_API_KEY, USER_API_KEY

_ids = itertools.count(1)


@pytest.fixture
def studio(dss_state: Any) -> Any:
    """A fresh stopped code studio in project TEST with files in the recipes zone."""
    dss_state.scenarios.add_project("TEST")
    cs = dss_state.code_studios
    s = cs.add_studio("TEST", f"studio{next(_ids)}", "admin", "vscode_py311")
    s.zones["recipes"].dss.update({"a.py": "a = 1\n", "b.py": "b = 1\n"})
    return s


async def _start(dss_api: Any, studio: Any) -> None:
    answer = await dss_api("restart_code_studio", "TEST", studio.id)
    await dss_api("wait_for_future", answer, poll_interval=0.05)


async def test_list_create_settings_delete(dss_api: Any, studio: Any) -> None:
    items = await dss_api("list_code_studios", "TEST")
    item = next(i for i in items if i.id == studio.id)
    assert item.owner == "admin" and item.template_id == "vscode_py311" and item.template_label
    new_id = await dss_api("create_code_studio", "TEST", "made by test", "vscode_py311")
    settings = await dss_api("get_code_studio_settings", "TEST", new_id)
    assert settings.name == "made by test" and settings.lib_name == new_id and settings.template_id == "vscode_py311"
    await dss_api("delete_code_studio", "TEST", new_id)
    with pytest.raises(NotFoundError, match="Code studio not found"):
        await dss_api("get_code_studio_settings", "TEST", new_id)


async def test_lifecycle_status_push_pull_conflicts(dss_api: Any, studio: Any, dss_state: Any) -> None:
    status = await dss_api("get_code_studio_status", "TEST", studio.id)
    assert status.state == "STOPPED" and status.get_zones() == []
    await _start(dss_api, studio)
    status = await dss_api("get_code_studio_status", "TEST", studio.id)
    assert status.state == "RUNNING" and "recipes" in status.get_zones() and status.last_state_change is not None
    assert {"id": "recipes"} in status.get_zones(as_type="objects")
    cs = dss_state.code_studios
    cs.edit_pod("TEST", studio.id, "recipes", "a.py", "a = 2\n")
    cs.edit_dss("TEST", studio.id, "recipes", "a.py", "a = 3\n", author="carol")
    cs.edit_pod("TEST", studio.id, "recipes", "new.py", "x\n")
    conflicts = await dss_api("check_code_studio_conflicts", "TEST", studio.id, "recipes")
    assert not conflicts.is_error and conflicts.modified == ["a.py"] and conflicts.added == [] and conflicts.authors == ["carol"]
    assert (await dss_api("check_code_studio_conflicts", "TEST", studio.id, "nope")).error == "Unknown zone: nope"
    pulled = await dss_api("pull_from_code_studio", "TEST", studio.id, "recipes")
    assert pulled["recipes"]["added"] == ["new.py"] and studio.zones["recipes"].dss["a.py"] == "a = 2\n"
    pushed = await dss_api("push_to_code_studio", "TEST", studio.id, "recipes")
    assert pushed["count"] == 3
    stop = await dss_api("stop_code_studio", "TEST", studio.id)
    await dss_api("wait_for_future", stop, poll_interval=0.05)
    assert (await dss_api("get_code_studio_status", "TEST", studio.id)).state == "STOPPED"
    assert await dss_api("stop_code_studio", "TEST", studio.id) == {"hasResult": True}  # already stopped: nothing to do
    with pytest.raises(ProviderError, match="is not running"):
        await dss_api("check_code_studio_conflicts", "TEST", studio.id, "recipes")


async def test_change_owner_rules(dss_api: Any, studio: Any, dss: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.testing.dataiku import connection

    answer = await dss_api("change_code_studio_owner", "TEST", studio.id, "bob smith")
    assert answer["owner"] == "bob smith" and studio.owner == "bob smith"  # encoded as a real query parameter
    await dss_api("change_code_studio_owner", "TEST", studio.id, "admin")
    monkeypatch.setenv("AIRFLOW_CONN_DSS_BOB", json.dumps(connection(dss[1].url, api_key=USER_API_KEY)))
    with pytest.raises(AuthError, match="Only the owner"):
        DataikuHook("dss_bob").change_code_studio_owner("TEST", studio.id, "bob")


async def test_templates_settings_and_builds(dss_api: Any, dss_state: Any) -> None:
    from airflow_provider.testing.dataiku.codestudios import Template

    tid = f"tpl{next(_ids)}"
    dss_state.code_studios.templates[tid] = Template(tid, "Test template")
    items = await dss_api("list_code_studio_templates")
    item = next(t for t in items if t.id == tid)
    assert item.build_for_configs == ["k8s-default"] and item.last_built is None
    settings = await dss_api("get_code_studio_template_settings", tid)
    assert settings.get_built_container_confs() == ["k8s-default"] and not settings.get_built_for_all_container_confs()
    settings.set_built_container_confs("k8s-default", "k8s-gpu")
    await dss_api("save_code_studio_template_settings", settings)
    assert (await dss_api("get_code_studio_template_settings", tid)).get_built_container_confs() == ["k8s-default", "k8s-gpu"]
    result = await dss_api("wait_for_future", await dss_api("build_code_studio_template", tid, True), poll_interval=0.05)
    assert result["noCache"] is True
    assert (next(t for t in await dss_api("list_code_studio_templates") if t.id == tid)).last_built is not None
    with pytest.raises(NotFoundError, match="template not found"):
        await dss_api("get_code_studio_template_settings", "nope")


def test_official_client_drives_code_studios(dss: Any, studio: Any, dss_state: Any) -> None:
    client = dataikuapi.DSSClient(dss[1].url, api_key=DEMO_API_KEY)
    project = client.get_project("TEST")
    assert studio.id in [cs.id for cs in project.list_code_studios()]
    created = project.create_code_studio("from client", "vscode_py311")
    assert created.get_settings().name == "from client"
    handle = project.get_code_studio(studio.id)
    handle.restart().wait_for_result()
    status = handle.get_status()
    assert status.state == "RUNNING" and "recipes" in status.get_zones()
    dss_state.code_studios.edit_pod("TEST", studio.id, "recipes", "b.py", "b = 2\n")
    dss_state.code_studios.edit_dss("TEST", studio.id, "recipes", "b.py", "b = 3\n")
    conflicts = handle.check_conflicts("recipes")
    assert conflicts.modified == ["b.py"] and not conflicts.is_error
    assert handle.push_to_code_studio("project-lib-versioned") == {"count": 0, "size": 0}
    handle.pull_from_code_studio("recipes")
    handle.stop().wait_for_result()
    assert handle.get_status().state == "STOPPED"
    template = client.get_code_studio_template("vscode_py311")
    template.build().wait_for_result()
    assert any(t.id == "vscode_py311" for t in client.list_code_studio_templates())


def _dag(name: str) -> DAG:
    return DAG(f"dss_cs_{name}_{next(_ids)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False)


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "in_place"])
def test_studio_dag_and_conflict_refusal(deferrable: bool, studio: Any, dss_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    with _dag("flow") as dag:
        start = DataikuStartCodeStudioOperator(task_id="start", project_key="TEST", code_studio_id=studio.id, deferrable=deferrable, poll_interval=0.1)
        running = DataikuCodeStudioStateSensor(
            task_id="running", project_key="TEST", code_studio_id=studio.id, deferrable=deferrable, poke_interval=0.1, timeout=30
        )
        start >> running
    assert {k: v["state"] for k, v in task_outcomes(run_dag(dag)).items()} == {"start": "success", "running": "success"}
    cs = dss_state.code_studios
    cs.edit_pod("TEST", studio.id, "recipes", "a.py", "pod\n")
    cs.edit_dss("TEST", studio.id, "recipes", "a.py", "dss\n", author="dave")
    with _dag("conflict") as dag:
        check = DataikuCheckCodeStudioConflictsOperator(task_id="check", project_key="TEST", code_studio_id=studio.id, on_conflict="skip")
        after_check = DataikuSyncCodeStudioZoneOperator(task_id="after_check", project_key="TEST", code_studio_id=studio.id, direction="push")
        check >> after_check
        DataikuSyncCodeStudioZoneOperator(task_id="pull_fail", project_key="TEST", code_studio_id=studio.id, direction="pull", zone="recipes")
        DataikuSyncCodeStudioZoneOperator(task_id="pull_skip", project_key="TEST", code_studio_id=studio.id, direction="pull", on_conflict="skip")
        DataikuStopCodeStudioOperator(task_id="stop_refused", project_key="TEST", code_studio_id=studio.id)
        DataikuSyncCodeStudioZoneOperator(task_id="unknown_zone", project_key="TEST", code_studio_id=studio.id, direction="push", zone="nope")
    outcomes = task_outcomes(run_dag(dag))
    out = capfd.readouterr().out
    states = {k: v["state"] for k, v in outcomes.items()}
    assert states == {
        "check": "skipped",
        "after_check": "skipped",
        "pull_fail": "failed",
        "pull_skip": "success",
        "stop_refused": "failed",
        "unknown_zone": "failed",
    }
    assert "recipes: a.py (changed in DSS by dave)" in out and "refusing to pull" in out and "refusing to stop" in out
    assert "Unknown zone: nope" in out
    assert "recipes" in outcomes["pull_skip"]["result"]["skipped"]
    assert studio.zones["recipes"].dss["a.py"] == "dss\n", "a refused pull must not copy anything"
    with _dag("stop") as dag:
        DataikuStopCodeStudioOperator(
            task_id="stop", project_key="TEST", code_studio_id=studio.id, ignore_conflicts=True, deferrable=deferrable, poll_interval=0.1
        )
        DataikuStopCodeStudioOperator(task_id="stop_again", project_key="TEST", code_studio_id="nope-studio")
    states = {k: v["state"] for k, v in task_outcomes(run_dag(dag)).items()}
    assert states == {"stop": "success", "stop_again": "failed"}
    assert studio.state == "STOPPED"
    assert "Code studio not found: TEST.nope-studio" in capfd.readouterr().out
    with _dag("noop") as dag:
        DataikuStopCodeStudioOperator(task_id="stop_stopped", project_key="TEST", code_studio_id=studio.id)
    assert {k: v["result"]["job_id"] for k, v in task_outcomes(run_dag(dag)).items()} == {"stop_stopped": None}


@pytest.mark.usefixtures("airflow_db")
def test_failing_template_build_fails_with_the_build_error(dss_state: Any, capfd: pytest.CaptureFixture[str]) -> None:
    template = dss_state.code_studios.templates["vscode_py311"]
    template.build_error = "pip install failed: no matching distribution for torch==9.9"
    try:
        with _dag("build") as dag:
            DataikuBuildCodeStudioTemplateOperator(task_id="build", template_id="vscode_py311", deferrable=True, poll_interval=0.1)
            DataikuBuildCodeStudioTemplateOperator(task_id="unknown", template_id="nope", poll_interval=0.1)
        states = {k: v["state"] for k, v in task_outcomes(run_dag(dag)).items()}
    finally:
        template.build_error = None
    out = capfd.readouterr().out
    assert states == {"build": "failed", "unknown": "failed"}
    assert "no matching distribution for torch==9.9" in out and "Code studio template not found: nope" in out


@pytest.mark.usefixtures("airflow_db")
def test_example_dag_succeeds(example_dags: dict, dss: Any) -> None:
    dag_run = example_dags["dataiku_code_studio"].test()
    outcomes = task_outcomes(dag_run)
    assert dag_run.state == "success", outcomes
    assert outcomes["build_template"]["result"]["waited"] == "deferred" and outcomes["start_studio"]["result"]["code_studio_state"] == "RUNNING"
    assert outcomes["pull_recipes"]["result"]["direction"] == "pull" and outcomes["stop_studio"]["result"]["waited"] == "deferred"
    assert dss[0].state.code_studios.studios[("DEMO", "k3Xw9ZqR")].state == "STOPPED"
