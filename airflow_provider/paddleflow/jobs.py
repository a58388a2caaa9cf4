"""PaddleFlow runs as remote jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.common.flow import Flow, Gather, Shared
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob
from airflow_provider.paddleflow import api

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target

STATUS_PHASE = {"succeeded": Phase.SUCCEEDED, "failed": Phase.FAILED, "terminated": Phase.CANCELLED, "skipped": Phase.CANCELLED,
                "initiating": Phase.RUNNING, "pending": Phase.RUNNING, "running": Phase.RUNNING, "terminating": Phase.RUNNING}  # fmt: skip


def job_summary(run: dict[str, Any]) -> dict[str, str]:
    """step name -> status, for the return value."""
    out = {}
    for name, views in (run.get("runtime") or {}).items():
        for view in views if isinstance(views, list) else [views]:
            out[view.get("stepName") or view.get("name") or name] = view.get("status", "")
    return out


class PaddleflowRunJob(RemoteJob):
    hook_class = "airflow_provider.paddleflow.hook.PaddleflowHook"
    async_hook_class = "airflow_provider.paddleflow.hook.PaddleflowAsyncHook"
    noun = "run"

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("pf-runs",) if self.coalesce_window > 0 else None

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0:
            # one runFilter listing per connection and window answers every wait of the loop
            brief = yield Gather(("pf-runs",), ref["run_id"], self.coalesce_window, api.find_runs)
            if brief is not None and brief.get("status") not in api.RUN_FINAL_STATUS:
                status = str(brief.get("status", ""))
                return JobStatus(STATUS_PHASE.get(status, Phase.UNKNOWN), status, {"run_msg": brief.get("runMsg", "")})
            # ended (or not listed): the step summary is only in the run itself; waits on one run share the read
            run = yield Shared(("pf-run", ref["run_id"]), self.coalesce_window, api.show_run(ref["run_id"]))
        else:
            run = yield from api.show_run(ref["run_id"])
        status = str(run.get("status", ""))
        return JobStatus(STATUS_PHASE.get(status, Phase.UNKNOWN), status, {"run_msg": run.get("runMsg", ""), "jobs": job_summary(run)})

    def cancel(self, ref: Ref) -> Flow[Any]:
        run = yield from api.show_run(ref["run_id"])
        if run.get("status") in api.RUN_FINAL_STATUS:
            return False
        yield from api.stop_run(ref["run_id"])
        return True

    def log_tail(self, ref: Ref, lines: int) -> Flow[str]:
        """The failing jobs' log tails (all jobs when none failed)."""
        run = yield from api.show_run(ref["run_id"])
        failed = api.failed_jobs(run)
        if not failed:
            return (yield from api.log_tail(ref["run_id"], None, lines))
        tails = []
        for job in failed:
            tails.append((yield from api.log_tail(ref["run_id"], job["jobID"], lines)))
        return "\n".join(tails)

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        run = yield from api.show_run(ref["run_id"])
        failed = [f"{j.get('stepName')} ({j.get('jobMessage') or j.get('status')})" for j in api.failed_jobs(run)]
        msg = str(run.get("runMsg") or "")
        return msg + (f"; failed steps: {', '.join(failed)}" if failed else "")

    def url(self, target: Target, ref: Ref) -> str | None:
        return f"{target.base_url}/#/pipeline/runs/{ref['run_id']}"

    def describe(self, ref: Ref) -> str:
        return f"PaddleFlow run {ref['run_id']}"
