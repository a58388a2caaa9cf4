"""Emulated DSS scenarios: trigger fires, runs with steps, logs, JUnit reports, futures."""

import copy
import datetime as dt
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from airflow_provider.testing.dataiku.core import ILLEGAL_ARGUMENT, DSSError, DSSState, Future, User, boolean, compact, get_or_404, json_body, now_ms

MANUAL_TRIGGER = {"id": "manual", "type": "manual", "name": "Manual trigger"}


@dataclass
class Fire:
    trigger_run_id: str
    params: dict[str, Any]
    created: float
    cancelled: bool = False
    run: "Run | None" = None

    def to_json(self) -> dict[str, Any]:
        return {"trigger": dict(MANUAL_TRIGGER), "runId": self.trigger_run_id, "params": self.params, "cancelled": self.cancelled}


@dataclass
class Run:
    run_id: str
    scenario: "Scenario"
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
                message = f"Step {self.steps()[-1]['name']} failed"  # the last step is the one that fails
                result["thrown"] = {"clazz": "com.dataiku.dip.scenario.StepFailedException", "message": message}
            out["result"] = result
        answer: dict[str, Any] = compact(out)
        return answer

    def steps(self) -> list[dict[str, Any]]:
        return self.scenario.settings.get("params", {}).get("steps") or [{"id": "step_0", "name": "Run", "type": "custom_python"}]

    def step_runs(self, now: float, step_id: str | None = None) -> list[dict[str, Any]]:
        """The step runs started by ``now``; only ``step_id``'s (a step id or a step run id) if given.

        The steps share the run's time; every step succeeds but the last, which ends as the run does.
        """
        steps = self.steps()
        slot = self.duration / len(steps)
        stop = float("inf") if self.aborted_at is None else self.aborted_at
        out = []
        for i, step in enumerate(steps):
            begin = self.start + i * slot
            if now < begin or stop < begin:
                break
            finish = begin + slot
            item: dict[str, Any] = {"runId": f"{self.run_id}-s{i}", "retryIndex": 0, "start": int(begin * 1000), "step": step}
            item["additionalReportItems"] = []
            if now >= finish or self.aborted_at is not None:
                outcome = "ABORTED" if stop < finish else self.outcome if i == len(steps) - 1 else "SUCCESS"
                item["end"] = int(min(finish, stop) * 1000)
                job_id = f"Build_{step['id']}_{self.run_id}"
                report: dict[str, Any] = {"type": "JOB_EXECUTED", "jobId": job_id, "outcome": outcome, "start": item["start"], "end": item["end"]}
                result: dict[str, Any] = {"outcome": outcome, "type": "STEP_DONE"}
                if outcome == "FAILED":
                    result["thrown"] = report["thrown"] = {
                        "clazz": "com.dataiku.dip.exceptions.DKUSQLException",
                        "title": "Job failed",
                        "message": self.error,
                        "code": "ERR_RECIPE_PYTHON_EXCEPTION",
                    }
                if outcome == "WARNING":
                    result["warnings"] = {"totalCount": 1, "warnings": {"CHECK": 1}}
                item.update(result=result, additionalReportItems=[report])
            if not step_id or step_id in (step["id"], item["runId"]):
                out.append(item)
        return out

    def log(self, now: float, step_id: str | None) -> str:
        lines = []
        for step_run in self.step_runs(now, step_id):
            step = step_run["step"]
            stamp = dt.datetime.fromtimestamp(step_run["start"] / 1000, tz=dt.UTC).strftime("%Y/%m/%d-%H:%M:%S.%f")[:-3]
            lines.append(f"[{stamp}] [INFO] [dku.scenario.step] - Running step {step['name']} ({step['type']})")
            lines += [f"[{stamp}] [INFO] [dku.job] - {step['name']}: activity {n + 1} of 3 done" for n in range(3)]
            result = step_run.get("result")
            if result:
                if result["outcome"] == "FAILED":
                    lines.append(f"[{stamp}] [ERROR] [dku.job] - {self.error}")
                lines.append(f"[{stamp}] [INFO] [dku.scenario.step] - Step {step['name']} done: {result['outcome']}")
        return "\n".join(lines) + ("\n" if lines else "")

    def junit(self, now: float, step_id: str | None) -> str:
        cases = []
        for step_run in self.step_runs(now, step_id):
            outcome = (step_run.get("result") or {}).get("outcome", "RUNNING")
            failure = f'<failure message="{escape(self.error)}"/>' if outcome == "FAILED" else ""
            cases.append(f'<testcase classname="{escape(self.scenario.id)}" name="{escape(step_run["step"]["name"])}">{failure}</testcase>')
        failures = sum("<failure" in c for c in cases)
        suite = f'<testsuite name="{escape(self.scenario.id)}" tests="{len(cases)}" failures="{failures}">'
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{suite}{"".join(cases)}</testsuite>\n'


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

    def light(self, now: float) -> dict[str, Any]:
        """The scenario as the scenario list shows it (``/light`` adds to this)."""
        current = self.current(now)
        return {**self.ref(), "active": self.settings.get("active"), "running": current is not None,
                "start": int(current.start * 1000) if current else 0, "tags": self.settings.get("tags", [])}  # fmt: skip

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

    def add_project(self, key: str) -> dict[str, Scenario]:
        """A project (its scenarios by id) is made when first named."""
        project: dict[str, Scenario] = self.state.projects.setdefault(key, {})
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
        project[scenario_id] = scenario
        return scenario

    def scenario(self, project_key: str, scenario_id: str) -> Scenario:
        scenarios: dict[str, Scenario] = self.state.project(project_key)
        return get_or_404(scenarios, scenario_id, f"Scenario not found: {project_key}.{scenario_id}")

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


def router(part: Scenarios) -> APIRouter:
    """The scenario and future routes; path parameters resolve to the objects they name, after DSS's auth."""
    state = part.state
    Caller = Annotated[User, Depends(state.authenticate)]

    def tick() -> None:
        part.tick(time.time())  # the clock advances when state is read

    def scenario(pk: str, sid: str) -> Scenario:
        return part.scenario(pk, sid)

    ScenarioArg = Annotated[Scenario, Depends(scenario)]

    def run_of(s: ScenarioArg, run_id: str) -> Run:
        return get_or_404({r.run_id: r for r in s.runs}, run_id, f"Scenario run not found: {s.project_key}.{s.id}.{run_id}")

    RunArg = Annotated[Run, Depends(run_of)]
    api = APIRouter(dependencies=[Depends(state.authenticate), Depends(tick)])

    @api.get("/projects/{pk}/scenarios/")
    def list_scenarios(pk: str) -> Any:
        now = time.time()
        return [compact(s.light(now)) for s in state.project(pk).values()]

    @api.post("/projects/{pk}/scenarios/")
    async def create_scenario(pk: str, request: Request) -> Any:
        state.project(pk)
        body = await json_body(request, {})
        if not isinstance(body, dict) or not body.get("name"):
            raise DSSError(400, ILLEGAL_ARGUMENT, "A scenario needs a name")
        scenario_id = "".join(ch for ch in body["name"].upper() if ch.isalnum() or ch == "_") or state.new_id("SC")
        steps = (body.get("params") or {}).get("steps")
        s = part.add_scenario(pk, scenario_id, body["name"], steps=steps, type=body.get("type", "step_based"))
        return {"id": s.id, "name": s.name}

    @api.get("/projects/{pk}/scenarios/testing-status")
    def testing_status(pk: str) -> Any:
        now = time.time()
        per: Counter[str] = Counter()
        for s in state.project(pk).values():
            outcomes = [o for o in (r.outcome_at(now) for r in s.runs) if o]
            if s.settings.get("markedAsTest") and outcomes:
                per[outcomes[-1]] += 1  # a test scenario counts with the outcome of its last finished run
        return {"nbTotalRanScenarios": sum(per.values()), "nbScenariosPerOutcome": dict(per)}

    @api.get("/projects/{pk}/discussions/SCENARIO/{sid}/")
    def discussions(s: ScenarioArg) -> Any:
        return []

    @api.get("/projects/{pk}/scenarios/trigger/{sid}/{tid}")
    def trigger_fire(s: ScenarioArg, tid: str, triggerRunId: str = "") -> Any:
        fires = {f.trigger_run_id: f for f in s.fires} if tid == "manual" else {}
        return get_or_404(fires, triggerRunId, f"Trigger fire not found: {s.project_key}.{s.id}.{tid}.{triggerRunId}").to_json()

    @api.get("/projects/{pk}/scenarios/{sid}/light")
    def light(s: ScenarioArg) -> Any:
        next_run = now_ms() + 3_600_000 if s.settings.get("active") and s.settings.get("triggers") else 0
        return compact({**s.light(time.time()), "shortDesc": s.settings.get("shortDesc", ""), "nextRun": next_run})

    @api.put("/projects/{pk}/scenarios/{sid}/light")
    async def set_light(s: ScenarioArg, request: Request) -> Any:
        body = await json_body(request, {})
        # through the light view only these fields change; DSS silently drops the rest
        s.settings.update({key: body[key] for key in ("active", "checklists", "description", "shortDesc", "tags") if key in body})
        return {}

    @api.get("/projects/{pk}/scenarios/{sid}/payload")
    def get_payload(s: ScenarioArg) -> Any:
        return {"script": s.script, "extension": "py"}

    @api.put("/projects/{pk}/scenarios/{sid}/payload")
    async def set_payload(s: ScenarioArg, request: Request) -> Any:
        body = await json_body(request, {})
        if not isinstance(body, dict) or not isinstance(body.get("script"), str):
            raise DSSError(400, ILLEGAL_ARGUMENT, "payload needs a 'script' string")
        s.script = body["script"]
        return {}

    @api.post("/projects/{pk}/scenarios/{sid}/run")
    async def run(s: ScenarioArg, request: Request) -> Any:
        params = await json_body(request, {})
        if not isinstance(params, dict):
            raise DSSError(400, ILLEGAL_ARGUMENT, f"Trigger params must be a JSON object, got {type(params).__name__}")
        return part.fire(s, params, time.time()).to_json()

    @api.post("/projects/{pk}/scenarios/{sid}/abort")
    def abort(s: ScenarioArg) -> Any:
        current = s.current(time.time())
        if current is not None:
            current.aborted_at = time.time()
        return {}

    @api.get("/projects/{pk}/scenarios/{sid}/get-last-runs")
    def last_runs(s: ScenarioArg, limit: int = 10, onlyFinishedRuns: str = "false") -> Any:
        now = time.time()
        runs = [r for r in reversed(s.runs) if not boolean(onlyFinishedRuns) or r.end(now) is not None]
        return [r.summary(now) for r in runs[: max(0, limit)]]

    @api.get("/projects/{pk}/scenarios/{sid}/get-runs-by-date")
    def runs_by_date(s: ScenarioArg, fromDate: str = "", toDate: str = "") -> Any:
        try:
            lo = dt.datetime.strptime(fromDate, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp() if fromDate else 0
            hi = dt.datetime.strptime(toDate, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp() if toDate else float("inf")
        except ValueError:
            raise DSSError(400, ILLEGAL_ARGUMENT, f"Bad date (expected yyyy-MM-dd): {fromDate!r} / {toDate!r}") from None
        now = time.time()
        return [r.summary(now) for r in reversed(s.runs) if lo <= r.start < hi]

    @api.get("/projects/{pk}/scenarios/{sid}/get-run-for-trigger")
    def run_for_trigger(s: ScenarioArg, triggerId: str = "", triggerRunId: str = "") -> Any:
        runs = [f.run for f in s.fires if f.trigger_run_id == triggerRunId and f.run is not None]
        return {"scenarioRun": runs[0].summary(time.time())} if runs else {}

    @api.get("/projects/{pk}/scenarios/{sid}")
    def get_settings(s: ScenarioArg) -> Any:
        return copy.deepcopy(s.settings)

    @api.put("/projects/{pk}/scenarios/{sid}")
    async def save_settings(s: ScenarioArg, request: Request) -> Any:
        body = await json_body(request, {})
        if not isinstance(body, dict):
            raise DSSError(400, ILLEGAL_ARGUMENT, "scenario settings must be a JSON object")
        s.settings = {**body, "projectKey": s.project_key, "id": s.id}
        s.name = body.get("name", s.name)
        return {}

    @api.delete("/projects/{pk}/scenarios/{sid}")
    def delete(s: ScenarioArg) -> Any:
        del state.projects[s.project_key][s.id]
        return {}

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/")
    def run_details(run: RunArg) -> Any:
        now = time.time()
        return {"scenarioRun": run.summary(now), "stepRuns": run.step_runs(now)}

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/log")
    def run_log(run: RunArg, stepId: str | None = None) -> Any:
        return PlainTextResponse(run.log(time.time(), stepId))

    def report(run: Run, step_id: str | None) -> Response:
        if not run.scenario.settings.get("markedAsTest"):
            raise DSSError(400, ILLEGAL_ARGUMENT, f"Scenario {run.scenario.project_key}.{run.scenario.id} is not marked as a test scenario")
        return Response(run.junit(time.time(), step_id), media_type="application/xml")

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/scenario-run-report")
    def run_report(run: RunArg) -> Any:
        return report(run, None)

    @api.get("/projects/{pk}/scenarios/{sid}/{run_id}/step-run-report")
    def step_report(run: RunArg, stepId: str = "") -> Any:
        if not stepId:
            raise DSSError(400, ILLEGAL_ARGUMENT, "stepId is required")
        return report(run, stepId)

    @api.get("/futures/")
    def list_futures(user: Caller, withScenarios: str = "false", withNotScenarios: str = "true", allUsers: str = "false") -> Any:
        now = time.time()
        kinds = {True: boolean(withScenarios), False: boolean(withNotScenarios)}  # keyed by Future.is_scenario
        return [f.state(now, peek=True) for f in state.futures.values()
                if not f.has_result(now) and kinds[f.is_scenario] and (boolean(allUsers) or f.owner == user.login)]  # fmt: skip

    @api.get("/futures/{job_id}")
    def get_future(job_id: str, peek: str = "false") -> Any:
        return state.future(job_id).state(time.time(), peek=boolean(peek))

    @api.delete("/futures/{job_id}")
    def abort_future(job_id: str) -> Any:
        state.future(job_id).abort(time.time())
        return JSONResponse({})

    return api
