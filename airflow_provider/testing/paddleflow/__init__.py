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
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider.testing import Emulator
from airflow_provider.testing.resources import Routes, Table, wanted, where
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


def _refuse(failed: object, status: int, code: str, message: str) -> None:
    """The one error path of the checks: raise the platform's error when ``failed`` holds."""
    if failed:
        raise PFError(status, code, message)


def local(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def parse_yaml(text: str, request_params: dict[str, Any] | None = None, name: str | None = None) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PFError(400, "InvalidPipeline", f"pipeline yaml is invalid: {exc}") from None
    _refuse(not isinstance(doc, dict), 400, "InvalidPipeline", "pipeline yaml must be a map")
    extra = set(doc) - TOP_KEYS
    _refuse(extra, 400, "InvalidPipeline", f"workflow has no attribute [{min(extra, default='')}]")
    steps = doc.get("entry_points")
    _refuse(not isinstance(steps, dict) or not steps, 400, "InvalidPipeline", "entry_points is required and must not be empty")
    run_name = name or doc.get("name")
    _refuse(not run_name or not RUN_NAME.match(str(run_name)), 400, "InvalidNamePattern", f"name[{run_name}] is invalid: must match {RUN_NAME.pattern}")
    known = {p for s in steps.values() if isinstance(s, dict) for p in (s.get("parameters") or {})}
    for key in request_params or {}:
        _refuse(key.split(".")[-1] not in known, 400, "InvalidPipeline", f"param[{key}] not exist")
    for step_name, step in steps.items():
        deps = [d.strip() for d in str((step or {}).get("deps") or "").split(",") if d.strip()]
        for dep in deps:
            _refuse(dep not in steps, 400, "InvalidPipeline", f"component [{step_name}] has non-existent deps [{dep}]")
    strategy = (doc.get("failure_options") or {}).get("strategy", "fail_fast")
    _refuse(strategy not in ("fail_fast", "continue"), 400, "InvalidPipeline", f"failure strategy [{strategy}] is invalid")
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
    username: str
    created: float
    desc: str = ""
    concurrency: int = 0
    policy: str = "suspend"
    expire_interval: int = 0
    catchup: bool = True
    status: str = "running"
    last_fire: float = 0.0


def _missing(code: str, template: str) -> Callable[[str], PFError]:
    return lambda key: PFError(404, code, template.format(key))


def _stamped(**record: Any) -> dict[str, Any]:
    now = local(time.time())
    return {**record, "createTime": now, "updateTime": now}


class PaddleFlowState:
    def __init__(self, run_duration: float = 1.0, pending_after: float = 0.2, stop_after: float = 0.2) -> None:
        self.lock = threading.RLock()
        self.run_duration, self.pending_after, self.stop_after = run_duration, pending_after, stop_after
        self.users: dict[str, str] = {ROOT_USER: ROOT_PASSWORD}
        self.tokens: dict[str, str] = {}
        #: successful logins so far (tests check that many triggers share one)
        self.logins = 0
        self.clock_offset = 0.0
        self.runs = Table(_missing("RunNotFound", "resouceType[run] with ID[{}] not found"), "run-{:06d}")
        self.pipelines = Table(_missing("PipelineNotFound", "resouceType[pipeline] with ID[{}] not found"), "ppl-{:06d}")
        self.schedules = Table(_missing("ScheduleNotFound", "resouceType[schedule] with ID[{}] not found"), "schedule-{:06d}")
        # administration, storage and tracking
        self.queues = Table(_missing("RecordNotFound", "queue[{}] not found"))
        self.flavours = Table(_missing("FlavourNotFound", "flavour[{}] not found"), "flavour-{:06d}")
        self.clusters = Table(_missing("RecordNotFound", "cluster[{}] not found"))
        self.fs = Table(_missing("FileSystemNotExist", "fs[{}] not exist"))
        self.caches = Table(_missing("RunCacheNotFound", "resouceType[runCache] with ID[{}] not found"), "cch-{:06d}")
        self.grants: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.artifacts: list[dict[str, Any]] = []

    def now(self) -> float:
        return time.time() + self.clock_offset

    def invalidate_tokens(self) -> None:
        """As a password change does: every token in use stops working at once."""
        self.tokens.clear()

    def advance(self, seconds: float) -> None:
        """Move the schedulers' clock forward (runs still execute in real time)."""
        self.clock_offset += seconds
        self.tick()

    def user(self, request: Request) -> str:
        token = request.headers.get("x-pf-authorization", "")
        _refuse(not token, 400, "AuthWithoutToken", "Request should login first")
        _refuse(token not in self.tokens, 400, "AuthInvalidToken", "Invalid token. Please re-login")
        return self.tokens[token]

    def root(self, request: Request) -> str:
        user = self.user(request)
        _refuse(user != ROOT_USER, 403, "OnlyRootAllowed", "only root is allowed to do this")
        return user

    def create_run(self, doc: dict[str, Any], text: str, user: str, source: str, params: dict[str, Any], **extra: Any) -> PFRun:
        # a numeric run parameter ``duration`` sets this run's running time (benchmarks end runs at known times)
        duration = float(params["duration"]) if isinstance(params.get("duration"), int | float) else self.run_duration
        run = PFRun(self.runs.new_id(), doc["name"], text, doc, user, source, time.time(), duration, self.pending_after, params, **extra)
        self.runs[run.run_id] = run
        self.record_tracking(run)
        return run

    def record_tracking(self, run: PFRun) -> None:
        """What a real run with cache and artifacts leaves behind: one cache entry and output artifacts per step."""
        for step_name, _ in run.steps():
            job_id = f"job-{run.run_id}-{step_name}-{run.job_suffix}"
            cache_id = self.caches.new_id()
            self.caches[cache_id] = _stamped(cacheID=cache_id, firstFp=secrets.token_hex(8), secondFp=secrets.token_hex(8), runID=run.run_id,
                                             source=run.source, jobID=job_id, fsname=run.fs_name, username=run.username, expiredTime="-1",
                                             strategy="conservative", custom={})  # fmt: skip
            self.artifacts.append(_stamped(runID=run.run_id, fsname=run.fs_name, username=run.username, artifactPath=f"./.pipeline/{run.run_id}/{step_name}/out",
                                           step=step_name, jobID=job_id, type="output", artifactName="out", meta=""))  # fmt: skip

    def add_pipeline(self, text: str, user: str, desc: str = "") -> dict[str, Any]:
        doc = parse_yaml(text)
        taken = any(p["name"] == doc["name"] and p["username"] == user for p in self.pipelines.values())
        _refuse(taken, 400, "DuplicatedName", f"CreatePipeline failed: user[{user}] already has pipeline[{doc['name']}], cannot create again!")
        ppl_id = self.pipelines.new_id()
        ppl = self.pipelines[ppl_id] = _stamped(pipelineID=ppl_id, name=doc["name"], desc=desc, username=user, versions={})
        self.add_version(ppl, text, user)
        return ppl

    def add_version(self, ppl: dict[str, Any], text: str, user: str) -> str:
        doc = parse_yaml(text)
        _refuse(doc["name"] != ppl["name"], 400, "InvalidPipeline", f"name[{doc['name']}] in yaml not the same as name[{ppl['name']}] of pipeline")
        ver = str(len(ppl["versions"]) + 1)
        ppl["versions"][ver] = _stamped(pipelineVersionID=ver, pipelineID=ppl["pipelineID"], fsName="", yamlPath="", pipelineYaml=text, username=user)
        return ver

    def tick(self) -> None:
        """Fire due schedules: one run per missed fire time, bounded by concurrency and expireInterval."""
        now = self.now()
        for sch in self.schedules.values():
            if sch.status != "running":
                continue
            while (fire := next_fire(sch.crontab, sch.last_fire)) <= now:
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


def _version(ppl: dict[str, Any], ver: str) -> dict[str, Any]:
    _refuse(ver not in ppl["versions"], 404, "PipelineNotFound", f"pipeline[{ppl['pipelineID']}] version[{ver}] not found")
    return dict(ppl["versions"][ver])


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
    _refuse(not 1 <= max_keys <= 1000, 400, "InvalidURI", f"maxKeys[{max_keys}] is invalid")
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


def _fs_page(items: list[Any], key: str, request: Request) -> dict[str, Any]:
    """The fs and link listings page as the others but answer in their own envelope (null when empty)."""
    paged = _page(items, key, request)
    marker = request.query_params.get("marker", "")
    return {"marker": marker, "truncated": paged["isTruncated"], "nextMarker": paged.get("nextMarker", ""), key: paged[key] or None}


async def body_of(request: Request, fold: bool = True) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise PFError(400, "MalformedJSON", "request body is not valid JSON") from None
    _refuse(not isinstance(data, dict), 400, "MalformedJSON", "request body must be a JSON object")
    # Go decodes field names case-insensitively ("fsname" fills fsName); the admin routes read them as sent
    return {k.lower(): v for k, v in data.items()} if fold else data


def login_router(state: PaddleFlowState) -> APIRouter:
    """The one route open without a token."""
    api = APIRouter(prefix=PREFIX)

    @api.post("/login")
    async def login(request: Request) -> Any:
        body = await body_of(request)
        name, password = body.get("username", ""), body.get("password")
        _refuse(name not in state.users, 400, "UserNotExist", "User not exist")
        _refuse(state.users[name] != password, 400, "AuthFailed", "Username or password not correct")
        token = "eyJ" + secrets.token_urlsafe(24)
        state.tokens[token] = name
        state.logins += 1
        return {"authorization": token}

    return api


def run_routes(api: APIRouter, state: PaddleFlowState, routes: Routes) -> None:
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
            ppl = state.pipelines.one(body["pipelineid"])
            ver = body.get("pipelineversionid") or str(len(ppl["versions"]))
            text, source = _version(ppl, ver)["pipelineYaml"], f"{ppl['pipelineID']}-{ver}"
        elif not body.get("fsname"):
            raise PFError(400, "InvalidArguments", "can not get runYaml without fs")
        else:
            raise PFError(400, "ReadYamlFileFailed", f"read yaml file [{body.get('runyamlpath') or './run.yaml'}] failed: no such file in the emulated fs")
        doc = parse_yaml(text, params, body.get("name"))
        if body.get("dockerenv"):
            doc["docker_env"] = body["dockerenv"]
        for disabled in [d for d in str(body.get("disabled") or "").split(",") if d]:
            _refuse(disabled not in doc["entry_points"], 400, "InvalidPipeline", f"disabled component[{disabled}] not exist")
            doc["entry_points"].pop(disabled)
        with state.lock:
            run = state.create_run(doc, text, user, source, params, description=body.get("desc") or "", fs_name=body.get("fsname") or "")
        return JSONResponse({"runID": run.run_id}, status_code=201)

    def run_brief(run: PFRun) -> dict[str, Any]:
        return run.brief(time.time(), state.stop_after)

    def show_run(run: PFRun, request: Request) -> dict[str, Any]:
        now = time.time()
        brief = run.brief(now, state.stop_after)
        return {**{k: brief[k] for k in ("runID", "name", "source", "username", "fsName", "description", "scheduleID", "runMsg", "status", "createTime", "activateTime", "updateTime")},
                "fsOptions": {"mainFS": {"id": "", "name": run.fs_name, "mountPath": "", "subPath": "", "readOnly": False}},
                "parameters": run.parameters or None, "runYaml": run.yaml, "runtime": run.job_views(now, state.stop_after), "postProcess": {},
                "failureOptions": {"strategy": (run.doc.get("failure_options") or {}).get("strategy", "fail_fast")}, "dockerEnv": run.doc.get("docker_env", ""),
                "disabled": "", "runCachedIDs": ""}  # fmt: skip

    def own_runs(request: Request, allowed: dict[str, set[str]]) -> None:
        if (user := state.user(request)) != ROOT_USER:
            allowed["username"] = {user}

    def final_only(run: PFRun) -> None:
        status = run.status(time.time(), state.stop_after)
        _refuse(status not in FINAL, 403, "ActionNotAllowed", f"run[{run.run_id}] is in status[{status}], only final runs can be deleted")

    # runs are listed oldest first, as PaddleFlow's pk order; a run filter is looked up, not scanned for
    run_filters = {"userFilter": "username", "fsFilter": "fsName", "runFilter": "runID", "nameFilter": "name", "statusFilter": "status"}
    routes.declare("/run", state.runs, "runList", key_field="runID", filters=run_filters, view=run_brief, show=show_run,
                   deletable=final_only, scope=own_runs)  # fmt: skip

    @api.put("/run/{run_id}")
    async def run_action(run_id: str, request: Request, action: str = "") -> Any:
        run = state.runs.one(run_id)
        status = run.status(time.time(), state.stop_after)
        if action == "stop":
            body = await body_of(request)
            stopped = status in FINAL or (status == "terminating" and not body.get("stopforce"))
            _refuse(stopped, 403, "ActionNotAllowed", f"run[{run_id}] is in status[{status}], can not be stopped")
            run.stopped_at = time.time()
            return Response(status_code=200)
        if action == "retry":
            _refuse(status not in ("failed", "terminated"), 403, "ActionNotAllowed", f"run[{run_id}] has status[{status}], no need to retry")
            with state.lock:
                new = state.create_run(run.doc, run.yaml, run.username, run.source, run.parameters, description=run.description, fs_name=run.fs_name)
                new.retry_of = run_id
            return {"runID": new.run_id}
        raise PFError(400, "InvalidURI", f"action[{action}] is not supported")

    @api.get("/log/run/{run_id}")
    def run_log(run_id: str, jobID: str = "", pageNo: str = "1", pageSize: str = "100", logFilePosition: str = "end") -> Any:
        run = state.runs.one(run_id)
        try:
            page_no, page_size = max(1, int(pageNo or 1)), int(pageSize or 100)
        except ValueError:
            raise PFError(400, "InvalidURI", "pageNo or pageSize is not a number") from None
        _refuse(page_size > 100, 400, "InvalidURI", "LogPageSize over max value")
        _refuse(logFilePosition not in ("end", "begin"), 400, "InvalidURI", f"logFilePosition[{logFilePosition}] is invalid")
        jobs = []
        for views in run.job_views(time.time(), state.stop_after).values():
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
        _refuse(text is not None and body.get("fsname"), 400, "InvalidArguments", "yamlRaw and fsName can not be set at the same time")
        if text is None:
            raise PFError(400, "InvalidArguments", "can not read yaml without fs (the emulator has no fs): send yamlRaw")
        _refuse(len(body.get("desc") or "") > 256, 400, "InvalidArguments", "desc too long, should be less than 256")
        with state.lock:
            ppl = state.add_pipeline(text, user, body.get("desc") or "")
        return JSONResponse({"pipelineID": ppl["pipelineID"], "pipelineVersionID": "1", "name": ppl["name"]}, status_code=201)

    @api.post("/pipeline/{ppl_id}")
    async def update_pipeline(ppl_id: str, request: Request) -> Any:
        user = state.user(request)
        body = await body_of(request)
        ppl = state.pipelines.one(ppl_id)
        text = _yaml_from(body, "yamlraw")
        if text is None:
            raise PFError(400, "InvalidArguments", "send yamlRaw")
        with state.lock:
            ver = state.add_version(ppl, text, user)
        return JSONResponse({"pipelineID": ppl_id, "pipelineVersionID": ver}, status_code=201)

    def brief(ppl: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ppl.items() if k != "versions"}

    def root_sets_user_filter(request: Request, allowed: dict[str, set[str]]) -> None:
        _refuse("username" in allowed and state.user(request) != ROOT_USER, 403, "AccessDenied", "only root user can set userFilter!")

    def unscheduled(ppl: dict[str, Any]) -> None:
        used = any(s.pipeline_id == ppl["pipelineID"] and s.status == "running" for s in state.schedules.values())
        _refuse(used, 403, "ActionNotAllowed", f"delete pipeline[{ppl['pipelineID']}] failed, there are running schedules using it")

    routes.declare("/pipeline", state.pipelines, "pipelineList", filters={"userFilter": "username", "nameFilter": "name"}, view=brief,
                   show=lambda ppl, request: {"pipeline": brief(ppl), "pplVersions": _page(list(ppl["versions"].values()), "pplVersionList", request)},
                   deletable=unscheduled, scope=root_sets_user_filter)  # fmt: skip

    @api.get("/pipeline/{ppl_id}/{ver}")
    def show_version(ppl_id: str, ver: str) -> Any:
        ppl = state.pipelines.one(ppl_id)
        return {"pipeline": brief(ppl), "pipelineVersion": _version(ppl, ver)}

    @api.delete("/pipeline/{ppl_id}/{ver}")
    def delete_version(ppl_id: str, ver: str) -> Any:
        ppl = state.pipelines.one(ppl_id)
        _version(ppl, ver)
        _refuse(len(ppl["versions"]) == 1, 403, "ActionNotAllowed", "only one pipeline version left, pls delete pipeline instead")
        del ppl["versions"][ver]
        return Response(status_code=200)

    def schedule_view(sch: PFSchedule) -> dict[str, Any]:
        return {"scheduleID": sch.schedule_id, "name": sch.name, "desc": sch.desc, "pipelineID": sch.pipeline_id, "pipelineVersionID": sch.version_id,
                "username": sch.username, "fsConfig": {"username": sch.username}, "crontab": sch.crontab,
                "options": {"catchup": sch.catchup, "expireInterval": sch.expire_interval, "concurrency": sch.concurrency, "concurrencyPolicy": sch.policy},
                "startTime": "", "endTime": "", "createTime": local(sch.created), "updateTime": local(state.now()),
                "nextRunTime": local(next_fire(sch.crontab, sch.last_fire)) if sch.status == "running" else "", "scheduleMsg": "", "status": sch.status}  # fmt: skip

    @api.post("/schedule")
    async def create_schedule(request: Request) -> Any:
        user = state.user(request)
        body = await body_of(request)
        name = str(body.get("name") or "")
        _refuse(not SCHEDULE_NAME.match(name), 400, "InvalidArguments", f"name[{name}] of schedule is invalid, must match {SCHEDULE_NAME.pattern}")
        _refuse(any(s.name == name and s.username == user for s in state.schedules.values()), 400, "DuplicatedName", f"schedule name[{name}] already exists")
        ppl = state.pipelines.one(str(body.get("pipelineid") or ""))
        ver = str(body.get("pipelineversionid") or "")
        _version(ppl, ver)
        policy = body.get("concurrencypolicy") or "suspend"
        _refuse(policy not in ("suspend", "replace", "skip"), 400, "InvalidArguments", f"concurrency policy[{policy}] not supported")
        next_fire(str(body.get("crontab") or ""), state.now())  # an invalid crontab is refused here
        with state.lock:
            sch = PFSchedule(state.schedules.new_id(), name, ppl["pipelineID"], ver, body["crontab"], user, state.now(), body.get("desc") or "",
                             int(body.get("concurrency") or 0), policy, int(body.get("expireinterval") or 0), bool(body.get("catchup", True)))  # fmt: skip
            sch.last_fire = state.now()
            state.schedules[sch.schedule_id] = sch
        return JSONResponse({"scheduleID": sch.schedule_id}, status_code=201)

    def show_schedule(sch: PFSchedule, request: Request) -> dict[str, Any]:
        runs = [run_brief(r) for r in state.runs.values() if r.schedule_id == sch.schedule_id]
        return {**schedule_view(sch), "runs": _page(where(runs, wanted(request, {"statusFilter": "status"})), "runList", request)}

    def stopped(sch: PFSchedule) -> None:
        message = f"delete schedule[{sch.schedule_id}] failed, only final schedules can be deleted: stop it first"
        _refuse(sch.status == "running", 403, "ActionNotAllowed", message)

    schedule_filters = {"userFilter": "username", "pplFilter": "pipelineID", "pplVersionFilter": "pipelineVersionID", "scheduleFilter": "scheduleID",
                        "nameFilter": "name", "statusFilter": "status"}  # fmt: skip
    routes.declare("/schedule", state.schedules, "scheduleList", filters=schedule_filters, view=schedule_view, show=show_schedule,
                   deletable=stopped, read=lambda _: state.tick())  # fmt: skip

    @api.put("/schedule/{schedule_id}")
    def stop_schedule(schedule_id: str) -> Any:
        sch = state.schedules.one(schedule_id)
        _refuse(sch.status != "running", 403, "ActionNotAllowed", f"stop schedule[{schedule_id}] failed, already in status[{sch.status}]")
        sch.status = "terminated"
        return Response(status_code=200)


def next_fire(crontab: str, after: float) -> float:
    """The schedule's first fire time after ``after``: the server's cron (robfig/cron) takes a
    standard crontab, the ``@hourly`` family and ``@every <n>s|m|h``."""
    spec = crontab.strip()
    m = re.fullmatch(r"@every (\d+)([smh])", spec)
    if m:
        return after + int(m[1]) * {"s": 1, "m": 60, "h": 3600}[m[2]]
    _refuse(not croniter.is_valid(spec), 400, "InvalidArguments", f"crontab[{crontab}] is invalid")
    return float(croniter(spec, after).get_next(float))


def create_app(demo: bool = False, **knobs: Any) -> Emulator:
    state = PaddleFlowState(**knobs)
    if demo:
        state.add_pipeline(FLAKY_YAML, ROOT_USER, "a pipeline whose step fails on the first try")
    app = FastAPI(title="PaddleFlow emulator", docs_url=None, redoc_url=None, openapi_url=None)

    # every error in the server's shape (middleware.NotFound / MethodNotAllowed / Recoverer included):
    # the SDK reads data['code'], data['message'] and data['requestID'] of any answer >= 400
    @app.exception_handler(Exception)
    async def error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, PFError):
            status, code, message = exc.status, exc.code, exc.message
        elif isinstance(exc, StarletteHTTPException):
            status = exc.status_code
            code, message = {404: ("PathNotFound", ""), 405: ("MethodNotAllowed", "")}.get(status, ("InternalError", str(exc.detail)))
        elif isinstance(exc, RequestValidationError):
            status, code = 400, "InvalidArguments"
            message = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        else:
            status, code, message = 500, "InternalError", "We encountered an internal error. Please try again."
        body, rid = _error_body(request.headers, code, message)
        return JSONResponse(body, status_code=status, headers={"x-pf-request-id": rid})

    for kind in (PFError, StarletteHTTPException, RequestValidationError):
        app.add_exception_handler(kind, error)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("x-pf-request-id", request.headers.get("x-pf-request-id") or str(uuid.uuid4()))
        return response

    # every other route needs a valid token before anything else is read
    api = APIRouter(prefix=PREFIX, dependencies=[Depends(state.user)])
    routes = Routes(api, _page)
    admin_routes(api, state, routes)  # /cluster/resource must win over /cluster/{name}: routes match in order
    run_routes(api, state, routes)
    app.include_router(login_router(state))
    app.include_router(api)
    faults = Faults()
    return Emulator(app=FaultInjector(app, faults, fault_body=_fault_body), state=state, faults=faults)


def _error_body(headers: Any, code: str, message: str) -> tuple[dict[str, str], str]:
    rid = headers.get("x-pf-request-id") or str(uuid.uuid4())
    return {"requestID": rid, "code": code, "message": message}, rid


def _fault_body(status: int, headers: dict[str, str]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    code = "TooManyRequests" if status == 429 else "InternalError" if status >= 500 else "InvalidArguments"
    body, rid = _error_body(headers, code, f"emulated fault {status}")
    return json.dumps(body).encode(), [(b"x-pf-request-id", rid.encode())]


def connection(url: str, login: str = ROOT_USER, password: str = ROOT_PASSWORD) -> dict[str, Any]:
    return {"conn_type": "paddleflow", "host": url, "login": login, "password": password}


# --- administration, storage and tracking ---------------------------------------------------------
USER_NAME = re.compile(r"^[A-Za-z0-9]{4,16}$")
QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,8}[a-z0-9]$")
FS_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
FS_SCHEMES = {"hdfs", "local", "s3", "sftp", "mock", "cfs", "glusterfs", "bos", "afs"}


def _resources_out(res: dict[str, Any] | None) -> dict[str, Any]:
    res = res or {}
    scalar = {"scalarResources": res["scalarResources"]} if res.get("scalarresources") or res.get("scalarResources") else {}
    return {"cpu": res.get("cpu", "0"), "memory": res.get("mem", res.get("memory", "0")), **scalar}


def _fields(body: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """The record's fields as sent, a missing or empty one taking its default."""
    return {key: body.get(key) or default for key, default in defaults.items()}


def _fresh(table: Table, kind: str, name: str) -> None:
    _refuse(not name or name in table, 400, "DuplicatedName" if name else "RequiredFieldEmpty", f"{kind}[{name}] is duplicated or empty")


def admin_routes(api: APIRouter, state: PaddleFlowState, routes: Routes) -> None:
    root, root_only = state.root, [Depends(state.root)]

    @api.post("/user", dependencies=root_only)
    async def add_user(request: Request) -> Any:
        b = await body_of(request, fold=False)
        name, password = str(b.get("username", "")), str(b.get("password", ""))
        _refuse(not USER_NAME.match(name), 400, "InvalidNamePattern", f"username[{name}] is invalid: must match {USER_NAME.pattern}")
        weak = len(password) < 6 or not re.search(r"\d", password) or not re.search(r"[a-z]", password)
        _refuse(weak, 400, "InvalidArguments", "password must be at least 6 characters with a digit and a lowercase letter")
        _refuse(name in state.users, 403, "UserNameDuplicated", f"user[{name}] already exists")
        state.users[name] = password
        return {"username": name}

    @api.get("/user")
    def list_users(request: Request) -> Any:
        return _page([{"createTime": dt.datetime.now(dt.UTC).isoformat(), "name": n} for n in state.users], "userList", request)

    @api.put("/user/{name}")
    async def update_password(name: str, request: Request) -> Any:
        _refuse(state.user(request) not in (ROOT_USER, name), 403, "AccessDenied", "only root or the user may change a password")
        _refuse(name not in state.users, 400, "UserNotExist", "User not exist")
        state.users[name] = str((await body_of(request, fold=False)).get("password", ""))
        for token in [t for t, u in state.tokens.items() if u == name]:
            del state.tokens[token]  # a password change revokes the user's tokens
        return Response(status_code=200)

    @api.delete("/user/{name}", dependencies=root_only)
    def del_user(name: str) -> Any:
        _refuse(name not in state.users or name == ROOT_USER, 400, "UserNotExist", "User not exist")
        del state.users[name]
        return Response(status_code=200)

    @api.post("/queue", dependencies=root_only)
    async def create_queue(request: Request) -> Any:
        b = await body_of(request, fold=False)
        name = str(b.get("name", ""))
        _refuse(not QUEUE_NAME.match(name), 400, "InvalidNamePattern", f"queue name[{name}] is invalid: must match {QUEUE_NAME.pattern}")
        _refuse(name in state.queues, 403, "QueueNameDuplicated", f"queue[{name}] already exists")
        _refuse(b.get("clusterName") not in state.clusters, 400, "InvalidArguments", f"cluster[{b.get('clusterName')}] not found")
        state.queues[name] = _stamped(name=name, **_fields(b, namespace="default", clusterName="", quotaType="elasticQuota"),
                                      maxResources=_resources_out(b.get("maxResources")), minResources=_resources_out(b.get("minResources")),
                                      **_fields(b, location={}, schedulingPolicy=[]), status="open")  # fmt: skip
        return {"name": name}

    routes.declare("/queue", state.queues, "queueList", filters={"name": "name"}, write=root,
                   show=lambda q, _: {**q, "usedResources": {"cpu": "0", "memory": "0"}, "idleResources": q["maxResources"]})  # fmt: skip

    @api.put("/queue/{name}")
    async def update_queue(name: str, request: Request) -> Any:
        # today's router has only this update on PUT /queue/{name} (an old ?action=close is ignored), and it
        # binds the JSON body first: an empty body is MalformedJSON; a queue's status cannot be set
        _refuse(not (await request.body()).strip(), 400, "MalformedJSON", "The JSON provided was not well-formatted")
        b = await body_of(request, fold=False)
        root(request)
        q = state.queues.one(name)
        q.update({key: _resources_out(b[key]) for key in ("maxResources", "minResources") if key in b})
        q.update({key: b[key] for key in ("schedulingPolicy", "location") if key in b})
        q["updateTime"] = local(time.time())
        return q

    @api.post("/grant", dependencies=root_only)
    async def grant(request: Request) -> Any:
        b = await body_of(request, fold=False)
        _refuse(b.get("resourceType") != "queue", 400, "InvalidArguments", "resourceType must be queue")
        state.queues.one(str(b.get("resourceID")))
        _refuse(b.get("username") not in state.users, 400, "UserNotExist", "User not exist")
        state.grants.append(_stamped(grantID=f"grant-{uuid.uuid4().hex[:8]}", userName=b["username"], resourceType="queue", resourceID=b["resourceID"]))
        return {"grantID": state.grants[-1]["grantID"]}

    @api.delete("/grant", dependencies=root_only)
    def ungrant(username: str = "", resourceType: str = "", resourceID: str = "") -> Any:
        kept = [g for g in state.grants if (g["userName"], g["resourceType"], g["resourceID"]) != (username, resourceType, resourceID)]
        _refuse(len(kept) == len(state.grants), 404, "RecordNotFound", f"grant of {resourceType}[{resourceID}] to user[{username}] not found")
        state.grants[:] = kept
        return Response(status_code=200)

    @api.get("/grant")
    def list_grants(request: Request) -> Any:
        return _page(where(state.grants, wanted(request, {"username": "userName"})), "grantList", request)

    @api.post("/flavour", dependencies=root_only)
    async def add_flavour(request: Request) -> Any:
        b = await body_of(request, fold=False)
        name = str(b.get("name", ""))
        _fresh(state.flavours, "flavour", name)
        state.flavours[name] = _stamped(id=state.flavours.new_id(), name=name, **_fields(b, cpu=None, mem=None, scalarResources={}, clusterName=""))
        return {"name": name}

    routes.declare("/flavour", state.flavours, "flavourList", filters={"clusterName": "clusterName", "name": "name"}, write=root)

    @api.put("/flavour/{name}", dependencies=root_only)
    async def update_flavour(name: str, request: Request) -> Any:
        f = state.flavours.one(name)
        f.update({k: v for k, v in (await body_of(request, fold=False)).items() if k in ("cpu", "mem", "scalarResources", "clusterName")})
        return f

    @api.get("/cluster/resource")
    def cluster_resource(clusterNames: str = "") -> Any:
        names = [n for n in clusterNames.split(",") if n] or list(state.clusters)
        node = {"cpu": "64", "memory": "256Gi"}
        return {n: {"clusterInfo": node, "nodeList": [{"nodeName": f"{n}-node-1", **node}]} for n in names if n in state.clusters}

    @api.post("/cluster", dependencies=root_only)
    async def create_cluster(request: Request) -> Any:
        b = await body_of(request, fold=False)
        name = str(b.get("clusterName", ""))
        _fresh(state.clusters, "cluster", name)
        _refuse(b.get("clusterType") not in ("Kubernetes", "Local", "K3S"), 400, "InvalidArguments", f"clusterType[{b.get('clusterType')}] is invalid")
        fields = _fields(b, description="", endpoint="", source="OnPremise", clusterType="", version="", status="online", credential="", setting="")
        state.clusters[name] = _stamped(id=f"cluster-{secrets.token_hex(4)}", clusterName=name, **fields, **_fields(b, namespaceList=[]))
        return state.clusters[name]

    routes.declare("/cluster", state.clusters, "clusterList", filters={"clusterNames": "clusterName", "clusterStatus": "status"}, write=root)

    @api.put("/cluster/{name}", dependencies=root_only)
    async def update_cluster(name: str, request: Request) -> Any:
        c = state.clusters.one(name)
        c.update({k: v for k, v in (await body_of(request, fold=False)).items() if k in c and k not in ("id", "clusterName", "createTime")})
        c["updateTime"] = local(time.time())
        return c

    def job_known(job_id: str) -> None:
        for run in state.runs.values():
            if any(views[0]["jobID"] == job_id for views in run.job_views(time.time(), state.stop_after).values()):
                return
        raise PFError(404, "JobNotFound", f"job[{job_id}] not found")

    @api.get("/statistics/job/{job_id}")
    def statistics(job_id: str) -> Any:
        job_known(job_id)
        usage = {"cpu_usage_rate": "35.20%", "memory_usage_rate": "12.50%", "memory_usage": "1048576.00(Bytes)", "net_receive_bytes": "2048.00(B/s)"}
        return {"metricsInfo": usage}

    @api.get("/statistics/jobDetail/{job_id}")
    def statistics_detail(job_id: str, start: int | None = None, end: int | None = None, step: int = 60) -> Any:
        job_known(job_id)
        end = end or int(time.time())
        start = start if start is not None else end - 600
        _refuse(start > end or step <= 0, 400, "InvalidArguments", "start must be before end and step positive")
        values = [[t, "0.35"] for t in range(start, end + 1, step)][:200]
        return {"result": [{"taskName": f"{job_id}-task", "taskInfo": [{"metric": "cpu_usage_rate", "values": values}]}], "truncated": False}

    @api.post("/fs")
    async def add_fs(request: Request) -> Any:
        user = state.user(request)
        b = await body_of(request, fold=False)
        name, url = str(b.get("name", "")), str(b.get("url", ""))
        owner = b.get("username") or user
        _refuse(not FS_NAME.match(name), 400, "InvalidNamePattern", f"fs name[{name}] is invalid")
        _refuse(url.split("://", 1)[0] not in FS_SCHEMES, 400, "InvalidArguments", f"fs url[{url}] has an unsupported scheme")
        fs_id = f"fs-{owner}-{name}"
        _refuse(fs_id in state.fs, 400, "DuplicatedName", f"fs[{name}] already exists")
        scheme, _, rest = url.partition("://")
        state.fs[fs_id] = {"id": fs_id, "name": name, "serverAddress": rest.split("/", 1)[0], "type": scheme, "subPath": "/" + rest.split("/", 1)[1] if "/" in rest else "/",
                           "username": owner, "properties": b.get("properties") or {}, "independentMountProcess": False}  # fmt: skip
        return JSONResponse({"fsName": name, "fsID": fs_id}, status_code=201)

    def fs_of(name: str, request: Request, username: str | None) -> dict[str, Any]:
        user = state.user(request)
        fs_id = f"fs-{username or user}-{name}"
        if fs_id not in state.fs:
            raise state.fs.missing(name)
        return dict(state.fs[fs_id])

    @api.get("/fs")
    def list_fs(request: Request, username: str | None = None) -> Any:
        user = state.user(request)
        return _fs_page([f for f in state.fs.values() if f["username"] == (username or user)], "fsList", request)

    @api.get("/fs/{name}")
    def show_fs(name: str, request: Request, username: str | None = None) -> Any:
        return fs_of(name, request, username)

    @api.delete("/fs/{name}")
    def delete_fs(name: str, request: Request, username: str | None = None) -> Any:
        del state.fs[fs_of(name, request, username)["id"]]
        state.links[:] = [link for link in state.links if link["fsName"] != name]
        return Response(status_code=200)

    @api.post("/link")
    async def add_link(request: Request) -> Any:
        b = await body_of(request, fold=False)
        fs = fs_of(str(b.get("fsName", "")), request, b.get("username"))
        path, (scheme, _, rest) = str(b.get("fsPath", "")), str(b.get("url", "")).partition("://")
        _refuse(not path.startswith("/"), 400, "InvalidArguments", f"fsPath[{path}] must be absolute")
        state.links.append({"fsName": fs["name"], "fsPath": path, "serverAddress": rest.split("/", 1)[0], "type": scheme,
                            "username": fs["username"], "subPath": "/", "properties": b.get("properties") or {}})  # fmt: skip
        return Response(status_code=201)

    @api.get("/link/{fs_name}")
    def list_links(fs_name: str, request: Request, username: str | None = None) -> Any:
        fs_of(fs_name, request, username)
        links = where(state.links, {"fsName": {fs_name}, **wanted(request, {"fsPath": "fsPath"})})
        return _fs_page(links, "linkList", request)

    @api.delete("/link/{fs_name}")
    def delete_link(fs_name: str, request: Request, fsPath: str = "", username: str | None = None) -> Any:
        fs_of(fs_name, request, username)
        kept = [link for link in state.links if (link["fsName"], link["fsPath"]) != (fs_name, fsPath)]
        _refuse(len(kept) == len(state.links), 404, "PathNotFound", f"link[{fsPath}] of fs[{fs_name}] not found")
        state.links[:] = kept
        return Response(status_code=200)

    routes.declare("/runCache", state.caches, "runCacheList", filters={"runFilter": "runID"})

    @api.get("/artifact")
    def list_artifact(request: Request) -> Any:
        return _page(where(state.artifacts, wanted(request, {"runFilter": "runID", "typeFilter": "type"})), "artifactEventList", request)
