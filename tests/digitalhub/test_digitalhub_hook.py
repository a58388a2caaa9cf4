"""Every DigitalHub hook method, sync and async, over HTTP against the DHCore emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider.common.errors import BadRequestError, ConfigError, NotFoundError
from airflow_provider.digitalhub.states import RunState
from airflow_provider.testing.digitalhub import DEMO_TASK


async def _until(dh_api: Any, run: Any, states: set[str], timeout: float = 10) -> Any:
    for _ in range(int(timeout / 0.1)):
        run = await dh_api("get_run", run.id, run.project)
        if run.state.value in states:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run stayed {run.state}")


async def test_projects(dh_api: Any) -> None:
    name = f"proj-{dh_api.kind}"
    with pytest.raises(NotFoundError, match="No such project"):
        await dh_api("get_project", name)
    created = await dh_api("get_or_create_project", name)
    assert created.id == name and created.key == f"store://{name}"
    assert (await dh_api("get_project", name)).name == name
    assert (await dh_api("get_or_create_project", name)).id == name  # exists now: no second create
    with pytest.raises(BadRequestError, match="Duplicated entity project"):
        await dh_api("create_project", name)


async def test_new_run_get_by_key_and_id_and_complete(dh_api: Any) -> None:
    run = await dh_api("new_run", "demo", "python+job:run", labels=["l1"], task=DEMO_TASK, parameters={"x": 1}, envs=[{"name": "A", "value": "1"}])
    assert run.state is RunState.READY and run.labels == ["l1"] and run.spec["parameters"] == {"x": 1} and run.spec["envs"][0]["name"] == "A"
    by_key = await dh_api("get_run", f"store://demo/run/python+job:run/{run.id}")
    by_server_key = await dh_api("get_run", run.key)  # the server's key has ':<id>' appended
    by_id = await dh_api("get_run", run.id, "demo")
    assert by_key.id == by_server_key.id == by_id.id == run.id
    done = await _until(dh_api, run, {"COMPLETED"})
    assert [t["status"] for t in done.status["transitions"]][-2:] == ["READY", "BUILT"]
    assert "handler returned 1" in await dh_api("get_run_logs", run.key)
    assert (await dh_api("get_run_metrics", run.id, "demo"))["accuracy"] == 0.93
    assert await dh_api("get_run_metric", run.id, "loss", project="demo") == [0.5, 0.4, 0.31]


async def test_new_run_with_uuid_and_local_execution(dh_api: Any) -> None:
    run_id = f"fixed{dh_api.kind}0000000000000000000000"[:32]
    run = await dh_api("new_run", "demo", "python+job:run", uuid=run_id, task=DEMO_TASK, local_execution=True)
    assert run.id == run_id and run.state is RunState.CREATED
    with pytest.raises(BadRequestError, match="Duplicated entity run"):
        await dh_api("new_run", "demo", "python+job:run", uuid=run_id, task=DEMO_TASK)


async def test_failed_run_has_message_and_traceback_in_logs(dh_api: Any) -> None:
    run = await dh_api("new_run", "demo", "python+job:run", task=DEMO_TASK, parameters={"fail": True})
    done = await _until(dh_api, run, {"ERROR"})
    assert done.message == "Something got wrong during function execution."
    assert "ValueError" in await dh_api("get_run_logs", run.id, "demo")


async def test_list_runs_filters_and_pages(dh_api: Any, dh_state: Any) -> None:
    project = f"list-{dh_api.kind}"
    dh_state.add_project(project)
    fn = dh_state.add_function(project, "f")
    task = dh_state.add_task(project, fn)
    task_string = f"python+job://{project}/{task['id']}"
    ids = [(await dh_api("new_run", project, "python+job:run", task=task_string)).id for _ in range(5)]
    runs = await dh_api("list_runs", project)
    assert sorted(r.id for r in runs) == sorted(ids)
    page = await dh_api("list_runs_page", project, page=1, size=2)
    assert page["totalPages"] == 3 and page["number"] == 1 and len(page["content"]) == 2
    assert [r.id for r in await dh_api("list_runs", project, q=ids[0])] == [ids[0]]
    assert len(await dh_api("list_runs", project, kind="python+job:run", task=task_string)) == 5
    assert await dh_api("list_runs", project, state="ERROR") == []
    assert len(await dh_api("list_runs", project, max_pages=1)) == 5  # one default page of 50


async def test_import_update_stop_delete(dh_api: Any, tmp_path: Path) -> None:
    descriptor = tmp_path / "run.yaml"
    descriptor.write_text(
        yaml.safe_dump(
            {
                "kind": "python+job:run",
                "project": "demo",
                "metadata": {"project": "demo", "labels": ["x"]},
                "spec": {"task": DEMO_TASK, "parameters": {"x": 3}},
                "status": {"state": "COMPLETED"},
                "key": "ignored",
            }
        )
    )
    run = await dh_api("import_run", str(descriptor), labels=["added"])
    assert run.state is RunState.READY and run.labels == ["x", "added"] and run.spec["parameters"] == {"x": 3}
    run = await _until(dh_api, run, {"RUNNING"})
    run.metadata["description"] = "updated"
    updated = await dh_api("update_run", run)
    assert updated.metadata["description"] == "updated"
    stopped = await dh_api("stop_run", run.id, "demo")
    assert stopped.state is RunState.STOP
    assert (await _until(dh_api, run, {"STOPPED"})).state is RunState.STOPPED
    # an invalid transition is answered 200 with the unchanged run
    assert (await dh_api("run_action", run.id, "resume", "demo")).state is RunState.STOPPED
    deleting = await dh_api("delete_run", run.key)
    assert deleting.state is RunState.DELETING
    await asyncio.sleep(0.3)
    with pytest.raises(NotFoundError, match="No such run"):
        await dh_api("get_run", run.id, "demo")


async def test_auth_check(dh_api: Any) -> None:
    assert (await dh_api("auth_check"))["username"] == "admin"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (("get_run", "store://demo/runs/x"), "malformed run key"),
        (("get_run", "abc"), "given without a project"),
        (("new_run", "demo", "python+run"), "pre-0.15 naming"),
        (("new_run", "demo", "python+job"), "not a DHCore run kind"),
        (("new_run", "demo", "python+job:run"), "needs task="),
        (("import_run", "/nonexistent/run.yaml"), "does not exist"),
    ],
)
async def test_bad_input_is_refused_before_sending(dh_api: Any, call: tuple, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        await dh_api(*call)


async def test_server_side_bad_input(dh_api: Any, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="No such project"):
        await dh_api("new_run", "nope", "python+job:run", task="python+job://nope/abc")
    with pytest.raises(BadRequestError, match="invalid task"):
        await dh_api("new_run", "demo", "python+job:run", task="python+job://demo/missing")
    with pytest.raises(BadRequestError, match="unsupported kind"):
        await dh_api("new_run", "demo", "fortran+job:run", task=DEMO_TASK)
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [python+job:run\n  spec: {")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        await dh_api("import_run", str(bad))
    empty = tmp_path / "empty.yaml"
    empty.write_text("kind: python\nname: f\n")
    with pytest.raises(ConfigError, match="holds no run descriptor"):
        await dh_api("import_run", str(empty))


def test_auth_modes_and_bad_credentials(dhcore: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from airflow_provider.digitalhub.hook import DigitalHubHook
    from airflow_provider.testing.digitalhub import connection

    monkeypatch.setenv("AIRFLOW_CONN_DH_TOKEN", json.dumps(connection(dhcore[1].url, auth="token")))
    assert DigitalHubHook("dh_token").auth_check()["username"] == "admin"
    assert dhcore[0].faults.calls("GET", "/api/auth")[-1].headers["authorization"].startswith("Bearer ")
    wrong = {**connection(dhcore[1].url), "password": "wrong-pass-77"}
    monkeypatch.setenv("AIRFLOW_CONN_DH_WRONG", json.dumps(wrong))
    ok, message = DigitalHubHook("dh_wrong").test_connection()
    assert not ok and "HTTP 401" in message and "not authenticated" in message and "wrong-pass-77" not in message
    monkeypatch.setenv("AIRFLOW_CONN_DH_BAD", json.dumps({"conn_type": "digitalhub", "host": dhcore[1].url, "login": "admin"}))
    with pytest.raises(ConfigError, match="basic auth needs both Login and Password"):
        DigitalHubHook("dh_bad").auth_check()
