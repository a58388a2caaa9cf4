"""DSS scenario runs as remote jobs: state, abort, log tail, error details, UI link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.common.flow import Flow, Shared
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob
from airflow_provider.dataiku.api import scenarios

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target
    from airflow_provider.dataiku.api.models import ScenarioRun

OUTCOME_PHASE = {"SUCCESS": Phase.SUCCEEDED, "FAILED": Phase.FAILED, "ABORTED": Phase.CANCELLED}


def scenario_run_ref(run: ScenarioRun) -> Ref:
    return {"project_key": run.scenario.project_key, "scenario_id": run.scenario.id, "run_id": run.run_id, "start": run.start}


class ScenarioRunJob(RemoteJob):
    """A run of a DSS scenario.

    :param warning_is_success: whether a WARNING outcome counts as success.
    :param coalesce_window: when > 0, waits on runs of one project share one scenario-list call per
        window (in the triggerer, every wait of the loop): a run still listed as running with the
        same start needs no call of its own. 0 polls each run's details.
    """

    hook_class = "airflow_provider.dataiku.hook.DataikuHook"
    async_hook_class = "airflow_provider.dataiku.hook.DataikuAsyncHook"
    noun = "scenario run"

    def __init__(self, warning_is_success: bool = True, coalesce_window: float = 0.0) -> None:
        super().__init__(warning_is_success=warning_is_success, coalesce_window=coalesce_window)
        self.warning_is_success = warning_is_success
        self.coalesce_window = coalesce_window

    def classify(self, run: ScenarioRun) -> JobStatus:
        if run.running:
            return JobStatus(Phase.RUNNING, "RUNNING", {"start": run.start})
        outcome = run.outcome or "UNKNOWN"
        if outcome == "WARNING":
            phase = Phase.SUCCEEDED if self.warning_is_success else Phase.FAILED
        else:
            phase = OUTCOME_PHASE.get(outcome, Phase.UNKNOWN)
        return JobStatus(phase, outcome, {"outcome": outcome, "duration_s": round(run.duration, 3)})

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0 and ref.get("start"):
            listing = yield Shared(("dss-scenarios", ref["project_key"]), self.coalesce_window, scenarios.list_scenarios(ref["project_key"]))
            item = next((i for i in listing if i.id == ref["scenario_id"]), None)
            # DSS runs a scenario once at a time: running with our start time means our run still runs
            if item is not None and item.running and item.start == ref["start"]:
                return JobStatus(Phase.RUNNING, "RUNNING", {"start": item.start})
            # DSS lists no outcomes: the run that ended is read once for every wait on it (the
            # transport bounds how many such reads are in flight when thousands end together)
            key = ("dss-run", ref["project_key"], ref["scenario_id"], ref["run_id"])
            run = yield Shared(key, self.coalesce_window, scenarios.get_run(ref["project_key"], ref["scenario_id"], ref["run_id"]))
            return self.classify(run)
        run = yield from scenarios.get_run(ref["project_key"], ref["scenario_id"], ref["run_id"])
        return self.classify(run)

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("dss-scenarios", ref["project_key"]) if self.coalesce_window > 0 and ref.get("start") else None

    def cancel(self, ref: Ref) -> Flow[Any]:
        # DSS aborts "the scenario", i.e. whatever run is current: only abort if that run is ours
        current = yield from scenarios.get_current_run(ref["project_key"], ref["scenario_id"])
        if current is None or current.run_id != ref["run_id"]:
            return False
        yield from scenarios.abort(ref["project_key"], ref["scenario_id"])
        return True

    def log_tail(self, ref: Ref, lines: int) -> Flow[str]:
        text = yield from scenarios.get_run_log(ref["project_key"], ref["scenario_id"], ref["run_id"])
        return "\n".join(text.splitlines()[-lines:])

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        details = yield from scenarios.get_run_details(ref["project_key"], ref["scenario_id"], ref["run_id"])
        error = details.first_error_details
        if not error:
            return ""
        failed_step = next((s.step.get("name") for s in details.steps if s.outcome == "FAILED"), None)
        where = f"step {failed_step!r}: " if failed_step else ""
        return f"{where}{error.get('message') or error.get('title')} ({error.get('clazz', '').rsplit('.', 1)[-1]})"

    def url(self, target: Target, ref: Ref) -> str | None:
        from airflow_provider.dataiku.hook import dss_ui_base

        return f"{dss_ui_base(target)}/projects/{ref['project_key']}/scenarios/{ref['scenario_id']}/runs/list/{ref['run_id']}"

    def describe(self, ref: Ref) -> str:
        return f"scenario {ref['project_key']}.{ref['scenario_id']} run {ref['run_id']}"
