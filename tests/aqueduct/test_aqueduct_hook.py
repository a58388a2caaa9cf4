"""Every Aqueduct hook method, sync and async, against both server generations of the emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.aqueduct.api.extensions import validate_parameters
from airflow_provider.aqueduct.api.graphql import GraphQLError
from airflow_provider.aqueduct.models import ExecutionResult, Task
from airflow_provider.common.errors import ConfigError, NotFoundError


async def _experiment(aq_api: Any, title: str) -> Any:
    return await aq_api("create_experiment", f"{title} {aq_api.generation} {aq_api.kind}", "desc", ["t1"])


async def test_experiments_crud_and_find(aq_api: Any) -> None:
    exp = await _experiment(aq_api, "crud")
    assert exp.eid and exp.tags == ["t1"] and exp.files == []
    assert (await aq_api("get_experiment_by_eid", exp.eid)).uuid == exp.uuid
    assert (await aq_api("get_experiment_by_uuid", exp.uuid)).eid == exp.eid
    assert (await aq_api("get_experiment", exp.eid)).uuid == (await aq_api("get_experiment", exp.uuid)).uuid
    updated = await aq_api("update_experiment", exp.uuid, title=exp.title + " v2", description="new")
    assert updated.title.endswith(" v2") and updated.description == "new"
    found = await aq_api("find_experiments", search=updated.title, limit=5)
    assert [e.uuid for e in found] == [exp.uuid]
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    assert exp.uuid in [e.uuid for e in await aq_api("find_experiments", tags=["t1"], start_datetime=yesterday, limit=100)]
    assert exp.uuid in [e.uuid for e in await aq_api("find_all_experiments", page_size=2)]
    await aq_api("remove_experiment_by_eid", exp.eid)
    with pytest.raises(GraphQLError, match="Non-existing experiment with the specified eid"):
        await aq_api("get_experiment_by_eid", exp.eid)
    other = await _experiment(aq_api, "remove-by-uuid")
    await aq_api("remove_experiment_by_uuid", other.uuid)
    with pytest.raises(GraphQLError, match="non-existing experiment with the specified UUID"):
        await aq_api("get_experiment_by_uuid", other.uuid)


async def test_tags(aq_api: Any) -> None:
    exp = await _experiment(aq_api, "tags")
    mixed = f"Mixed_{aq_api.generation}_{aq_api.kind}"  # tags keep their first-seen spelling server-wide
    tagged = await aq_api("add_tags", exp.uuid, [mixed, "x:y/z"])
    assert tagged.tags == ["t1", mixed, "x:y/z"]
    assert (await aq_api("remove_tag", exp.uuid, mixed.lower())).tags == ["t1", "x:y/z"]  # case-insensitive
    assert mixed in await aq_api("get_tags", dangling=True)
    assert mixed not in await aq_api("get_tags", dangling=False)
    with pytest.raises(GraphQLError, match="Tag can only contain"):
        await aq_api("add_tags", exp.uuid, ["bad tag"])
    with pytest.raises(GraphQLError, match="non-existing tag"):
        await aq_api("remove_tag", exp.uuid, "never-there")


async def test_files(aq_api: Any, tmp_path: Path) -> None:
    exp = await _experiment(aq_api, "files")
    src = tmp_path / "data.csv"
    src.write_text("a,b\n1,2\n")
    assert "uploaded data.csv" in await aq_api("upload_file", exp.uuid, str(src))
    assert [f["name"] for f in await aq_api("list_files", exp.uuid)] == ["data.csv"]
    path = await aq_api("download_file", exp.uuid, "data.csv", str(tmp_path / "out"))
    assert Path(path).read_text() == "a,b\n1,2\n"
    with pytest.raises(NotFoundError, match="The requested file is not found"):
        await aq_api("download_file", exp.uuid, "nope.csv", str(tmp_path / "out"))
    assert not (tmp_path / "out" / "nope.csv").exists(), "a failed download must write nothing"
    assert "Successfully deleted data.csv" in await aq_api("remove_files", exp.uuid, ["data.csv"])
    with pytest.raises(ConfigError, match="does not exist"):
        await aq_api("upload_file", exp.uuid, str(tmp_path / "missing.txt"))


async def test_extensions_and_parameter_validation(aq_api: Any) -> None:
    (ext,) = await aq_api("get_extensions")
    assert ext.name == "demo" and [a.name for a in ext.actions] == ["echo", "fail", "sleep"]
    echo = await aq_api("get_extension_action", "demo", "echo")
    assert validate_parameters(echo, {"experiment": "20240101-1", "message": "hi", "flag": True}) == [
        ["experiment", "20240101-1"], ["message", "hi"], ["count", "1"], ["flag", "True"], ["mode", "fast"]
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="unknown extension 'nope'; the server has: demo"):
        await aq_api("get_extension_action", "nope", "echo")
    with pytest.raises(ConfigError, match="has no action 'zap'; it has: echo, fail, sleep"):
        await aq_api("get_extension_action", "demo", "zap")
    for params, message in [
        ({"experiment": "20240101-1"}, "parameter 'message' \\(str\\) is required"),
        ({"experiment": "20240101-1", "message": "m", "count": "two"}, "parameter 'count' must be an int"),
        ({"experiment": "20240101-1", "message": "m", "mode": "turbo"}, "parameter 'mode' must be one of"),
        ({"experiment": "20240101-1", "message": "m", "colour": "red"}, "has no parameter\\(s\\) colour"),
    ]:
        with pytest.raises(ConfigError, match=message):
            validate_parameters(echo, params)


async def _until_done(aq_api: Any, task_id: str) -> Task:
    for _ in range(100):
        task = await aq_api("get_task", task_id)
        if task.task_status in ("SUCCESS", "FAILURE", "REVOKED"):
            return task
        await asyncio.sleep(0.05)
    raise AssertionError("task never finished")


async def test_execute_in_each_generation(aq_api: Any) -> None:
    exp = await _experiment(aq_api, "execute")
    echo = await aq_api("get_extension_action", "demo", "echo")
    params = validate_parameters(echo, {"experiment": exp.eid, "message": "hello", "count": 2})
    assert await aq_api("detect_generation") == aq_api.generation
    result = await aq_api("execute_extension", "demo", "echo", params, experiment_uuid=exp.uuid)
    if aq_api.generation == "released":
        assert isinstance(result, ExecutionResult) and result.return_code == 0 and "message=hello count=2" in result.stdout
        assert result.log_file in (await aq_api("get_experiment", exp.eid)).file_names
        return
    assert isinstance(result, Task) and result.task_status in ("PENDING", "STARTED")
    done = await _until_done(aq_api, result.uuid)
    assert done.task_status == "SUCCESS" and done.result_code == 0 and "message=hello" in done.std_out
    assert result.uuid in [t.uuid for t in await aq_api("get_tasks", limit=50, extension_name="demo", experiment_uuid=exp.uuid)]
    assert await aq_api("get_tasks", limit=5, action_name="no-such-action") == []
    fail = await aq_api("execute_extension", "demo", "fail", [["experiment", exp.eid], ["code", "4"]], experiment_uuid=exp.uuid)
    failed = await _until_done(aq_api, fail.uuid)
    assert failed.task_status == "FAILURE" and failed.result_code == 4 and failed.std_err == "err-msg\n"
    slow = await aq_api("execute_extension", "demo", "sleep", [["experiment", exp.eid], ["seconds", "30"]], experiment_uuid=exp.uuid)
    await asyncio.sleep(0.2)
    answer = await aq_api("cancel_task", slow.uuid)
    assert answer.task_status == "STARTED"  # the status at the time of the call
    assert (await _until_done(aq_api, slow.uuid)).task_status == "REVOKED"
    with pytest.raises(GraphQLError, match="non-existing task"):
        await aq_api("get_task", "00000000-0000-4000-8000-000000000000")


async def test_server_side_parameter_errors_are_graphql_errors(aq_api: Any) -> None:
    with pytest.raises(GraphQLError, match="Missing keys"):
        exp = await _experiment(aq_api, "srv-params")
        await aq_api("execute_extension", "demo", "echo", [["experiment", exp.eid]], experiment_uuid=exp.uuid)


async def test_current_user(aq_api: Any) -> None:
    assert (await aq_api("get_current_user"))["username"] == "admin"


def test_connection_and_unreachable(aq_tasks: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import socket

    from airflow_provider.aqueduct.hook import AqueductHook

    assert AqueductHook().test_connection()[0]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    monkeypatch.setenv("AIRFLOW_CONN_AQ_DOWN", json.dumps({"conn_type": "aqueduct", "host": f"http://127.0.0.1:{port}", "extra": {"retry_attempts": 1}}))
    ok, message = AqueductHook("aq_down").test_connection()
    assert not ok and "cannot reach Aqueduct" in message
