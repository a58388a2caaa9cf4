"""PaddleFlow runs as remote jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider.common.flow import Flow, Gather
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob
from airflow_provider.paddleflow import models
from airflow_provider.paddleflow.api import runs
from airflow_provider.paddleflow.models import job_summary
from airflow_provider.paddleflow.states import FINAL_STATES, STATE_PHASE

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target


def _status(run: dict[str, Any], more: dict[str, Any] | None = None) -> JobStatus:
    """A run's (or a listed brief's) status; only the run itself has the step summary."""
    status = str(run.get("status", ""))
    return JobStatus(STATE_PHASE.get(status, Phase.UNKNOWN), status, {"run_msg": run.get("runMsg", ""), **(more or {})})


def _statuses(run_ids: Sequence[str]) -> Flow[dict[str, JobStatus]]:
    """The listed runs' statuses: a window keeps one status per distinct state and message (most
    waits share one: running, no message), not a brief per wait."""
    found = yield from runs.find_runs(run_ids)
    shared: dict[tuple[Any, Any], JobStatus] = {}
    statuses = {}
    for run_id, brief in found.items():
        said = (brief.get("status"), brief.get("runMsg"))
        statuses[run_id] = shared.get(said) or shared.setdefault(said, _status(brief))
    return statuses


class PaddleFlowRunJob(RemoteJob):
    hook_class = "airflow_provider.paddleflow.hook.PaddleFlowHook"
    async_hook_class = "airflow_provider.paddleflow.hook.PaddleFlowAsyncHook"
    noun = "run"
    read_detail = "jobs"

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("pf-runs",) if self.coalesce_window > 0 else None

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0:
            # one runFilter listing per connection and window answers every wait of the loop, its
            # end included; the step summary is only in the run itself, which the task reads when
            # it resumes (``settle``): 10,000 reads as runs end would saturate the triggerer
            listed: JobStatus | None = yield Gather(("pf-runs",), ref["run_id"], self.coalesce_window, _statuses)
            if listed is not None:
                return listed
        return (yield from self.read(ref))

    def read(self, ref: Ref) -> Flow[JobStatus]:
        run = yield from runs.show_run(ref["run_id"])
        return _status(run, {"jobs": job_summary(run)})

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
