"""DSS scenario runs as remote jobs: state, abort, log tail, error details, UI link."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from airflow_provider.common.errors import ServerError
from airflow_provider.common.flow import Flow, Shared
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob, read_if_few
from airflow_provider.dataiku.api import codestudios, futures, scenarios
from airflow_provider.dataiku.states import STATE_PHASE

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target
    from airflow_provider.dataiku.models import ScenarioRun


def scenario_run_ref(run: ScenarioRun) -> Ref:
    return {"project_key": run.scenario.project_key, "scenario_id": run.scenario.id, "run_id": run.run_id, "start": run.start}


class ScenarioRunJob(RemoteJob):
    """A run of a DSS scenario.

    :param warning_is_success: whether a WARNING outcome counts as success.
    :param coalesce_window: when > 0, waits on runs of one project share one scenario-list call per
        window (in the triggerer, every wait of the loop): a run still listed as running with the
        same start needs no call of its own, and of the runs that ended, up to ``FINAL_READS`` per
        project and window are read there, the rest by their tasks. 0 polls each run's details.
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
            phase = STATE_PHASE.get(outcome, Phase.UNKNOWN)
        return JobStatus(phase, outcome, {"outcome": outcome, "duration_s": round(run.duration, 3)})

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0 and ref.get("start"):
            project = ref["project_key"]
            starts = yield Shared(("dss-scenarios", project), self.coalesce_window, scenarios.run_starts(project))
            start = starts.get(ref["scenario_id"])
            # DSS runs a scenario once at a time: running with our start time means our run still runs
            if start == ref["start"]:
                return JobStatus(Phase.RUNNING, "RUNNING", {"start": start})
            if start is not None:
                # listed, and our run is over: DSS lists no outcomes, so a few ended runs per
                # project and window are read here, the rest by their tasks (``settle``)
                ids = (ref["scenario_id"], ref["run_id"])
                run = yield from read_if_few(("dss-ended", project), ids, self.coalesce_window, functools.partial(_read_run, project))
                # the run, not its status, comes back: a batch serves waits with other options
                return self.classify(run) if run is not None else JobStatus(Phase.ENDED, "ENDED", {})
            # not listed (the scenario was deleted?): the run's own read tells
        return (yield from self.read(ref))

    def read(self, ref: Ref) -> Flow[JobStatus]:
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


class _DataikuJob(RemoteJob):
    hook_class = "airflow_provider.dataiku.hook.DataikuHook"
    async_hook_class = "airflow_provider.dataiku.hook.DataikuAsyncHook"

    def url(self, target: Target, ref: Ref) -> str | None:
        from airflow_provider.dataiku.hook import dss_ui_base

        if ref.get("code_studio_id"):
            return f"{dss_ui_base(target)}/projects/{ref['project_key']}/code-studios/{ref['code_studio_id']}/"
        if ref.get("template_id"):
            return f"{dss_ui_base(target)}/admin/code-studios/{ref['template_id']}/"
        return None


def _read_run(project_key: str, ids: tuple[str, str]) -> Flow[ScenarioRun]:
    return (yield from scenarios.get_run(project_key, *ids))


def _future_status(job_id: str) -> Flow[JobStatus]:
    try:
        state = yield from futures.get_future(job_id, peek=True)
    except ServerError as err:
        # DSS reports a failed future by answering its state with an error envelope
        return JobStatus(Phase.FAILED, "FAILED", {"error": err.platform_message})
    if not state.has_result:
        return JobStatus(Phase.RUNNING, "RUNNING", {})
    if state.aborted:
        return JobStatus(Phase.CANCELLED, "ABORTED", {})
    return JobStatus(Phase.SUCCEEDED, "DONE", {})


class DSSFutureJob(_DataikuJob):
    """A DSS future. ``ref``: ``job_id`` (None when DSS answered at once, with nothing to wait for).

    In the triggerer, every wait of a connection shares one listing of its running futures per
    window; a future that left the listing is read for its outcome (a failed one answers 500 with
    the error, which the listing does not carry): up to ``FINAL_READS`` per window there, the rest
    by their tasks when they resume. A future never listed (another user's) is read on its own.
    """

    noun = "job"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        #: whether this wait saw its future in the running listing: one that leaves it has ended
        #: (the listing shows the connection's own running futures; another user's is never in it)
        self._listed = False

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("dss-futures",) if self.coalesce_window > 0 and ref.get("job_id") else None

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0 and ref.get("job_id"):
            running = yield Shared(("dss-futures",), self.coalesce_window, futures.running_job_ids())
            if ref["job_id"] in running:
                self._listed = True
                return JobStatus(Phase.RUNNING, "RUNNING", {})
            if self._listed:
                # a failed future's error is only in its own answer: a few are read here per
                # window, the rest by their tasks (``settle``)
                status = yield from read_if_few(("dss-futures-ended",), ref["job_id"], self.coalesce_window, _future_status)
                return status if status is not None else JobStatus(Phase.ENDED, "ENDED", {})
        return (yield from self.read(ref))

    def read(self, ref: Ref) -> Flow[JobStatus]:
        if not ref.get("job_id"):
            return JobStatus(Phase.SUCCEEDED, "DONE", {})
        return (yield from _future_status(ref["job_id"]))

    def cancel(self, ref: Ref) -> Flow[Any]:
        if ref.get("job_id"):
            yield from futures.abort_future(ref["job_id"])

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        if False:  # pragma: no cover - the error came with the state
            yield
        return str(status.detail.get("error") or "")

    def describe(self, ref: Ref) -> str:
        return f"DSS {ref.get('what', 'job')} {ref.get('job_id') or '(done at once)'}"


class CodeStudioStateJob(_DataikuJob):
    """A code studio's state (STOPPED, STARTING, RUNNING, STOPPING): never "finished", so a sensor
    ends on its target states."""

    noun = "code studio"

    def status(self, ref: Ref) -> Flow[JobStatus]:
        status = yield from codestudios.get_status(ref["project_key"], ref["code_studio_id"])
        return JobStatus(Phase.RUNNING, status.state, {"zones": status.get_zones()})

    def cancel(self, ref: Ref) -> Flow[Any]:
        if False:  # pragma: no cover - a sensor never stops the studio it watches
            yield
        return None

    def describe(self, ref: Ref) -> str:
        return f"code studio {ref['project_key']}.{ref['code_studio_id']}"
