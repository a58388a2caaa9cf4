"""DHCore emulator (reference/digitalhub.md §8): projects, functions, tasks, runs and their state
machine, Spring page envelopes, logs (base64), metrics, DHCore error bodies and API-level headers.

Knobs: ``run_duration`` and ``pending_after`` (seconds), ``stop_after`` (STOP -> STOPPED), and per
run ``spec.parameters.fail`` (true: the run ends in ERROR with ``fail_message``) and
``spec.parameters.duration`` (seconds RUNNING, instead of ``run_duration``). A run whose task
is ``DEMO_TASK`` runs the demo function.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider.testing import Emulator
from airflow_provider.testing.server import FaultInjector, Faults

API_LEVEL = "15"
API_VERSION = "0.15.0"
BASIC_USER, BASIC_PASSWORD = "admin", "dh-secret-4e1f"
ACCESS_TOKEN = "dh-token-9a7c55e0"
DEMO_PROJECT = "demo"
DEMO_FUNCTION_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DEMO_TASK_ID = "6fba40c1df474ad0990e09b8c41fa067"
DEMO_TASK = f"python+job://{DEMO_PROJECT}/{DEMO_TASK_ID}"
#: each runtime's actions: a run's kind is ``<runtime>+<action>:run``
RUN_ACTIONS = {"python": "job build serve", "container": "job build serve deploy", "dbt": "transform",
               "hera": "pipeline build", "kfp": "pipeline build"}  # fmt: skip
RUN_KINDS = {f"{runtime}+{action}:run" for runtime, actions in RUN_ACTIONS.items() for action in actions.split()}
TASK_PATTERN = re.compile(r"^([^:/]+)://([^/]+)/([^:]+)$")
SLUG = re.compile(r"^[a-zA-Z0-9._+-]+$")


class DHError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class RunRecord:
    body: dict[str, Any]
    created: float
    local: bool
    fail: bool
    duration: float
    pending_after: float
    stopped_at: float | None = None
    deleted_at: float | None = None
    forced_state: str | None = None  # set by PUT (DHCore 0.15.0 stores the PUT's status)
    metrics: dict[str, Any] = field(default_factory=dict)

    def timeline(self, now: float, stop_after: float) -> list[tuple[str, float]]:
        """(state, since) transitions so far, oldest first."""
        t0 = self.created
        if self.local:
            return [("CREATED", t0)]
        steps = [("BUILT", t0), ("READY", t0)]
        running_at = t0 + self.pending_after
        end_at = running_at + self.duration
        if now >= t0 + self.pending_after / 2:
            steps.append(("PENDING", t0 + self.pending_after / 2))
        if now >= running_at and (self.stopped_at is None or self.stopped_at >= running_at):
            steps.append(("RUNNING", running_at))
        if self.stopped_at is not None and self.stopped_at < end_at:
            steps.append(("STOP", self.stopped_at))
            if now >= self.stopped_at + stop_after:
                steps.append(("STOPPED", self.stopped_at + stop_after))
        elif now >= end_at:
            steps.append(("ERROR" if self.fail else "COMPLETED", end_at))
        if self.deleted_at is not None:
            steps.append(("DELETING", self.deleted_at))
        return steps


@dataclass(eq=False)
class DHCore:
    """The emulated DHCore instance and its knobs."""

    run_duration: float = 1.0
    pending_after: float = 0.2
    stop_after: float = 0.2
    fail_message: str = "Something got wrong during function execution."
    lock: threading.RLock = field(default_factory=threading.RLock, init=False)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    functions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, init=False)
    tasks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, init=False)
    runs: dict[tuple[str, str], RunRecord] = field(default_factory=dict, init=False)

    # --- seeding and entities --------------------------------------------------------------
    def add_project(self, name: str, user: str = "admin") -> dict[str, Any]:
        now = time.time()
        project = {
            "id": name, "name": name, "kind": "project", "project": name, "key": f"store://{name}", "user": user,
            "metadata": {"project": name, "name": name, "created": iso(now), "updated": iso(now), "created_by": user, "updated_by": user},
            "spec": {"source": "./", "functions": [], "artifacts": [], "workflows": [], "dataitems": [], "models": [], "config": {}},
            "status": {"state": "CREATED"},
        }  # fmt: skip
        self.projects[name] = project
        return project

    def add_entity(self, plural: str, project: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store a function or task as DHCore does: the body as sent, with its id, name and key set."""
        eid = body.get("id") or uuid.uuid4().hex
        entity = {"metadata": {}, "spec": {}, "status": {"state": "CREATED"}, **body, "id": eid, "project": project}
        entity.setdefault("name", eid)
        version = f"{entity['name']}:{eid}" if plural == "functions" else eid
        entity["key"] = f"store://{project}/{plural[:-1]}/{entity['kind']}/{version}"
        getattr(self, plural)[(project, eid)] = entity
        return entity

    def add_function(self, project: str, name: str, fid: str | None = None, kind: str = "python") -> dict[str, Any]:
        source = {"handler": "main", "lang": "python", "base64": base64.b64encode(b"def main(x):\n    return x\n").decode()}
        spec = {"python_version": "PYTHON3_10", "source": source}
        return self.add_entity("functions", project, {"id": fid, "name": name, "kind": kind, "metadata": {"project": project, "name": name}, "spec": spec})

    def add_task(self, project: str, function: dict[str, Any], kind: str = "python+job", tid: str | None = None) -> dict[str, Any]:
        tid = tid or uuid.uuid4().hex
        spec = {"function": f"{function['kind']}://{project}/{function['name']}:{function['id']}"}
        return self.add_entity("tasks", project, {"id": tid, "kind": kind, "metadata": {"project": project, "name": tid}, "spec": spec})

    def seed(self) -> None:
        self.add_project(DEMO_PROJECT)
        fn = self.add_function(DEMO_PROJECT, "hello", DEMO_FUNCTION_ID)
        self.add_task(DEMO_PROJECT, fn, tid=DEMO_TASK_ID)

    # --- runs ----------------------------------------------------------------------------
    def run_json(self, rec: RunRecord, now: float) -> dict[str, Any]:
        steps = rec.timeline(now, self.stop_after)
        state = rec.forced_state or steps[-1][0]
        body = dict(rec.body)
        status: dict[str, Any] = {
            "state": state,
            "transitions": [{"status": s, "time": iso(t)} for s, t in reversed(steps) if s != "CREATED"],
        }
        if state == "ERROR":
            status["message"] = self.fail_message
            status["transitions"][0]["message"] = self.fail_message
        if state in ("RUNNING", "COMPLETED", "ERROR", "STOP", "STOPPED"):
            status["pods"] = [{"name": f"j-{body['kind'].split(':')[0].replace('+', '')}-{body['id']}-x7k2p", "namespace": "digitalhub",
                               "phase": {"COMPLETED": "Succeeded", "ERROR": "Failed"}.get(state, "Running")}]  # fmt: skip
        if state == "COMPLETED":
            status["results"] = {"output_0": 1}
            status["metrics"] = self.metrics_of(rec, now)
        body["status"] = status
        body["metadata"] = {**body["metadata"], "updated": iso(steps[-1][1])}
        return body

    def metrics_of(self, rec: RunRecord, now: float) -> dict[str, Any]:
        base = {"loss": [0.5, 0.4, 0.31], "accuracy": 0.93} if rec.timeline(now, self.stop_after)[-1][0] == "COMPLETED" else {}
        return {**base, **rec.metrics}

    def log_text(self, rec: RunRecord, now: float) -> str:
        lines = []
        for state, since in rec.timeline(now, self.stop_after):
            lines.append(f"{iso(since)} INFO state {state}")
            if state == "RUNNING":
                params = rec.body["spec"].get("parameters", {})
                lines.append(f"{iso(since)} INFO running handler main with parameters {params}")
            if state == "ERROR":
                lines += [f"{iso(since)} ERROR Traceback (most recent call last):", f"{iso(since)} ERROR ValueError: {self.fail_message}"]
            if state == "COMPLETED":
                lines.append(f"{iso(since)} INFO handler returned 1")
        return "\n".join(lines) + "\n"

    def get_run(self, project: str, run_id: str) -> RunRecord:
        with self.lock:
            rec = self.runs.get((project, run_id))
            if rec is None:
                if any(r == run_id for _, r in self.runs):
                    raise DHError(400, "invalid project")
                raise DHError(404, "No such run.")
            if rec.deleted_at is not None and time.time() >= rec.deleted_at + 0.2:
                del self.runs[(project, run_id)]
                raise DHError(404, "No such run.")
            return rec

    def create_run(self, project: str, body: dict[str, Any], user: str) -> RunRecord:
        _found(self.projects, project, "project")
        kind = str(body.get("kind") or "")
        if kind not in RUN_KINDS:
            raise DHError(400, f"unsupported kind: {kind or '(none)'}")
        spec = body.get("spec")
        if not isinstance(spec, dict) or not spec.get("task"):
            raise DHError(400, "spec: missing task")
        m = TASK_PATTERN.match(str(spec["task"]))
        if not m:
            raise DHError(400, "Cannot create accessor for the given task string.")
        if m.group(2) != project:
            raise DHError(400, "invalid project")
        task = self.tasks.get((project, m.group(3)))
        if task is None or task["kind"] != m.group(1):
            raise DHError(400, "invalid task")
        run_id = str(body.get("id") or uuid.uuid4().hex)
        if not SLUG.match(run_id):
            raise DHError(400, f'id: must match "{SLUG.pattern}"')
        now = time.time()
        function = task["spec"]["function"]
        metadata = {**(body.get("metadata") or {}), "project": project, "name": body.get("name") or run_id, "created": iso(now), "updated": iso(now),
                    "created_by": user, "updated_by": user, "relationships": [{"type": "run_of", "dest": function}]}  # fmt: skip
        stored: dict[str, Any] = {
            "id": run_id, "name": body.get("name") or run_id, "kind": kind, "project": project, "user": user,
            "key": f"store://{project}/run/{kind}/{run_id}:{run_id}", "metadata": metadata,
            "spec": {"function": function, "local_execution": False, "inputs": {}, "parameters": {}, **spec}, "extensions": [],
        }  # fmt: skip
        params = stored["spec"].get("parameters") or {}
        params = params if isinstance(params, dict) else {}
        # spec.parameters.duration: this run's own running time (benchmarks end runs at known times)
        duration = float(params["duration"]) if isinstance(params.get("duration"), int | float) else self.run_duration
        rec = RunRecord(stored, now, bool(spec.get("local_execution")), bool(params.get("fail")), duration, self.pending_after)
        with self.lock:  # check and store as one step
            if (project, run_id) in self.runs:
                raise DHError(400, f"Duplicated entity run:{run_id}.")
            self.runs[(project, run_id)] = rec
        return rec


#: Spring Data's default ``max-page-size``: a larger ``size`` is clamped, not refused
MAX_PAGE_SIZE = 2000


def _page(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    total = len(items)
    pages = max(1, -(-total // size)) if size else 1
    content = items[page * size : (page + 1) * size]
    sort = {"empty": False, "sorted": True, "unsorted": False}
    return {
        "content": content, "pageable": {"pageNumber": page, "pageSize": size, "sort": sort, "offset": page * size, "paged": True, "unpaged": False},
        "last": page >= pages - 1, "totalElements": total, "totalPages": pages, "first": page == 0, "size": size, "number": page, "sort": sort,
        "numberOfElements": len(content), "empty": not content,
    }  # fmt: skip


def _found(store: dict[Any, Any], key: Any, noun: str) -> Any:
    """``store[key]``, or DHCore's 404."""
    if key not in store:
        raise DHError(404, f"No such {noun}.")
    return store[key]


def _user(request: Request, auth: str) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        with contextlib.suppress(ValueError):  # not base64, or not UTF-8 inside: wrong credentials
            if base64.b64decode(header[6:]).decode() == f"{BASIC_USER}:{BASIC_PASSWORD}":
                return BASIC_USER
    elif header.lower().startswith("bearer ") and header[7:].strip() == ACCESS_TOKEN:
        return BASIC_USER
    elif auth == "none":
        return "anonymous"
    raise DHError(401, "")


def router(core: DHCore, auth: str) -> APIRouter:
    def who(request: Request) -> None:
        request.state.user = _user(request, auth)

    # every route wants credentials first (Spring Security answers before the controller)
    api = APIRouter(dependencies=[Depends(who)])

    @api.api_route("/api/auth", methods=["GET", "POST"])
    def auth_info(request: Request) -> Any:
        return {"username": request.state.user, "permissions": ["ROLE_ADMIN"]}

    @api.get("/api/v1/projects")
    def list_projects(page: int = 0, size: int = 25) -> Any:
        return _page(list(core.projects.values()), page, size)

    @api.post("/api/v1/projects")
    async def create_project(request: Request) -> Any:
        body = await request.json()
        name = body.get("name") or body.get("id")
        if not name or not re.match(r"^[a-z0-9-]{2,38}$", str(name)):
            raise DHError(400, 'name: must match "^[a-z0-9-]+$" (2..38 chars)')
        if name in core.projects:
            raise DHError(400, f"Duplicated entity project:{name}.")
        project = core.add_project(name, request.state.user)
        project["metadata"].update({k: v for k, v in (body.get("metadata") or {}).items() if k not in ("created", "updated", "created_by", "updated_by")})
        # DHCore stores the spec and state it is sent (the SDK sends the empty lists and CREATED)
        project["spec"] = dict(body.get("spec") or {})
        project["status"] = {**(body.get("status") or {}), "state": str((body.get("status") or {}).get("state") or "CREATED")}
        return project

    @api.get("/api/v1/projects/{name}")
    def get_project(name: str) -> Any:
        return _found(core.projects, name, "project")

    @api.delete("/api/v1/projects/{name}")
    def delete_project(name: str) -> Any:
        if core.projects.pop(name, None) is None:
            raise DHError(404, "No such project.")
        return Response(status_code=200)

    def entity_routes(plural: str) -> None:
        """List, create and get one kind of project entity (functions, tasks)."""
        store: dict[tuple[str, str], dict[str, Any]] = getattr(core, plural)
        noun = plural[:-1]

        @api.get(f"/api/v1/-/{{project}}/{plural}")
        def list_entities(project: str, page: int = 0, size: int = 25, kind: str | None = None, function: str | None = None, name: str | None = None) -> Any:
            items = [e for (p, _), e in store.items() if p == project and (kind is None or e["kind"] == kind) and (name is None or e["name"] == name)
                     and (function is None or e["spec"].get("function") == function)]  # fmt: skip
            return _page(items, page, size)

        @api.post(f"/api/v1/-/{{project}}/{plural}")
        async def create_entity(project: str, request: Request) -> Any:
            _found(core.projects, project, "project")
            body = await request.json()
            if (project, body.get("id")) in store:
                raise DHError(400, f"Duplicated entity {noun}:{body['id']}.")
            fm = re.match(r"^([^:/]+)://([^/]+)/([^:]+):(.+)$", str((body.get("spec") or {}).get("function", "")))
            if plural == "tasks" and (not fm or (project, fm.group(4)) not in core.functions):
                raise DHError(400, "invalid executable entity")
            return core.add_entity(plural, project, body)

        @api.get(f"/api/v1/-/{{project}}/{plural}/{{eid}}")
        def get_entity(project: str, eid: str) -> Any:
            return _found(store, (project, eid), noun)

    for plural in ("functions", "tasks"):
        entity_routes(plural)

    @api.post("/api/v1/-/{project}/runs")
    async def create_run(project: str, request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            raise DHError(400, "Malformed JSON request") from None
        if not isinstance(body, dict):
            raise DHError(400, "Malformed JSON request")
        return core.run_json(core.create_run(project, body, request.state.user), time.time())

    @api.get("/api/v1/-/{project}/runs")
    def list_runs(request: Request, project: str, page: int = 0, size: int = 25, sort: str = "created,DESC") -> Any:
        qp = request.query_params
        now = time.time()
        items = []
        for key in [key for key in list(core.runs) if key[0] == project]:
            with contextlib.suppress(DHError):  # deleted a while ago: reading it forgets it
                items.append(core.run_json(core.get_run(*key), now))

        def keep(run: dict[str, Any]) -> bool:
            spec = run["spec"]
            checks: list[tuple[str, Callable[[str], bool]]] = [
                ("q", lambda v: any(v in str(x) for x in (run["id"], run["name"], spec.get("function", ""), spec.get("workflow", "")))),
                ("name", lambda v: run["name"] == v), ("kind", lambda v: run["kind"] == v), ("user", lambda v: run["user"] == v),
                ("state", lambda v: run["status"]["state"] == v), ("task", lambda v: spec.get("task") == v),
                ("function", lambda v: spec.get("function") == v or v in spec.get("function", "")),
            ]  # fmt: skip
            if "action" in qp and "task" not in qp and qp["action"] not in spec.get("task", ""):
                return False
            return all(name not in qp or test(qp[name]) for name, test in checks)

        items = [r for r in items if keep(r)]
        items.sort(key=lambda r: r["metadata"]["created"], reverse=not sort.upper().endswith("ASC"))
        return _page(items, page, min(size, MAX_PAGE_SIZE))

    run_path = "/api/v1/-/{project}/runs/{run_id}"

    @api.get(run_path)
    def get_run(project: str, run_id: str) -> Any:
        return core.run_json(core.get_run(project, run_id), time.time())

    @api.put(run_path)
    async def update_run(project: str, run_id: str, request: Request) -> Any:
        body = await request.json()
        with core.lock:
            rec = core.get_run(project, run_id)
            if body.get("id", run_id) != run_id:
                raise DHError(400, "id mismatch")
            if rec.timeline(time.time(), core.stop_after)[-1][0] == "CREATED":
                rec.body["spec"] = {**rec.body["spec"], **(body.get("spec") or {})}  # spec is sealed once built
            rec.body["metadata"] = {**rec.body["metadata"], **{k: v for k, v in (body.get("metadata") or {}).items() if k not in ("created", "created_by")},
                                    "updated_by": request.state.user}  # fmt: skip
            sent = (body.get("status") or {}).get("state")
            if sent and rec.local:
                rec.forced_state = sent
            return core.run_json(rec, time.time())

    @api.delete(run_path)
    def delete_run(project: str, run_id: str) -> Any:
        rec = core.get_run(project, run_id)
        rec.deleted_at = time.time()
        return core.run_json(rec, time.time())

    @api.post(run_path + "/{action}")
    def run_action(project: str, run_id: str, action: str) -> Any:
        with core.lock:
            rec = core.get_run(project, run_id)
            now = time.time()
            # invalid transitions are swallowed: 200 with the unchanged run
            if action.lower() == "stop" and rec.timeline(now, core.stop_after)[-1][0] == "RUNNING":
                rec.stopped_at = now
            return core.run_json(rec, now)

    @api.get(run_path + "/logs")
    def logs(project: str, run_id: str) -> Any:
        rec = core.get_run(project, run_id)
        now = time.time()
        lid = f"log{run_id[:24]}"
        text = core.log_text(rec, now)
        return [{"content": base64.b64encode(text.encode()).decode(), "id": lid, "key": f"store://{project}/log/log/{lid}",
                 "metadata": {"project": project, "name": lid, "created": iso(rec.created), "updated": iso(now)}, "name": lid, "project": project,
                 "spec": {"run": run_id, "timestamp": int(now * 1000)}, "status": {"namespace": "digitalhub", "pod": f"j-{run_id}-x7k2p"},
                 "user": rec.body["user"]}]  # fmt: skip

    @api.get(run_path + "/metrics")
    def metrics(project: str, run_id: str) -> Any:
        return core.metrics_of(core.get_run(project, run_id), time.time())

    @api.get(run_path + "/metrics/{name}")
    def metric(project: str, run_id: str, name: str) -> Any:
        return _found(core.metrics_of(core.get_run(project, run_id), time.time()), name, "metric")

    @api.put(run_path + "/metrics/{name}")
    async def put_metric(project: str, run_id: str, name: str, request: Request) -> Any:
        value = await request.json()
        core.get_run(project, run_id).metrics[name] = value
        return Response(status_code=200)

    return api


def create_app(demo: bool = False, auth: str = "required", **knobs: Any) -> Emulator:
    """``auth``: ``required`` (Basic admin / Bearer token) or ``none`` (anything goes, as an open DHCore)."""
    core = DHCore(**knobs)
    core.seed()
    app = FastAPI(title="DHCore emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/.well-known/configuration")
    def well_known(request: Request) -> Any:
        return {"dhcore_endpoint": str(request.base_url).rstrip("/"), "dhcore_name": "emulator", "dhcore_version": API_VERSION,
                "dhcore_api_level": API_LEVEL, "dhcore_api_version": "v1"}  # fmt: skip

    @app.exception_handler(DHError)
    async def dh_error(_: Request, exc: DHError) -> Response:
        if exc.status == 401:
            return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="dhcore"'})
        return JSONResponse({"status": exc.status, "message": exc.message, "errorCode": None}, status_code=exc.status)

    app.include_router(router(core, auth))
    faults = Faults()
    # the API-level headers come with every answer, errors and emulated faults included
    levels = {"X-Api-Level": API_LEVEL, "X-Api-Version": API_VERSION}
    return Emulator(app=FaultInjector(app, faults, fault_body=_fault_body, headers=levels), state=core, faults=faults)


def _fault_body(status: int, headers: dict[str, str]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """An emulated fault as DHCore answers errors: its ErrorResponse, with the fault named in the message
    (the emulator's own credential refusals answer 401 with Spring Security's empty body)."""
    return json.dumps({"status": status, "message": f"emulated fault {status}", "errorCode": None}).encode(), []


def connection(url: str, auth: str = "basic") -> dict[str, Any]:
    if auth == "token":
        return {"conn_type": "digitalhub", "host": url, "password": ACCESS_TOKEN, "extra": {"auth_type": "token"}}
    return {"conn_type": "digitalhub", "host": url, "login": BASIC_USER, "password": BASIC_PASSWORD, "extra": {"auth_type": "basic"}}
