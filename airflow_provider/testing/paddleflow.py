"""PaddleFlow emulator (reference/paddleflow.md): login and tokens, runs with their state machine,
stop/retry/delete rules, YAML validation with PaddleFlow-style errors, logs with paging, pipelines
and versions, and schedules that create runs when the clock is advanced (``state.advance(s)``).

Knobs: ``run_duration``, ``pending_after``, ``stop_after`` (seconds). A step whose command contains
``exit 1`` fails the run, except in a retried run (so "retry on failure" can be shown).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider.testing import Emulator
from airflow_provider.testing.server import FaultInjector, Faults

PREFIX = "/api/paddleflow/v1"
# a real server ships root/paddleflow; the emulator uses a password that cannot appear in logs by accident
ROOT_USER, ROOT_PASSWORD = "root", "pf-root-secret-7c21"
TOP_KEYS = {"name", "docker_env", "entry_points", "components", "cache", "parallelism", "disabled", "failure_options", "post_process", "fs_options"}
RUN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
SCHEDULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{1,49}$")
FINAL = {"failed", "succeeded", "terminated", "skipped"}
DEMO_YAML = """name: demo_pipeline
docker_env: python:3.9-slim
entry_points:
  prepare:
    command: echo "preparing {{who}}"
    parameters:
      who: world
  train:
    deps: prepare
    command: python -c "print('epoch', {{epoch}})"
    parameters:
      epoch: 3
"""
FLAKY_YAML = """name: flaky_pipeline
docker_env: python:3.9-slim
entry_points:
  fetch:
    command: echo fetching
  unstable:
    deps: fetch
    command: exit 1
"""


class PFError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def local(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def parse_yaml(text: str, request_params: dict[str, Any] | None = None, name: str | None = None) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PFError(400, "InvalidPipeline", f"pipeline yaml is invalid: {exc}") from None
    if not isinstance(doc, dict):
        raise PFError(400, "InvalidPipeline", "pipeline yaml must be a map")
    extra = set(doc) - TOP_KEYS
    if extra:
        raise PFError(400, "InvalidPipeline", f"workflow has no attribute [{sorted(extra)[0]}]")
    steps = doc.get("entry_points")
    if not isinstance(steps, dict) or not steps:
        raise PFError(400, "InvalidPipeline", "entry_points is required and must not be empty")
    run_name = name or doc.get("name")
    if not run_name or not RUN_NAME.match(str(run_name)):
        raise PFError(400, "InvalidNamePattern", f"name[{run_name}] is invalid: must match {RUN_NAME.pattern}")
    known = {p for s in steps.values() if isinstance(s, dict) for p in (s.get("parameters") or {})}
    for key in request_params or {}:
        if key.split(".")[-1] not in known:
            raise PFError(400, "InvalidPipeline", f"param[{key}] not exist")
    for step_name, step in steps.items():
        deps = [d.strip() for d in str((step or {}).get("deps") or "").split(",") if d.strip()]
        for dep in deps:
            if dep not in steps:
                raise PFError(400, "InvalidPipeline", f"component [{step_name}] has non-existent deps [{dep}]")
    strategy = (doc.get("failure_options") or {}).get("strategy", "fail_fast")
    if strategy not in ("fail_fast", "continue"):
        raise PFError(400, "InvalidPipeline", f"failure strategy [{strategy}] is invalid")
    return {**doc, "name": run_name}


@dataclass
class PFRun:
    run_id: str
    name: str
    yaml: str
    doc: dict[str, Any]
    username: str
    source: str
    created: float
    duration: float
    pending_after: float
    parameters: dict[str, Any]
    description: str = ""
    fs_name: str = ""
    schedule_id: str = ""
    scheduled_at: float | None = None
    retry_of: str | None = None
    stopped_at: float | None = None
    skipped: bool = False
    job_suffix: str = field(default_factory=lambda: secrets.token_hex(4))

    def steps(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self.doc["entry_points"].items())

    def fails(self) -> bool:
        return self.retry_of is None and any("exit 1" in str((s or {}).get("command", "")) for _, s in self.steps())

    def status(self, now: float, stop_after: float) -> str:
        if self.skipped:
            return "skipped"
        running_at = self.created + self.pending_after
        end = running_at + self.duration
        if self.stopped_at is not None and self.stopped_at < end:
            return "terminated" if now >= self.stopped_at + stop_after else "terminating"
        if now < running_at:
            return "pending"
        if now < end:
            return "running"
        return "failed" if self.fails() else "succeeded"

    def job_views(self, now: float, stop_after: float) -> dict[str, list[dict[str, Any]]]:
        status = self.status(now, stop_after)
        running_at = self.created + self.pending_after
        slot = self.duration / len(self.steps())
        out = {}
        failing_seen = False
        for i, (step_name, step) in enumerate(self.steps()):
            begin, finish = running_at + i * slot, running_at + (i + 1) * slot
            if (now < begin and status not in FINAL) or failing_seen:
                continue
            if status in ("terminating", "terminated") and self.stopped_at is not None and self.stopped_at < begin:
                continue
            fails = self.fails() and "exit 1" in str((step or {}).get("command", ""))
            if now >= finish:
                job_status = "failed" if fails else "succeeded"
                failing_seen = failing_seen or fails
            elif status in ("terminating", "terminated"):
                job_status = status
            else:
                job_status = "running"
            out[step_name] = [{
                "jobID": f"job-{self.run_id}-{step_name}-{self.job_suffix}", "name": f"{self.run_id}-{step_name}", "type": "step", "stepName": step_name,
                "parentDagID": "", "command": (step or {}).get("command", ""), "parameters": {k: str(v) for k, v in ((step or {}).get("parameters") or {}).items()},
                "env": {}, "extraFS": [], "startTime": local(begin), "endTime": local(finish) if job_status in ("succeeded", "failed", "terminated") else "",
                "status": job_status, "deps": str((step or {}).get("deps") or ""), "dockerEnv": self.doc.get("docker_env", ""),
                "artifacts": {"input": {}, "output": {}}, "cache": {"enable": False, "maxExpiredTime": "-1", "fsScope": ""},
                "jobMessage": "exit status 1" if job_status == "failed" else "", "cacheRunID": "", "cacheJobID": "",
            }]  # fmt: skip
        return out

    def brief(self, now: float, stop_after: float) -> dict[str, Any]:
        status = self.status(now, stop_after)
        return {"runID": self.run_id, "name": self.name, "source": self.source, "username": self.username, "fsName": self.fs_name,
                "description": self.description, "scheduleID": self.schedule_id, "runMsg": RUN_MSG.get(status, ""), "status": status,
                "scheduledTime": local(self.scheduled_at), "createTime": local(self.created),
                "activateTime": local(self.created + self.pending_after) if status not in ("pending", "skipped") else "", "updateTime": local(now)}  # fmt: skip


RUN_MSG = {"running": "begin to running, update status to running", "succeeded": "Run successfully",
           "failed": "update status to failed because some step or dag run failed", "terminating": "receive termination signal, update status to terminating"}  # fmt: skip


@dataclass
class PFSchedule:
    schedule_id: str
    name: str
    pipeline_id: str
    version_id: str
    crontab: str
    every: float
    username: str
    created: float
    desc: str = ""
    concurrency: int = 0
    policy: str = "suspend"
    expire_interval: int = 0
    catchup: bool = True
    status: str = "running"
    last_fire: float = 0.0


class PaddleFlowState:
    def __init__(self, run_duration: float = 1.0, pending_after: float = 0.2, stop_after: float = 0.2) -> None:
        self.lock = threading.RLock()
        self.run_duration, self.pending_after, self.stop_after = run_duration, pending_after, stop_after
        self.users: dict[str, str] = {ROOT_USER: ROOT_PASSWORD}
        self.tokens: dict[str, str] = {}
        self.runs: dict[str, PFRun] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.schedules: dict[str, PFSchedule] = {}
        self.clock_offset = 0.0
        self._seq = {"run": 0, "ppl": 0, "schedule": 0}

    def now(self) -> float:
        return time.time() + self.clock_offset

    def next_id(self, kind: str) -> str:
        self._seq[kind] += 1
        return f"{kind}-{self._seq[kind]:06d}"

    def invalidate_tokens(self) -> None:
        """As a password change does: every token in use stops working at once."""
        self.tokens.clear()

    def advance(self, seconds: float) -> None:
        """Move the schedulers' clock forward (runs still execute in real time)."""
        self.clock_offset += seconds
        self.tick()

    def user(self, request: Request) -> str:
        token = request.headers.get("x-pf-authorization")
        if not token:
            raise PFError(400, "AuthWithoutToken", "Request should login first")
        user = self.tokens.get(token)
        if user is None:
            raise PFError(400, "AuthInvalidToken", "Invalid token. Please re-login")
        return user

    def run(self, run_id: str) -> PFRun:
        found = self.runs.get(run_id)
        if found is None:
            raise PFError(404, "RunNotFound", f"resouceType[run] with ID[{run_id}] not found")
        return found

    def create_run(self, doc: dict[str, Any], text: str, user: str, source: str, params: dict[str, Any], **extra: Any) -> PFRun:
        run = PFRun(self.next_id("run"), doc["name"], text, doc, user, source, time.time(), self.run_duration, self.pending_after, params, **extra)
        self.runs[run.run_id] = run
        return run

    def pipeline(self, ppl_id: str) -> dict[str, Any]:
        found = self.pipelines.get(ppl_id)
        if found is None:
            raise PFError(404, "PipelineNotFound", f"resouceType[pipeline] with ID[{ppl_id}] not found")
        return found

    def add_pipeline(self, text: str, user: str, desc: str = "") -> dict[str, Any]:
        doc = parse_yaml(text)
        if any(p["name"] == doc["name"] and p["username"] == user for p in self.pipelines.values()):
            raise PFError(400, "DuplicatedName", f"CreatePipeline failed: user[{user}] already has pipeline[{doc['name']}], cannot create again!")
        ppl_id = self.next_id("ppl")
        now = local(time.time())
        ppl = {"pipelineID": ppl_id, "name": doc["name"], "desc": desc, "username": user, "createTime": now, "updateTime": now, "versions": {}}
        self.pipelines[ppl_id] = ppl
        self.add_version(ppl, text, user)
        return ppl

    def add_version(self, ppl: dict[str, Any], text: str, user: str) -> str:
        doc = parse_yaml(text)
        if doc["name"] != ppl["name"]:
            raise PFError(400, "InvalidPipeline", f"name[{doc['name']}] in yaml not the same as name[{ppl['name']}] of pipeline")
        ver = str(len(ppl["versions"]) + 1)
        now = local(time.time())
        ppl["versions"][ver] = {"pipelineVersionID": ver, "pipelineID": ppl["pipelineID"], "fsName": "", "yamlPath": "", "pipelineYaml": text,
                                "username": user, "createTime": now, "updateTime": now}  # fmt: skip
        return ver

    def tick(self) -> None:
        """Fire due schedules: one run per missed fire time, bounded by concurrency and expireInterval."""
        now = self.now()
        for sch in self.schedules.values():
            if sch.status != "running":
                continue
            while sch.last_fire + sch.every <= now:
                fire = sch.last_fire + sch.every
                ppl = self.pipelines.get(sch.pipeline_id)
                version = ppl["versions"].get(sch.version_id) if ppl else None
                if version is None:
                    sch.status = "failed"
                    break
                active = [r for r in self.runs.values() if r.schedule_id == sch.schedule_id and r.status(time.time(), self.stop_after) not in FINAL]
                expired = sch.expire_interval and fire < now - sch.expire_interval
                over = sch.concurrency and len(active) >= sch.concurrency
                if over and sch.policy == "suspend" and not expired:
                    break  # wait for a slot; the missed fire times run later
                if over and sch.policy == "replace":
                    for old in active[: len(active) - sch.concurrency + 1]:
                        old.stopped_at = time.time()
                    over = False
                doc = parse_yaml(version["pipelineYaml"])
                run = self.create_run({**doc, "name": sch.name}, version["pipelineYaml"], sch.username, f"{sch.pipeline_id}-{sch.version_id}", {},
                                      description=sch.desc, schedule_id=sch.schedule_id, scheduled_at=fire)  # fmt: skip
                run.skipped = bool(expired or over)
                sch.last_fire = fire


def _yaml_from(body: dict[str, Any], key: str) -> str | None:
    raw = body.get(key)
    if not raw:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise PFError(400, "MalformedYaml", "Decode base64 failed") from None


def _page(items: list[Any], list_key: str, request: Request) -> dict[str, Any]:
    try:
        max_keys = int(request.query_params.get("maxKeys", 50))
    except ValueError:
        raise PFError(400, "InvalidURI", "maxKeys is invalid") from None
    if not 1 <= max_keys <= 1000:
        raise PFError(400, "InvalidURI", f"maxKeys[{max_keys}] is invalid")
    marker = request.query_params.get("marker") or ""
    start = 0
    if marker:
        try:
            start = int(base64.b64decode(marker).decode())
        except (ValueError, UnicodeDecodeError):
            raise PFError(400, "InvalidMarker", f"marker[{marker}] is invalid") from None
    page = items[start : start + max_keys]
    out: dict[str, Any] = {"maxKeys": max_keys, "isTruncated": start + max_keys < len(items), list_key: page}
    if out["isTruncated"]:
        out["nextMarker"] = base64.b64encode(str(start + max_keys).encode()).decode()
    return out


def _csv(request: Request, name: str) -> set[str] | None:
    value = request.query_params.get(name)
    return {v for v in value.split(",") if v} if value else None


def router(state: PaddleFlowState) -> APIRouter:
    api = APIRouter(prefix=PREFIX)

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = __import__("json").loads(raw)
        except ValueError:
            raise PFError(400, "MalformedJSON", "request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise PFError(400, "MalformedJSON", "request body must be a JSON object")
        # Go decodes field names case-insensitively ("fsname" fills fsName)
        return {k.lower(): v for k, v in data.items()}

    @api.post("/login")
    async def login(request: Request) -> Any:
        body = await body_of(request)
        name, password = body.get("username"), body.get("password")
        if name not in state.users:
            raise PFError(400, "UserNotExist", "User not exist")
        if state.users[name] != password:
            raise PFError(400, "AuthFailed", "Username or password not correct")
        token = "eyJ" + secrets.token_urlsafe(24)
        state.tokens[token] = name
        return {"authorization": token}

    @api.post("/run")
    async def create_run(request: Request) -> Any:
        user = state.user(request)
        body = await body_of(request)
        params = body.get("parameters") or {}
        text = _yaml_from(body, "runyamlraw")
        source = ""
        if text is not None:
            source = hashlib.md5(text.encode()).hexdigest()
        elif body.get("pipelineid"):
            ppl = state.pipeline(body["pipelineid"])
            ver = body.get("pipelineversionid") or str(len(ppl["versions"]))
            version = ppl["versions"].get(ver)
            if version is None:
                raise PFError(404, "PipelineNotFound", f"pipeline[{ppl['pipelineID']}] version[{ver}] not found")
            text, source = version["pipelineYaml"], f"{ppl['pipelineID']}-{ver}"
        elif not body.get("fsname"):
            raise PFError(400, "InvalidArguments", "can not get runYaml without fs")
        else:
            raise PFError(400, "ReadYamlFileFailed", f"read yaml file [{body.get('runyamlpath') or './run.yaml'}] failed: no such file in the emulated fs")
        doc = parse_yaml(text, params, body.get("name"))
        if body.get("dockerenv"):
            doc["docker_env"] = body["dockerenv"]
        for disabled in [d for d in str(body.get("disabled") or "").split(",") if d]:
            if disabled not in doc["entry_points"]:
                raise PFError(400, "InvalidPipeline", f"disabled component[{disabled}] not exist")
            doc["entry_points"].pop(disabled)
        with state.lock:
            run = state.create_run(doc, text, user, source, params, description=body.get("desc") or "", fs_name=body.get("fsname") or "")
        return JSONResponse({"runID": run.run_id}, status_code=201)

    @api.get("/run")
    def list_runs(request: Request) -> Any:
        user = state.user(request)
        now = time.time()
        filters = {k: _csv(request, k) for k in ("userFilter", "fsFilter", "runFilter", "nameFilter", "statusFilter")}
        if user != ROOT_USER:
            filters["userFilter"] = {user}
        items = []
        for run in state.runs.values():
            brief = run.brief(now, state.stop_after)
            checks = [
                ("userFilter", brief["username"]),
                ("fsFilter", brief["fsName"]),
                ("runFilter", brief["runID"]),
                ("nameFilter", brief["name"]),
                ("statusFilter", brief["status"]),
            ]
            if all(filters[k] is None or v in filters[k] for k, v in checks):
                items.append(brief)
        return _page(items, "runList", request)

    @api.get("/run/{run_id}")
    def show_run(run_id: str, request: Request) -> Any:
        state.user(request)
        run = state.run(run_id)
        now = time.time()
        brief = run.brief(now, state.stop_after)
        return {**{k: brief[k] for k in ("runID", "name", "source", "username", "fsName", "description", "scheduleID", "runMsg", "status", "createTime", "activateTime", "updateTime")},
                "fsOptions": {"mainFS": {"id": "", "name": run.fs_name, "mountPath": "", "subPath": "", "readOnly": False}},
                "parameters": run.parameters or None, "runYaml": run.yaml, "runtime": run.job_views(now, state.stop_after), "postProcess": {},
                "failureOptions": {"strategy": (run.doc.get("failure_options") or {}).get("strategy", "fail_fast")}, "dockerEnv": run.doc.get("docker_env", ""),
                "disabled": "", "runCachedIDs": ""}  # fmt: skip

    @api.put("/run/{run_id}")
    async def run_action(run_id: str, request: Request, action: str = "") -> Any:
        state.user(request)
        run = state.run(run_id)
        status = run.status(time.time(), state.stop_after)
        if action == "stop":
            body = await body_of(request)
            if status in FINAL or (status == "terminating" and not body.get("stopforce")):
                raise PFError(403, "ActionNotAllowed", f"run[{run_id}] is in status[{status}], can not be stopped")
            run.stopped_at = time.time()
            return Response(status_code=200)
        if action == "retry":
            if status not in ("failed", "terminated"):
                raise PFError(403, "ActionNotAllowed", f"run[{run_id}] has status[{status}], no need to retry")
            with state.lock:
                new = state.create_run(run.doc, run.yaml, run.username, run.source, run.parameters, description=run.description, fs_name=run.fs_name)
                new.retry_of = run_id
            return {"runID": new.run_id}
        raise PFError(400, "InvalidURI", f"action[{action}] is not supported")

    @api.delete("/run/{run_id}")
    def delete_run(run_id: str, request: Request) -> Any:
        state.user(request)
        run = state.run(run_id)
        status = run.status(time.time(), state.stop_after)
        if status not in FINAL:
            raise PFError(403, "ActionNotAllowed", f"run[{run_id}] is in status[{status}], only final runs can be deleted")
        del state.runs[run_id]
        return Response(status_code=200)

    @api.get("/log/run/{run_id}")
    def run_log(run_id: str, request: Request, jobID: str = "", pageNo: str = "1", pageSize: str = "100", logFilePosition: str = "end") -> Any:
        state.user(request)
        run = state.run(run_id)
        try:
            page_no, page_size = max(1, int(pageNo or 1)), int(pageSize or 100)
        except ValueError:
            raise PFError(400, "InvalidURI", "pageNo or pageSize is not a number") from None
        if page_size > 100:
            raise PFError(400, "InvalidURI", "LogPageSize over max value")
        if logFilePosition not in ("end", "begin"):
            raise PFError(400, "InvalidURI", f"logFilePosition[{logFilePosition}] is invalid")
        now = time.time()
        jobs = []
        for views in run.job_views(now, state.stop_after).values():
            view = views[0]
            if jobID and view["jobID"] != jobID:
                continue
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
            lines = [f"{stamp} {view['stepName']}: line {i}" for i in range(1, 251)]
            if view["status"] == "failed":
                lines += [f"{stamp} Traceback (most recent call last):", f"{stamp} RuntimeError: step {view['stepName']} exited with status 1"]
            if logFilePosition == "end":
                end = len(lines) - (page_no - 1) * page_size
                chunk, more = lines[max(0, end - page_size) : max(0, end)], end - page_size > 0
            else:
                chunk, more = lines[(page_no - 1) * page_size : page_no * page_size], page_no * page_size < len(lines)
            content = "\n".join(chunk) + ("\n" if chunk else "")
            jobs.append({"jobID": view["jobID"], "taskList": [{"taskID": f"{uuid.uuid4()}_main", "logInfo": {"logContent": content, "hasNextPage": more, "truncated": False}}],
                         "name": "", "type": "", "eventList": None})  # fmt: skip
        return {"submitLog": f"[{local(run.created)}.00] [INFO] {run_id} create run in db success", "runLog": jobs, "runID": run_id}

    @api.post("/pipeline")
    async def create_pipeline(request: Request) -> Any:
        user = state.user(request)
        body = await body_of(request)
        text = _yaml_from(body, "yamlraw")
        if text is not None and body.get("fsname"):
            raise PFError(400, "InvalidArguments", "yamlRaw and fsName can not be set at the same time")
        if text is None:
            raise PFError(400, "InvalidArguments", "can not read yaml without fs (the emulator has no fs): send yamlRaw")
        if len(body.get("desc") or "") > 256:
            raise PFError(400, "InvalidArguments", "desc too long, should be less than 256")
        with state.lock:
            ppl = state.add_pipeline(text, user, body.get("desc") or "")
        return JSONResponse({"pipelineID": ppl["pipelineID"], "pipelineVersionID": "1", "name": ppl["name"]}, status_code=201)

    @api.post("/pipeline/{ppl_id}")
    async def update_pipeline(ppl_id: str, request: Request) -> Any:
        user = state.user(request)
        body = await body_of(request)
        ppl = state.pipeline(ppl_id)
        text = _yaml_from(body, "yamlraw")
        if text is None:
            raise PFError(400, "InvalidArguments", "send yamlRaw")
        with state.lock:
            ver = state.add_version(ppl, text, user)
        return JSONResponse({"pipelineID": ppl_id, "pipelineVersionID": ver}, status_code=201)

    def brief(ppl: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ppl.items() if k != "versions"}

    @api.get("/pipeline")
    def list_pipelines(request: Request) -> Any:
        user = state.user(request)
        users, names = _csv(request, "userFilter"), _csv(request, "nameFilter")
        if users and user != ROOT_USER:
            raise PFError(403, "AccessDenied", "only root user can set userFilter!")
        items = [brief(p) for p in state.pipelines.values() if (not users or p["username"] in users) and (not names or p["name"] in names)]
        return _page(items, "pipelineList", request)

    @api.get("/pipeline/{ppl_id}")
    def show_pipeline(ppl_id: str, request: Request) -> Any:
        state.user(request)
        ppl = state.pipeline(ppl_id)
        return {"pipeline": brief(ppl), "pplVersions": _page(list(ppl["versions"].values()), "pplVersionList", request)}

    @api.delete("/pipeline/{ppl_id}")
    def delete_pipeline(ppl_id: str, request: Request) -> Any:
        state.user(request)
        state.pipeline(ppl_id)
        if any(s.pipeline_id == ppl_id and s.status == "running" for s in state.schedules.values()):
            raise PFError(403, "ActionNotAllowed", f"delete pipeline[{ppl_id}] failed, there are running schedules using it")
        del state.pipelines[ppl_id]
        return Response(status_code=200)

    @api.get("/pipeline/{ppl_id}/{ver}")
    def show_version(ppl_id: str, ver: str, request: Request) -> Any:
        state.user(request)
        ppl = state.pipeline(ppl_id)
        if ver not in ppl["versions"]:
            raise PFError(404, "PipelineNotFound", f"pipeline[{ppl_id}] version[{ver}] not found")
        return {"pipeline": brief(ppl), "pipelineVersion": ppl["versions"][ver]}

    @api.delete("/pipeline/{ppl_id}/{ver}")
    def delete_version(ppl_id: str, ver: str, request: Request) -> Any:
        state.user(request)
        ppl = state.pipeline(ppl_id)
        if ver not in ppl["versions"]:
            raise PFError(404, "PipelineNotFound", f"pipeline[{ppl_id}] version[{ver}] not found")
        if len(ppl["versions"]) == 1:
            raise PFError(403, "ActionNotAllowed", "only one pipeline version left, pls delete pipeline instead")
        del ppl["versions"][ver]
        return Response(status_code=200)

    def schedule_view(sch: PFSchedule, request: Request | None = None) -> dict[str, Any]:
        return {"scheduleID": sch.schedule_id, "name": sch.name, "desc": sch.desc, "pipelineID": sch.pipeline_id, "pipelineVersionID": sch.version_id,
                "username": sch.username, "fsConfig": {"username": sch.username}, "crontab": sch.crontab,
                "options": {"catchup": sch.catchup, "expireInterval": sch.expire_interval, "concurrency": sch.concurrency, "concurrencyPolicy": sch.policy},
                "startTime": "", "endTime": "", "createTime": local(sch.created), "updateTime": local(state.now()),
                "nextRunTime": local(sch.last_fire + sch.every) if sch.status == "running" else "", "scheduleMsg": "", "status": sch.status}  # fmt: skip

    @api.post("/schedule")
    async def create_schedule(request: Request) -> Any:
        user = state.user(request)
        body = await body_of(request)
        name = str(body.get("name") or "")
        if not SCHEDULE_NAME.match(name):
            raise PFError(400, "InvalidArguments", f"name[{name}] of schedule is invalid, must match {SCHEDULE_NAME.pattern}")
        if any(s.name == name and s.username == user for s in state.schedules.values()):
            raise PFError(400, "DuplicatedName", f"schedule name[{name}] already exists")
        ppl = state.pipeline(str(body.get("pipelineid") or ""))
        ver = str(body.get("pipelineversionid") or "")
        if ver not in ppl["versions"]:
            raise PFError(404, "PipelineNotFound", f"pipeline[{ppl['pipelineID']}] version[{ver}] not found")
        policy = body.get("concurrencypolicy") or "suspend"
        if policy not in ("suspend", "replace", "skip"):
            raise PFError(400, "InvalidArguments", f"concurrency policy[{policy}] not supported")
        every = _every(str(body.get("crontab") or ""))
        with state.lock:
            sch = PFSchedule(state.next_id("schedule"), name, ppl["pipelineID"], ver, body["crontab"], every, user, state.now(), body.get("desc") or "",
                             int(body.get("concurrency") or 0), policy, int(body.get("expireinterval") or 0), bool(body.get("catchup", True)))  # fmt: skip
            sch.last_fire = state.now()
            state.schedules[sch.schedule_id] = sch
        return JSONResponse({"scheduleID": sch.schedule_id}, status_code=201)

    @api.get("/schedule")
    def list_schedules(request: Request) -> Any:
        state.user(request)
        state.tick()
        f = {k: _csv(request, k) for k in ("userFilter", "pplFilter", "pplVersionFilter", "scheduleFilter", "nameFilter", "statusFilter")}
        items = [schedule_view(s) for s in state.schedules.values()
                 if all(f[k] is None or v in f[k] for k, v in (("userFilter", s.username), ("pplFilter", s.pipeline_id), ("pplVersionFilter", s.version_id),
                                                              ("scheduleFilter", s.schedule_id), ("nameFilter", s.name), ("statusFilter", s.status)))]  # fmt: skip
        return _page(items, "scheduleList", request)

    @api.get("/schedule/{schedule_id}")
    def show_schedule(schedule_id: str, request: Request) -> Any:
        state.user(request)
        state.tick()
        sch = state.schedules.get(schedule_id)
        if sch is None:
            raise PFError(404, "ScheduleNotFound", f"resouceType[schedule] with ID[{schedule_id}] not found")
        statuses = _csv(request, "statusFilter")
        runs = [r.brief(time.time(), state.stop_after) for r in state.runs.values() if r.schedule_id == schedule_id]
        runs = [r for r in runs if not statuses or r["status"] in statuses]
        return {**schedule_view(sch), "runs": _page(runs, "runList", request)}

    @api.put("/schedule/{schedule_id}")
    def stop_schedule(schedule_id: str, request: Request) -> Any:
        state.user(request)
        sch = state.schedules.get(schedule_id)
        if sch is None:
            raise PFError(404, "ScheduleNotFound", f"resouceType[schedule] with ID[{schedule_id}] not found")
        if sch.status != "running":
            raise PFError(403, "ActionNotAllowed", f"stop schedule[{schedule_id}] failed, already in status[{sch.status}]")
        sch.status = "terminated"
        return Response(status_code=200)

    @api.delete("/schedule/{schedule_id}")
    def delete_schedule(schedule_id: str, request: Request) -> Any:
        state.user(request)
        sch = state.schedules.get(schedule_id)
        if sch is None:
            raise PFError(404, "ScheduleNotFound", f"resouceType[schedule] with ID[{schedule_id}] not found")
        if sch.status == "running":
            raise PFError(403, "ActionNotAllowed", f"delete schedule[{schedule_id}] failed, only final schedules can be deleted: stop it first")
        del state.schedules[schedule_id]
        return Response(status_code=200)

    return api


def _every(crontab: str) -> float:
    """Seconds between fires, for the crontab forms the emulator understands."""
    m = re.fullmatch(r"@every (\d+)([smh])", crontab.strip())
    if m:
        return int(m[1]) * {"s": 1, "m": 60, "h": 3600}[m[2]]
    named = {"@hourly": 3600, "@daily": 86400, "@weekly": 604800}
    if crontab.strip() in named:
        return named[crontab.strip()]
    m = re.fullmatch(r"\*/(\d+) \* \* \* \*", crontab.strip())
    if m:
        return int(m[1]) * 60
    if re.fullmatch(r"\d+ \* \* \* \*", crontab.strip()):
        return 3600
    if crontab.strip() == "* * * * *":
        return 60
    raise PFError(400, "InvalidArguments", f"crontab[{crontab}] is invalid (the emulator understands @every Ns/m/h, @hourly, @daily, */N * * * *)")


def create_app(demo: bool = False, **knobs: Any) -> Emulator:
    state = PaddleFlowState(**knobs)
    if demo:
        state.add_pipeline(FLAKY_YAML, ROOT_USER, "a pipeline whose step fails on the first try")
    app = FastAPI(title="PaddleFlow emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(PFError)
    async def pf_error(request: Request, exc: PFError) -> JSONResponse:
        rid = request.headers.get("x-pf-request-id") or str(uuid.uuid4())
        return JSONResponse({"requestID": rid, "code": exc.code, "message": exc.message}, status_code=exc.status, headers={"x-pf-request-id": rid})

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("x-pf-request-id", request.headers.get("x-pf-request-id") or str(uuid.uuid4()))
        return response

    app.include_router(router(state))
    faults = Faults()
    return Emulator(app=FaultInjector(app, faults), state=state, faults=faults)


def connection(url: str, login: str = ROOT_USER, password: str = ROOT_PASSWORD) -> dict[str, Any]:
    return {"conn_type": "paddleflow", "host": url, "login": login, "password": password}
