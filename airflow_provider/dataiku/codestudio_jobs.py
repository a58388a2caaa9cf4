"""DSS futures (template builds, code studio start/stop) and code studio states as remote jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.common.errors import ServerError
from airflow_provider.common.flow import Flow, Shared
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob
from airflow_provider.dataiku.api import codestudios, futures

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target


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


def running_future_ids() -> Flow[frozenset[str]]:
    """The ids of the connection's futures still running: one ``GET /futures/`` for every wait."""
    listed = yield from futures.list_futures()
    return frozenset(f.job_id for f in listed if f.job_id and not f.has_result)


class DSSFutureJob(_DataikuJob):
    """A DSS future. ``ref``: ``job_id`` (None when DSS answered at once, with nothing to wait for).

    In the triggerer, every wait of a connection shares one listing of its running futures per
    window; a future that left the listing is read once, for its outcome (a failed one answers 500
    with the error, which the listing does not carry).
    """

    noun = "job"

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("dss-futures",) if self.coalesce_window > 0 and ref.get("job_id") else None

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if not ref.get("job_id"):
            return JobStatus(Phase.SUCCEEDED, "DONE", {})
        if self.coalesce_window > 0:
            running = yield Shared(("dss-futures",), self.coalesce_window, running_future_ids())
            if ref["job_id"] in running:
                return JobStatus(Phase.RUNNING, "RUNNING", {})
        try:
            state = yield from futures.get_future(ref["job_id"], peek=True)
        except ServerError as err:
            # DSS reports a failed future by answering its state with an error envelope
            return JobStatus(Phase.FAILED, "FAILED", {"error": err.platform_message})
        if not state.has_result:
            return JobStatus(Phase.RUNNING, "RUNNING", {})
        if state.aborted:
            return JobStatus(Phase.CANCELLED, "ABORTED", {})
        return JobStatus(Phase.SUCCEEDED, "DONE", {})

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
