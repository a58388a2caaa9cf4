"""DigitalHub: the digitalhub SDK 0.15.11 and the hooks send the same requests, method by method.

The SDK lives in its own venv (see tests/digitalhub/test_digitalhub_conformance.py), so it runs
once per module in a subprocess (``dh_sdk_driver.py``) pointed at the recording proxy, marking
where each operation starts; the hook's side runs here, sync and async, per case.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.recorder import Equivalence, Exchange, compare_requests, recording_proxy, split_marks
from wire_cases import hook_caller, substitute

HERE = Path(__file__).resolve().parent
P = "wire"
LISTED = "wirelist"
CONN_ID = "digitalhub_wire"
KIND = "python+job:run"
#: timestamps are the client's clock (DHCore replaces them) or each side's own run's: not compared
PATTERNS = ((r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "{time}"),)
#: the SDK reads a project to set up its local context the first time it meets it, and its Project
#: methods refresh the project after each call; the hook keeps no project object
PROJECT_REFRESH = r"^/api/v1/projects/[^/]+$"


def _sdk_python() -> str:
    spec = importlib.util.spec_from_file_location("dh_conformance", HERE.parent / "digitalhub" / "test_digitalhub_conformance.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module._sdk_python())


@dataclass
class Side:
    """One side's objects: runs made for it, by role, and the files it imports."""

    name: str
    runs: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def key(self, role: str) -> str:
        return f"store://{P}/run/{KIND}/{self.runs[role]}"

    def names(self) -> dict[str, str]:
        out = {rid: "{" + role + "}" for role, rid in self.runs.items()}
        out[f"wire-goc-{self.name}"] = "{new-project}"
        out[f"wire-np-{self.name}"] = "{new-project}"
        return out


@dataclass(frozen=True)
class DHCase:
    label: str
    #: the SDK operation (see dh_sdk_driver.py) and the hook method it is compared with
    op: str
    sdk_args: Callable[[Side], dict[str, Any]]
    ours: Callable[[Callable[..., Any], Side], Any]
    equivalences: tuple[Equivalence, ...] = ()
    drop_theirs: str | None = None
    #: the id the call creates is in the result under this name (substituted on both sides)
    creates: bool = False
    differs: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        return HOOK_METHOD.get(self.op, self.op)


#: SDK operation -> hook method, where the names differ
HOOK_METHOD = {
    "new_project": "create_project",
    "project_get_run": "get_run",
    "project_list_runs": "list_runs",
    "project_delete_run": "delete_run",
    "refresh": "get_run",
    "stop": "stop_run",
    "resume": "run_action",
    "logs": "get_run_logs",
    "metrics": "get_run_metrics",
    "get_metric": "get_run_metric",
    "get_credentials_and_config": "auth_check",
}


def make_runs(state: Any, side: Side, task: str, tmp: Path) -> None:
    """Runs for one side: a long one to stop, a finished one to read, others to update and delete."""
    for role, params in {"running": {}, "done": {"duration": 0.05}, "upd": {"duration": 0.05}, "del": {}, "pdel": {}}.items():
        rec = state.create_run(P, {"kind": KIND, "spec": {"task": task, "parameters": params}}, "admin")
        side.runs[role] = rec.body["id"]
    time.sleep(0.4)
    done = state.run_json(state.get_run(P, side.runs["done"]), time.time())
    # what run.export() writes: the run as the server returned it
    reset = tmp / f"runs-reset-{side.name}.yaml"
    reset.write_text(yaml.safe_dump(done))
    side.files["reset"] = str(reset)
    own = {**done, "id": f"{side.name}imp0000000000000000000000000000"[:32]}
    side.runs["imported"] = own["id"]
    path = tmp / f"runs-keep-{side.name}.yaml"
    path.write_text(yaml.safe_dump(own))
    side.files["keep"] = str(path)


CASES = [
    DHCase("get_project", "get_project", lambda s: {"name": P}, lambda h, s: h("get_project", P)),
    DHCase("get_or_create_project-existing", "get_or_create_project", lambda s: {"name": P}, lambda h, s: h("get_or_create_project", P)),
    DHCase(
        "get_or_create_project-new",
        "get_or_create_project",
        lambda s: {"name": f"wire-goc-{s.name}"},
        lambda h, s: h("get_or_create_project", f"wire-goc-{s.name}"),
    ),
    DHCase(
        "new_project",
        "new_project",
        lambda s: {"name": f"wire-np-{s.name}", "description": "made by wire", "labels": ["a"], "config": {"default_files_store": "s3://wire"}},
        lambda h, s: h("create_project", f"wire-np-{s.name}", description="made by wire", labels=["a"], config={"default_files_store": "s3://wire"}),
    ),
    DHCase(
        "new_run",
        "new_run",
        lambda s: {"project": P, "kind": KIND, "task": TASK, "labels": ["wl"], "parameters": {"x": 1}},
        lambda h, s: h("new_run", P, KIND, labels=["wl"], task=TASK, parameters={"x": 1}),
        creates=True,
    ),
    DHCase(
        "new_run-uuid",
        "new_run",
        lambda s: {"project": P, "kind": KIND, "task": TASK, "uuid": f"{s.name}uuid".ljust(32, "0")},
        lambda h, s: h("new_run", P, KIND, uuid=f"{s.name}uuid".ljust(32, "0"), task=TASK),
        creates=True,
    ),
    DHCase("get_run-key", "get_run", lambda s: {"identifier": s.key("done")}, lambda h, s: h("get_run", s.key("done"))),
    DHCase("get_run-id", "get_run", lambda s: {"identifier": s.runs["done"], "project": P}, lambda h, s: h("get_run", s.runs["done"], P)),
    DHCase(
        "project_get_run",
        "project_get_run",
        lambda s: {"project": P, "identifier": s.runs["done"]},
        lambda h, s: h("get_run", s.runs["done"], P),
        drop_theirs=PROJECT_REFRESH,
    ),
    # listings read project LISTED, whose 30 runs (two pages) do not change while the tests run
    DHCase("list_runs", "list_runs", lambda s: {"project": LISTED}, lambda h, s: h("list_runs", LISTED), drop_theirs=PROJECT_REFRESH),
    DHCase(
        "list_runs-filters",
        "list_runs",
        lambda s: {"project": LISTED, "state": "COMPLETED", "kind": KIND, "q": "a"},
        lambda h, s: h("list_runs", LISTED, state="COMPLETED", kind=KIND, q="a"),
    ),
    DHCase(
        "project_list_runs",
        "project_list_runs",
        lambda s: {"project": LISTED, "kind": KIND},
        lambda h, s: h("list_runs", LISTED, kind=KIND),
        drop_theirs=PROJECT_REFRESH,
    ),
    DHCase(
        "import_run-reset",
        "import_run",
        lambda s: {"file": s.files["reset"], "reset_id": True},
        lambda h, s: h("import_run", s.files["reset"], reset_id=True),
        creates=True,
    ),
    DHCase("import_run", "import_run", lambda s: {"file": s.files["keep"]}, lambda h, s: h("import_run", s.files["keep"])),
    DHCase("update_run", "update_run", lambda s: {"key": s.key("upd"), "description": "wired"}, lambda h, s: _update(h, s)),
    DHCase("delete_run", "delete_run", lambda s: {"identifier": s.key("del")}, lambda h, s: h("delete_run", s.key("del"))),
    DHCase(
        "project_delete_run",
        "project_delete_run",
        lambda s: {"project": P, "identifier": s.runs["pdel"], "entity_id": None},
        lambda h, s: h("delete_run", s.runs["pdel"], P),
        drop_theirs=PROJECT_REFRESH,
    ),
    DHCase("refresh", "refresh", lambda s: {"key": s.key("done")}, lambda h, s: h("get_run", s.runs["done"], P)),
    DHCase("stop", "stop", lambda s: {"key": s.key("running")}, lambda h, s: h("stop_run", s.runs["running"], P)),
    DHCase("resume", "resume", lambda s: {"key": s.key("done")}, lambda h, s: h("run_action", s.runs["done"], "resume", P)),
    DHCase("logs", "logs", lambda s: {"key": s.key("done")}, lambda h, s: h("get_run_logs", s.runs["done"], P)),
    DHCase("metrics", "metrics", lambda s: {"key": s.key("done")}, lambda h, s: h("get_run_metrics", s.runs["done"], P)),
    DHCase("get_metric", "get_metric", lambda s: {"key": s.key("done"), "name": "loss"}, lambda h, s: h("get_run_metric", s.runs["done"], "loss", P)),
    DHCase("get_credentials_and_config", "get_credentials_and_config", lambda s: {}, lambda h, s: h("auth_check")),
]
TASK = ""  # set by the module fixture: the task string of project "wire"


def _update(h: Callable[..., Any], s: Side) -> Any:
    run = h("get_run", s.key("upd"))
    run.metadata["description"] = "wired"
    return h("update_run", run)


@pytest.fixture(scope="module")
def dh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Emulator + proxy; the SDK's side recorded once, up front, for every case."""
    global TASK
    from airflow_provider.testing import serve_emulator
    from airflow_provider.testing.digitalhub import BASIC_PASSWORD, BASIC_USER, connection

    python = _sdk_python()
    tmp = tmp_path_factory.mktemp("dhwire")
    with serve_emulator("digitalhub", None, run_duration=30, pending_after=0.05, stop_after=0.2) as (emulator, server), recording_proxy(server.url) as proxy:
        state = emulator.state
        state.add_project(P)
        task = state.add_task(P, state.add_function(P, "hello"))
        TASK = f"python+job://{P}/{task['id']}"
        state.add_project(LISTED)
        listed_task = state.add_task(LISTED, state.add_function(LISTED, "hello"))
        for _ in range(30):
            state.create_run(LISTED, {"kind": KIND, "spec": {"task": f"python+job://{LISTED}/{listed_task['id']}", "parameters": {"duration": 0}}}, "admin")
        theirs = Side("t")
        make_runs(state, theirs, TASK, tmp)
        plan = [{"label": c.label, "op": c.op, "args": c.sdk_args(theirs)} for c in CASES]
        (tmp / "plan.json").write_text(json.dumps(plan))
        env = {**os.environ, "DHCORE_ENDPOINT": proxy.url, "DHCORE_USER": BASIC_USER, "DHCORE_PASSWORD": BASIC_PASSWORD, "HOME": str(tmp)}
        env.pop("DH_CONFIG", None)
        with proxy.capture() as recorded:
            proc = subprocess.run(
                [python, str(HERE / "dh_sdk_driver.py"), str(tmp / "plan.json")], env=env, capture_output=True, text=True, timeout=300, cwd=tmp
            )
        assert proc.returncode == 0, proc.stderr[-3000:]
        results = json.loads(proc.stdout.strip().splitlines()[-1])
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection(proxy.url))
        yield {"emulator": emulator, "proxy": proxy, "theirs": theirs, "sdk": split_marks(recorded), "results": results, "tmp": tmp}


@pytest.fixture(params=["sync", "async"])
def ours(request: pytest.FixtureRequest, dh: dict[str, Any], loop: Any) -> tuple[Callable[..., Any], Side]:
    from airflow_provider.digitalhub.hook import DigitalHubAsyncHook, DigitalHubHook

    side = Side(f"o{request.param[0]}")
    make_runs(dh["emulator"].state, side, TASK, dh["tmp"])
    return hook_caller(DigitalHubHook(CONN_ID), DigitalHubAsyncHook(CONN_ID), request.param, loop), side


def _created_id(result: Any) -> str | None:
    if isinstance(result, dict):
        return result.get("id")
    return getattr(result, "id", None)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_same_requests(case: DHCase, dh: dict[str, Any], ours: tuple[Callable[..., Any], Side]) -> None:
    call, side = ours
    result = dh["results"][case.label]
    assert not (isinstance(result, dict) and "error" in result), f"the SDK failed: {result}"
    theirs_ex: list[Exchange] = dh["sdk"][case.label]
    if case.drop_theirs:
        theirs_ex = [e for e in theirs_ex if not (e.method == "GET" and __import__("re").match(case.drop_theirs, e.path))]
    with dh["proxy"].capture() as seen:
        mine = case.ours(call, side)
    names_t, names_o = dh["theirs"].names(), side.names()
    if case.creates:
        names_t[str(_created_id(result))] = "{created}"
        names_o[str(_created_id(mine))] = "{created}"
    ours_ex = list(seen)
    if case.op == "update_run":
        ours_ex = ours_ex[1:]  # the hook's own read of the run, as the SDK's before its mark
    a, b = substitute(theirs_ex, names_t, PATTERNS), substitute(ours_ex, names_o, PATTERNS)
    assert a, f"{case.label}: the SDK sent no request"
    problems = compare_requests(a, b, case.equivalences)
    if case.differs:
        assert problems and all(any(d in p for d in case.differs) for p in problems), problems
    else:
        assert not problems, f"{case.label}: requests differ:\n" + "\n".join(problems)


def test_every_mapped_digitalhub_method_has_a_wire_case() -> None:
    import sys

    sys.path.insert(0, str(HERE.parent))
    from test_api_coverage import wire_rows

    mapped = {method for section, _, hook, method, _, _ in wire_rows() if section == "002" and hook == "DigitalHubHook"}
    assert len(mapped) >= 12
    assert mapped <= {c.method for c in CASES}, f"no wire case for {sorted(mapped - {c.method for c in CASES})}"


PARSE_SCRIPT = r"""
import json, os, sys
import digitalhub as dh
import requests
from digitalhub.utils.exceptions import BackendError

E = os.environ["DHCORE_ENDPOINT"]
cases = json.loads(sys.argv[1])
out = {}
for name, op in cases:
    if name.startswith("fault"):
        status = int(name.split("-")[1])
        requests.post(os.environ["EMULATOR"] + "/_emulator/faults", json={"faults": [{"status": status, "retry_after": "1"}]})
    if name == "reset":
        requests.post(os.environ["EMULATOR"] + "/_emulator/faults", json={"faults": [{"kind": "reset"}]})
    try:
        if op == "get_missing":
            dh.get_run("0" * 32, project="wire")
        elif op == "bad_task":
            dh.new_run(project="wire", kind="python+job:run", task="python+job://wire/" + "f" * 32)
        elif op == "get_run":
            dh.get_run(os.environ["RUN_KEY"])
        elif op == "list":
            dh.list_runs("wire")
        out[name] = {"ok": True}
    except BackendError as exc:
        out[name] = {"class": type(exc).__name__, "backend": True, "message": str(exc)}
    except Exception as exc:
        out[name] = {"class": type(exc).__name__, "backend": False, "message": str(exc),
                     "transport": isinstance(exc, (requests.ConnectionError, ConnectionError, TimeoutError))}
print(json.dumps(out))
"""


def test_the_sdk_parses_every_error_and_fault(dh: dict[str, Any]) -> None:
    """digitalhub SDK 0.15.11 reads every emulator error (DHCore's ErrorResponse, empty 401s, fault
    knobs included) as one of its BackendErrors, never a parsing crash; a reset is a transport error.
    (Every success answer is parsed by the SDK in the cases above.)"""
    from airflow_provider.testing.digitalhub import BASIC_PASSWORD, BASIC_USER

    emulator, proxy, tmp = dh["emulator"], dh["proxy"], dh["tmp"]
    emulator.faults.clear()
    cases = [
        ["404", "get_missing"],
        ["400", "bad_task"],
        ["fault-500", "get_run"],
        ["fault-502", "list"],
        ["fault-503", "get_run"],
        ["fault-429", "get_run"],
        ["fault-401", "get_run"],
        ["fault-403", "list"],
        ["reset", "get_run"],
        ["after", "get_run"],
    ]
    env = {
        **os.environ,
        "DHCORE_ENDPOINT": proxy.url,
        "DHCORE_USER": BASIC_USER,
        "DHCORE_PASSWORD": BASIC_PASSWORD,
        "HOME": str(tmp),
        "EMULATOR": proxy.url,
        "RUN_KEY": dh["theirs"].key("done"),
    }
    env.pop("DH_CONFIG", None)
    proc = subprocess.run([_sdk_python(), "-c", PARSE_SCRIPT, json.dumps(cases)], env=env, capture_output=True, text=True, timeout=300, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in ("404", "400", "fault-500", "fault-502", "fault-503", "fault-429", "fault-401", "fault-403"):
        assert out[name].get("backend"), f"{name}: the SDK did not read the error as a BackendError: {out[name]}"
    assert out["404"]["message"].startswith("Not found") and "No such run." in out["404"]["message"]
    assert out["400"]["class"] == "BadRequestError" and "invalid task" in out["400"]["message"]
    assert out["fault-401"]["class"] == "UnauthorizedError" and out["fault-403"]["class"] == "ForbiddenError"
    assert "emulated fault 503" in out["fault-503"]["message"]
    assert out["reset"].get("transport") or out["reset"].get("backend"), out["reset"]
    assert out["after"] == {"ok": True}
