"""Emulated DSS scenarios: trigger fires, runs with steps, logs, JUnit reports, futures."""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from airflow_provider.testing.dataiku.core import (
    ILLEGAL_ARGUMENT,
    NOT_FOUND,
    DSSError,
    DSSState,
    Future,
    User,
    boolean,
    compact,
    json_body,
    now_ms,
)

OUTCOMES = ("SUCCESS", "WARNING", "FAILED", "ABORTED")


@dataclass
class Project:
    key: str
    scenarios: dict[str, Scenario] = field(default_factory=dict)


@dataclass
class Fire:
    trigger_run_id: str
    params: dict[str, Any]
    created: float
    cancelled: bool = False
    run: Run | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": {"id": "manual", "type": "manual", "name": "Manual trigger"},
            "runId": self.trigger_run_id,
            "params": self.params,
            "cancelled": self.cancelled,
        }


@dataclass
class Run:
    run_id: str
    scenario: Scenario
    fire: Fire
    start: float
    duration: float
    outcome: str
    error: str
    future: Future
    aborted_at: float | None = None

    def end(self, now: float) -> float | None:
        if self.aborted_at is not None:
            return self.aborted_at
        finish = self.start + self.duration
        return finish if now >= finish else None

    def outcome_at(self, now: float) -> str | None:
        if self.aborted_at is not None:
            return "ABORTED"
        return self.outcome if self.end(now) is not None else None

    def summary(self, now: float) -> dict[str, Any]:
        end = self.end(now)
        outcome = self.outcome_at(now)
        out: dict[str, Any] = {
            "runId": self.run_id,
            "start": int(self.start * 1000),
            "end": int(end * 1000) if end else 0,
            "scenario": self.scenario.ref(),
            "trigger": self.fire.to_json(),
            "futureId": None if end else self.future.job_id,
        }
        if outcome:
            result: dict[str, Any] = {"outcome": outcome, "type": "SCENARIO_DONE"}
            if outcome == "FAILED":
                result["thrown"] = {"clazz": "com.dataiku.dip.scenario.StepFailedException", "message": f"Step {self.failing_step()['name']} failed"}
            out["result"] = result
        answer: dict[str, Any] = compact(out)
        return answer

    def steps(self) -> list[dict[str, Any]]:
        return self.scenario.settings.get("params", {}).get("steps") or [{"id": "step_0", "name": "Run", "type": "custom_python"}]

    def failing_step(self) -> dict[str, Any]:
        return self.steps()[-1]

    def step_runs(self, now: float) -> list[dict[str, Any]]:
        steps = self.steps()
        slot = self.duration / len(steps)
        out = []
        for i, step in enumerate(steps):
            begin = self.start + i * slot
            if now < begin or (self.aborted_at is not None and self.aborted_at < begin):
                break
            finish = begin + slot
            item: dict[str, Any] = {
                "runId": f"{self.run_id}-s{i}",
                "retryIndex": 0,
                "start": int(begin * 1000),
                "step": step,
                "additionalReportItems": [],
            }
            ended = now >= finish or self.aborted_at is not None
            if ended:
                last = i == len(steps) - 1
                outcome = "ABORTED" if self.aborted_at is not None and self.aborted_at < finish else ("SUCCESS" if not last else self.outcome)
                item["end"] = int(min(finish, self.aborted_at or finish) * 1000)
                job_id = f"Build_{step['id']}_{self.run_id}"
                report: dict[str, Any] = {"type": "JOB_EXECUTED", "jobId": job_id, "outcome": outcome, "start": item["start"], "end": item["end"]}
                result: dict[str, Any] = {"outcome": outcome, "type": "STEP_DONE"}
                if outcome == "FAILED":
                    thrown = {
                        "clazz": "com.dataiku.dip.exceptions.DKUSQLException",
                        "title": "Job failed",
                        "message": self.error,
                        "code": "ERR_RECIPE_PYTHON_EXCEPTION",
                    }
                    result["thrown"] = thrown
                    report["thrown"] = thrown
                if outcome == "WARNING":
                    result["warnings"] = {"totalCount": 1, "warnings": {"CHECK": 1}}
                item["result"] = result
                item["additionalReportItems"] = [report]
            out.append(item)
        return out

    def log(self, now: float, step_id: str | None) -> str:
        lines = []
        for step_run in self.step_runs(now):
            step = step_run["step"]
            if step_id and step_id not in (step["id"], step_run["runId"]):
                continue
            stamp = dt.datetime.fromtimestamp(step_run["start"] / 1000, tz=dt.UTC).strftime("%Y/%m/%d-%H:%M:%S.%f")[:-3]
            lines.append(f"[{stamp}] [INFO] [dku.scenario.step] - Running step {step['name']} ({step['type']})")
            for n in range(3):
                lines.append(f"[{stamp}] [INFO] [dku.job] - {step['name']}: activity {n + 1} of 3 done")
            result = step_run.get("result")
            if result:
                if result["outcome"] == "FAILED":
                    lines.append(f"[{stamp}] [ERROR] [dku.job] - {self.error}")
                lines.append(f"[{stamp}] [INFO] [dku.scenario.step] - Step {step['name']} done: {result['outcome']}")
        return "\n".join(lines) + ("\n" if lines else "")


@dataclass
class Scenario:
    project_key: str
    id: str
    name: str
    settings: dict[str, Any]
    script: str = ""
    #: knobs: what the next runs do
    outcome: str = "SUCCESS"
    duration: float | None = None
    error: str = "Job failed: Error in Python process: At line 12: <class 'KeyError'>: 'amount'"
    cancel_fires: bool = False
    fires: list[Fire] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)

    def ref(self) -> dict[str, Any]:
        return {
            "projectKey": self.project_key,
            "id": self.id,
            "name": self.name,
            "type": self.settings.get("type", "step_based"),
            "markedAsTest": bool(self.settings.get("markedAsTest")),
        }

    def current(self, now: float) -> Run | None:
        return next((r for r in reversed(self.runs) if r.end(now) is None), None)


class Scenarios:
    """The scenario part of the emulated DSS; knobs are attributes and methods of this object."""

    def __init__(self, state: DSSState, run_duration: float = 1.0, fire_delay: float = 0.1) -> None:
        self.state = state
        self.run_duration = run_duration
        self.fire_delay = fire_delay
        self._run_seq = 0
        #: fires not yet turned into runs (or cancelled): the clock looks only at these
        self._pending: list[tuple[Scenario, Fire]] = []
        #: routes run in a thread pool: two requests ticking at once must not both start a run
        self._clock = threading.Lock()

    # --- knobs and seeding -------------------------------------------------------------
    def add_project(self, key: str) -> Project:
        project: Project = self.state.projects.setdefault(key, Project(key))
        return project

    def add_scenario(self, project_key: str, scenario_id: str, name: str | None = None, *, steps: list[dict[str, Any]] | None = None,
                     type: str = "step_based", marked_as_test: bool = False, **knobs: Any) -> Scenario:  # fmt: skip
        project = self.add_project(project_key)
        settings: dict[str, Any] = {
            "projectKey": project_key, "id": scenario_id, "name": name or scenario_id, "type": type, "active": False,
            "markedAsTest": marked_as_test, "tags": [], "description": "", "shortDesc": "", "checklists": {"checklists": []},
            "versionTag": {"versionNumber": 1, "lastModifiedBy": {"login": "admin"}, "lastModifiedOn": now_ms()},
            "creationTag": {"versionNumber": 0, "lastModifiedBy": {"login": "admin"}, "lastModifiedOn": now_ms()},
            "triggers": [], "reporters": [], "params": {"steps": steps or []} if type == "step_based" else {},
        }  # fmt: skip
        scenario = Scenario(project_key, scenario_id, name or scenario_id, settings, **knobs)
        if type != "step_based":
            scenario.script = "from dataiku.scenario import Scenario\nScenario().build_dataset('orders')\n"
        project.scenarios[scenario_id] = scenario
        return scenario

    def scenario(self, project_key: str, scenario_id: str) -> Scenario:
        project = self.state.project(project_key)
        found: Scenario | None = project.scenarios.get(scenario_id)
        if found is None:
            raise DSSError(404, NOT_FOUND, f"Scenario not found: {project_key}.{scenario_id}")
        return found

    def all_runs(self) -> list[Run]:
        return [r for p in self.state.projects.values() for s in getattr(p, "scenarios", {}).values() for r in s.runs]

    # --- time ---------------------------------------------------------------------------
    def fire(self, scenario: Scenario, params: dict[str, Any], now: float) -> Fire:
        """Record a trigger fire; the clock turns it into a run after ``fire_delay``."""
        fire = Fire(self.state.new_id("manual-"), params, now)
        with self._clock:
            scenario.fires.append(fire)
            self._pending.append((scenario, fire))
        return fire

    def tick(self, now: float) -> None:
        """Turn due trigger fires into runs (or cancel them, as DSS does when the scenario is busy)."""
        with self._clock:
            waiting = []
            for scenario, fire in self._pending:
                if fire.run is not None or fire.cancelled:
                    continue
                if now < fire.created + self.fire_delay:
                    waiting.append((scenario, fire))
                elif scenario.cancel_fires or scenario.current(now) is not None:
                    fire.cancelled = True
                else:
                    fire.run = self._start_run(scenario, fire, fire.created + self.fire_delay)
            self._pending = waiting

    def _start_run(self, scenario: Scenario, fire: Fire, start: float) -> Run:
        self._run_seq += 1
        stamp = dt.datetime.fromtimestamp(start, tz=dt.UTC).strftime("%Y-%m-%d-%H-%M-%S")
        run_id = f"{stamp}-{self._run_seq:03d}"
        duration = scenario.duration if scenario.duration is not None else self.run_duration
        if isinstance(fire.params.get("emulator_duration"), int | float):
            duration = float(fire.params["emulator_duration"])  # emulator-only run parameter: benchmarks end runs at known times
        future = self.state.add_future("admin", f"Scenario {scenario.name}", duration, is_scenario=True,
                                       payload={"type": "scenario_run", "projectKey": scenario.project_key, "scenarioId": scenario.id})  # fmt: skip
        future.started, future.done_at = start, start + duration
        run = Run(run_id, scenario, fire, start, duration, scenario.outcome, scenario.error, future)
        future.on_abort = lambda: setattr(run, "aborted_at", time.time())
        scenario.runs.append(run)
        return run


def _run_or_404(scenario: Scenario, run_id: str) -> Run:
    for run in scenario.runs:
        if run.run_id == run_id:
            return run
    raise DSSError(404, NOT_FOUND, f"Scenario run not found: {scenario.project_key}.{scenario.id}.{run_id}")


def junit(run: Run, now: float, step_id: str | None = None) -> str:
    cases = []
    for step_run in run.step_runs(now):
        step = step_run["step"]
        if step_id and step_id not in (step["id"], step_run["runId"]):
            continue
        outcome = (step_run.get("result") or {}).get("outcome", "RUNNING")
        failure = f'<failure message="{escape(run.error)}"/>' if outcome == "FAILED" else ""
        cases.append(f'<testcase classname="{escape(run.scenario.id)}" name="{escape(step["name"])}">{failure}</testcase>')
    failures = sum("<failure" in c for c in cases)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="{escape(run.scenario.id)}" tests="{len(cases)}" failures="{failures}">{"".join(cases)}</testsuite>\n'


def router(part: Scenarios) -> APIRouter:
    state = part.state
    api = APIRouter()

    def auth(request: Request) -> User:
        user = state.authenticate(request)
        part.tick(time.time())
        return user

    @api.get("/projects/{pk}/scenarios/")
    def list_scenarios(pk: str, request: Request) -> Any:
        auth(request)
        now = time.time()
        out = []
        for s in state.project(pk).scenarios.values():
            current = s.current(now)
            out.append(compact({**s.ref(), "active": s.settings.get("active"), "running": current is not None,
                                "start": int(current.start * 1000) if current else 0, "tags": s.settings.get("tags", [])}))  # fmt: skip
        return out

    @api.post("/projects/{pk}/scenarios/")
    async def create_scenario(pk: str, request: Request) -> Any:
        auth(request)
        state.project(pk)
        body = await json_body(request, {})
        if not isinstance(body, dict) or not body.get("name"):
            raise DSSError(400, ILLEGAL_ARGUMENT, "A scenario needs a name")
        scenario_id = "".join(ch for ch in body["name"].upper() if ch.isalnum() or ch == "_") or state.new_id("SC")
        steps = (body.get("params") or {}).get("steps")
        s = part.add_scenario(pk, scenario_id, body["name"], steps=steps, type=body.get("type", "step_based"))
        return {"id": s.id, "name": s.name}

    @api.get("/projects/{pk}/scenarios/testing-status")
    def testing_status(pk: str, request: Request) -> Any:
        auth(request)
        now = time.time()
        per: dict[str, int] = {}
        total = 0
        for s in state.project(pk).scenarios.values():
            finished = [r for r in s.runs if r.outcome_at(now)]
            if s.settings.get("markedAsTest") and finished:
                total += 1
                outcome = finished[-1].outcome_at(now) or ""
                per[outcome] = per.get(outcome, 0) + 1
        return {"nbTotalRanScenarios": total, "nbScenariosPerOutcome": per}

    @api.get("/projects/{pk}/discussions/SCENARIO/{sid}/")
    def discussions(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        part.scenario(pk, sid)
        return []

    @api.get("/projects/{pk}/scenarios/trigger/{sid}/{tid}")
    def trigger_fire(pk: str, sid: str, tid: str, request: Request, triggerRunId: str = "") -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        for fire in s.fires:
            if fire.trigger_run_id == triggerRunId and tid == "manual":
                return fire.to_json()
        raise DSSError(404, NOT_FOUND, f"Trigger fire not found: {pk}.{sid}.{tid}.{triggerRunId}")

    @api.get("/projects/{pk}/scenarios/{sid}/light")
    def light(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        current = s.current(time.time())
        return compact({**s.ref(), "active": s.settings.get("active"), "running": current is not None,
                        "start": int(current.start * 1000) if current else 0, "tags": s.settings.get("tags", []),
                        "shortDesc": s.settings.get("shortDesc", ""),
                        "nextRun": 0 if not s.settings.get("active") or not s.settings.get("triggers") else now_ms() + 3_600_000})  # fmt: skip

    @api.put("/projects/{pk}/scenarios/{sid}/light")
    async def set_light(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        body = await json_body(request, {})
        # through the light view only these fields change; DSS silently drops the rest
        for key in ("active", "checklists", "description", "shortDesc", "tags"):
            if key in body:
                s.settings[key] = body[key]
        return {}

    @api.get("/projects/{pk}/scenarios/{sid}/payload")
    async def get_payload(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        return {"script": s.script, "extension": "py"}

    @api.put("/projects/{pk}/scenarios/{sid}/payload")
    async def set_payload(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        body = await json_body(request, {})
        if not isinstance(body, dict) or not isinstance(body.get("script"), str):
            raise DSSError(400, ILLEGAL_ARGUMENT, "payload needs a 'script' string")
        s.script = body["script"]
        return {}

    @api.post("/projects/{pk}/scenarios/{sid}/run")
    async def run(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        params = await json_body(request, {})
        if not isinstance(params, dict):
            raise DSSError(400, ILLEGAL_ARGUMENT, f"Trigger params must be a JSON object, got {type(params).__name__}")
        return part.fire(s, params, time.time()).to_json()

    @api.post("/projects/{pk}/scenarios/{sid}/abort")
    def abort(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        current = s.current(time.time())
        if current is not None:
            current.aborted_at = time.time()
        return {}

    @api.get("/projects/{pk}/scenarios/{sid}/get-last-runs")
    def last_runs(pk: str, sid: str, request: Request, limit: int = 10, onlyFinishedRuns: str = "false") -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        now = time.time()
        runs = [r for r in reversed(s.runs) if not boolean(onlyFinishedRuns) or r.end(now) is not None]
        return [r.summary(now) for r in runs[: max(0, limit)]]

    @api.get("/projects/{pk}/scenarios/{sid}/get-runs-by-date")
    def runs_by_date(pk: str, sid: str, request: Request, fromDate: str = "", toDate: str = "") -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        try:
            lo = dt.datetime.strptime(fromDate, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp() if fromDate else 0
            hi = dt.datetime.strptime(toDate, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp() if toDate else float("inf")
        except ValueError:
            raise DSSError(400, ILLEGAL_ARGUMENT, f"Bad date (expected yyyy-MM-dd): {fromDate!r} / {toDate!r}") from None
        now = time.time()
        return [r.summary(now) for r in reversed(s.runs) if lo <= r.start < hi]

    @api.get("/projects/{pk}/scenarios/{sid}/get-run-for-trigger")
    def run_for_trigger(pk: str, sid: str, request: Request, triggerId: str = "", triggerRunId: str = "") -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        for fire in s.fires:
            if fire.trigger_run_id == triggerRunId and fire.run is not None:
                return {"scenarioRun": fire.run.summary(time.time())}
        return {}

    @api.get("/projects/{pk}/scenarios/{sid}")
    def get_settings(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        return copy.deepcopy(part.scenario(pk, sid).settings)

    @api.put("/projects/{pk}/scenarios/{sid}")
    async def save_settings(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        s = part.scenario(pk, sid)
        body = await json_body(request, {})
        if not isinstance(body, dict):
            raise DSSError(400, ILLEGAL_ARGUMENT, "scenario settings must be a JSON object")
        body.update(projectKey=pk, id=sid)
        s.settings = body
        s.name = body.get("name", s.name)
        return {}

    @api.delete("/projects/{pk}/scenarios/{sid}")
    def delete(pk: str, sid: str, request: Request) -> Any:
        auth(request)
        part.scenario(pk, sid)
        del state.projects[pk].scenarios[sid]
        return {}

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/")
    def run_details(pk: str, sid: str, run_id: str, request: Request) -> Any:
        auth(request)
        run = _run_or_404(part.scenario(pk, sid), run_id)
        now = time.time()
        return {"scenarioRun": run.summary(now), "stepRuns": run.step_runs(now)}

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/log")
    def run_log(pk: str, sid: str, run_id: str, request: Request, stepId: str | None = None) -> Any:
        auth(request)
        run = _run_or_404(part.scenario(pk, sid), run_id)
        return PlainTextResponse(run.log(time.time(), stepId))

    def _report(pk: str, sid: str, run_id: str, step_id: str | None) -> Response:
        s = part.scenario(pk, sid)
        run = _run_or_404(s, run_id)
        if not s.settings.get("markedAsTest"):
            raise DSSError(400, ILLEGAL_ARGUMENT, f"Scenario {pk}.{sid} is not marked as a test scenario")
        return Response(junit(run, time.time(), step_id), media_type="application/xml")

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/scenario-run-report")
    def run_report(pk: str, sid: str, run_id: str, request: Request) -> Any:
        auth(request)
        return _report(pk, sid, run_id, None)

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/step-run-report")
    def step_report(pk: str, sid: str, run_id: str, request: Request, stepId: str = "") -> Any:
        auth(request)
        if not stepId:
            raise DSSError(400, ILLEGAL_ARGUMENT, "stepId is required")
        return _report(pk, sid, run_id, stepId)

    return api


def futures_router(state: DSSState, part: Scenarios) -> APIRouter:
    api = APIRouter()

    @api.get("/futures/")
    def list_futures(request: Request, withScenarios: str = "false", withNotScenarios: str = "true", allUsers: str = "false") -> Any:
        user = state.authenticate(request)
        part.tick(time.time())
        now = time.time()
        out = []
        for fut in state.futures.values():
            if fut.has_result(now) or (fut.is_scenario and not boolean(withScenarios)) or (not fut.is_scenario and not boolean(withNotScenarios, True)):
                continue
            if not boolean(allUsers) and fut.owner != user.login:
                continue
            out.append(fut.state(now, peek=True))
        return out

    @api.get("/futures/{job_id}")
    def get_future(job_id: str, request: Request, peek: str = "false") -> Any:
        state.authenticate(request)
        part.tick(time.time())
        fut = state.futures.get(job_id)
        if fut is None:
            raise DSSError(404, NOT_FOUND, f"Future not found: {job_id}")
        return fut.state(time.time(), peek=boolean(peek))

    @api.delete("/futures/{job_id}")
    def abort_future(job_id: str, request: Request) -> Any:
        state.authenticate(request)
        fut = state.futures.get(job_id)
        if fut is None:
            raise DSSError(404, NOT_FOUND, f"Future not found: {job_id}")
        if not fut.has_result(time.time()):
            fut.aborted = True
            if fut.on_abort is not None:
                fut.on_abort()
        return JSONResponse({})

    return api
