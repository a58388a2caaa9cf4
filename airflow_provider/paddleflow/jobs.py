"""PaddleFlow runs as remote jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.common.flow import Flow, Gather, Shared
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob
from airflow_provider.paddleflow import models
from airflow_provider.paddleflow.api import runs
from airflow_provider.paddleflow.models import job_summary
from airflow_provider.paddleflow.states import FINAL_STATES, STATE_PHASE

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target


class PaddleFlowRunJob(RemoteJob):
    hook_class = "airflow_provider.paddleflow.hook.PaddleFlowHook"
    async_hook_class = "airflow_provider.paddleflow.hook.PaddleFlowAsyncHook"
    noun = "run"

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("pf-runs",) if self.coalesce_window > 0 else None

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0:
            # one runFilter listing per connection and window answers every wait of the loop
            brief = yield Gather(("pf-runs",), ref["run_id"], self.coalesce_window, runs.find_runs)
            if brief is not None and brief.get("status") not in FINAL_STATES:
                status = str(brief.get("status", ""))
                return JobStatus(STATE_PHASE.get(status, Phase.UNKNOWN), status, {"run_msg": brief.get("runMsg", "")})
            # ended (or not listed): the step summary is only in the run itself; waits on one run share the read
            run = yield Shared(("pf-run", ref["run_id"]), self.coalesce_window, runs.show_run(ref["run_id"]))
        else:
            run = yield from runs.show_run(ref["run_id"])
        status = str(run.get("status", ""))
        return JobStatus(STATE_PHASE.get(status, Phase.UNKNOWN), status, {"run_msg": run.get("runMsg", ""), "jobs": job_summary(run)})

    def cancel(self, ref: Ref) -> Flow[Any]:
        run = yield from runs.show_run(ref["run_id"])
        if run.get("status") in FINAL_STATES:
            return False
        yield from runs.stop_run(ref["run_id"])
        return True

    def log_tail(self, ref: Ref, lines: int) -> Flow[str]:
        """The failing jobs' log tails (all jobs when none failed)."""
        run = yield from runs.show_run(ref["run_id"])
        failed = models.failed_jobs(run)
        if not failed:
            return (yield from runs.log_tail(ref["run_id"], None, lines))
        tails = []
        for job in failed:
            tails.append((yield from runs.log_tail(ref["run_id"], job["jobID"], lines)))
        return "\n".join(tails)

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        run = yield from runs.show_run(ref["run_id"])
        failed = [f"{j.get('stepName')} ({j.get('jobMessage') or j.get('status')})" for j in models.failed_jobs(run)]
        msg = str(run.get("runMsg") or "")
        return msg + (f"; failed steps: {', '.join(failed)}" if failed else "")

    def url(self, target: Target, ref: Ref) -> str | None:
        return f"{target.base_url}/#/pipeline/runs/{ref['run_id']}"

    def describe(self, ref: Ref) -> str:
        return f"PaddleFlow run {ref['run_id']}"
