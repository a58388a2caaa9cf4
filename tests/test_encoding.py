"""Non-ASCII and special characters in file names, ids and parameters, sync and async, every platform.

Each value must arrive at the emulator exactly as given (the emulators decode paths, headers and
bodies as the real servers' frameworks do), or be refused up front with a provider error that says
why, never a raw ``UnicodeEncodeError`` from one client and not the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.common.errors import ConfigError, NotFoundError
from airflow_provider.testing import serve_emulator

#: Aqueduct refuses ``? * : / \\ " < > |`` in file names (pathvalidate), as the real server does
NAMES = ["résumé é.txt", "a b#c%d&e+f=g.txt", "100% sure.csv"]
VALUES = ["résumé é", "数据.csv", "a b#c?d%e&f+g=h/i"]
MODES = ["sync", "async"]


def _call(mode: str, sync_cls: type, async_cls: type, conn_id: str, method: str, *args: Any, **kwargs: Any) -> Any:
    if mode == "sync":
        return getattr(sync_cls(conn_id), method)(*args, **kwargs)

    async def go() -> Any:
        return await getattr(async_cls(conn_id), method)(*args, **kwargs)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def aqueduct() -> Iterator[Any]:
    with serve_emulator("aqueduct", "enc_aq", generation="tasks") as served:
        yield served


@pytest.fixture(scope="module")
def dss() -> Iterator[Any]:
    with serve_emulator("dataiku", "enc_dss", run_duration=0.2, fire_delay=0.02) as served:
        yield served


@pytest.fixture(scope="module")
def digitalhub() -> Iterator[Any]:
    with serve_emulator("digitalhub", "enc_dh", run_duration=0.2) as served:
        yield served


@pytest.fixture(scope="module")
def paddleflow() -> Iterator[Any]:
    with serve_emulator("paddleflow", "enc_pf", run_duration=0.2) as served:
        yield served


def _aq(mode: str) -> Callable[..., Any]:
    from airflow_provider.aqueduct.hook import AqueductAsyncHook, AqueductHook

    return lambda method, *a, **k: _call(mode, AqueductHook, AqueductAsyncHook, "enc_aq", method, *a, **k)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_aqueduct_upload_and_download_keep_the_name(aqueduct: Any, tmp_path: Path, mode: str, name: str) -> None:
    aq = _aq(mode)
    exp = aq("create_experiment", f"encoding {mode} {name}", "")
    local = tmp_path / "up" / name
    local.parent.mkdir()
    local.write_bytes(f"content of {name}".encode())
    aq("upload_file", exp.uuid, str(local))
    assert name in aqueduct[0].state.files[exp.uuid], list(aqueduct[0].state.files[exp.uuid])
    assert [f["name"] for f in aq("list_files", exp.uuid)] == [name]
    path = aq("download_file", exp.uuid, name, str(tmp_path / "down"))
    assert Path(path).name == name and Path(path).read_bytes() == f"content of {name}".encode()


@pytest.mark.parametrize("mode", MODES)
def test_aqueduct_refuses_a_name_no_header_can_carry(aqueduct: Any, tmp_path: Path, mode: str) -> None:
    """Aqueduct reads the name from an HTTP header (Latin-1 only): both hooks refuse it the same way, before sending."""
    aq = _aq(mode)
    exp = aq("create_experiment", f"cjk {mode}", "")
    local = tmp_path / "数据.csv"
    local.write_text("a,b\n")
    before = len(aqueduct[0].faults.calls("POST", "/api/files/"))
    with pytest.raises(ConfigError, match=r"'file_name' in an HTTP header.*rename it"):
        aq("upload_file", exp.uuid, str(local))
    assert len(aqueduct[0].faults.calls("POST", "/api/files/")) == before


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", VALUES)
def test_dss_params_and_ids(dss: Any, mode: str, value: str) -> None:
    from airflow_provider.dataiku.hook import DataikuAsyncHook, DataikuHook

    emulator = dss[0]
    sid = f"ENC_{MODES.index(mode)}_{VALUES.index(value)}"
    sc = emulator.state.scenarios.add_scenario("ENC", sid, steps=[{"id": "a", "name": "A", "type": "build_flowitem"}])
    _call(mode, DataikuHook, DataikuAsyncHook, "enc_dss", "run_scenario", "ENC", sid, {"value": value})
    assert sc.fires[-1].params["value"] == value
    with pytest.raises(NotFoundError):
        _call(mode, DataikuHook, DataikuAsyncHook, "enc_dss", "get_scenario_status", "ENC", value)
    assert any(r.path.endswith(f"/scenarios/{value}/light") for r in emulator.faults.calls("GET")), "the id did not arrive as given"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", VALUES)
def test_digitalhub_params_and_ids(digitalhub: Any, mode: str, value: str) -> None:
    from airflow_provider.digitalhub.hook import DigitalHubAsyncHook, DigitalHubHook

    state = digitalhub[0].state
    project = f"enc{MODES.index(mode)}{VALUES.index(value)}"
    state.add_project(project)
    task = state.add_task(project, state.add_function(project, "f"))
    run = _call(
        mode,
        DigitalHubHook,
        DigitalHubAsyncHook,
        "enc_dh",
        "new_run",
        project,
        "python+job:run",
        task=f"python+job://{project}/{task['id']}",
        parameters={"value": value},
        labels=[value],
    )
    assert run.spec["parameters"]["value"] == value and value in run.labels
    stored = state.runs[(project, run.id)]
    assert value in str(stored)
    with pytest.raises((NotFoundError, ConfigError)) as missing:
        _call(mode, DigitalHubHook, DigitalHubAsyncHook, "enc_dh", "get_run", value, project)
    if isinstance(missing.value, NotFoundError):
        assert any(r.path.endswith(f"/runs/{value}") for r in digitalhub[0].faults.calls("GET")), "the id did not arrive as given"
    else:
        assert repr(value) in str(missing.value)  # refused before sending, naming the value


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", VALUES)
def test_paddleflow_names_and_ids(paddleflow: Any, mode: str, value: str) -> None:
    from airflow_provider.paddleflow.hook import PaddleFlowAsyncHook, PaddleFlowHook
    from airflow_provider.testing.paddleflow import DEMO_YAML

    run_id = _call(mode, PaddleFlowHook, PaddleFlowAsyncHook, "enc_pf", "create_run", run_yaml_raw=DEMO_YAML, desc=value)
    assert paddleflow[0].state.runs[run_id].description == value
    with pytest.raises(NotFoundError) as missing:
        _call(mode, PaddleFlowHook, PaddleFlowAsyncHook, "enc_pf", "show_run", value)
    # PaddleFlow's router matches the decoded path: an id holding "/" is another path, as on the real server
    assert missing.value.code == ("PathNotFound" if "/" in value else "RunNotFound"), missing.value
    assert any(r.path.endswith(f"/run/{value}") for r in paddleflow[0].faults.calls("GET")), "the id did not arrive as given"
