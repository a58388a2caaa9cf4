"""DHCore runs as remote jobs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider.common.errors import ProviderError
from airflow_provider.common.flow import Flow, Gather
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob
from airflow_provider.digitalhub.api import runs
from airflow_provider.digitalhub.models import Run
from airflow_provider.digitalhub.states import STATE_PHASE

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target


def run_ref(run: Run) -> Ref:
    return {"project": run.project, "run_id": run.id, "kind": run.kind}


def classify(run: Run) -> JobStatus:
    state = run.state
    phase = STATE_PHASE.get(state, Phase.RUNNING)
    raw = str(run.status.get("state", "UNKNOWN"))
    detail: dict[str, Any] = {"key": f"store://{run.project}/run/{run.kind}/{run.id}"}
    if run.message:
        detail["message"] = run.message
    return JobStatus(phase, raw, detail)


def _statuses(project: str, run_ids: Sequence[str]) -> Flow[dict[str, JobStatus]]:
    """The statuses of the listed runs among ``run_ids``: a window keeps one small status per wait,
    not the whole run with its spec (at 10,000 waits the runs held were most of the triggerer's RSS)."""
    found = yield from runs.find_runs(project, run_ids)
    return {run_id: classify(run) for run_id, run in found.items()}


class DigitalHubRunJob(RemoteJob):
    hook_class = "airflow_provider.digitalhub.hook.DigitalHubHook"
    async_hook_class = "airflow_provider.digitalhub.hook.DigitalHubAsyncHook"
    noun = "run"

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("dh-runs", ref["project"]) if self.coalesce_window > 0 else None

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0:
            # one newest-first listing per project and window answers every wait of the loop, final
            # state and message included; a run it does not reach is read on its own below
            listed: JobStatus | None = yield Gather(
                ("dh-runs", ref["project"]), ref["run_id"], self.coalesce_window, functools.partial(_statuses, ref["project"])
            )
            if listed is not None:
                return listed
        # a run deleted under us answers 404: a permanent error, so the wait ends at this poll (in
        # the triggerer), with the message that the run no longer exists
        run = yield from runs.get_run(ref["run_id"], ref["project"])
        return classify(run)

    def cancel(self, ref: Ref) -> Flow[Any]:
        """Stop the run and follow it to ``STOPPED`` (``stop_timeout`` seconds, option); a run DHCore
        cannot stop yet (``READY``/``PENDING``) is deleted with ``delete_if_not_started``. Returns
        what happened, for the task log; raises when the run was left not ended."""
        outcome = yield from runs.stop_run_and_wait(
            ref["run_id"], ref["project"], timeout=float(self._options.get("stop_timeout", 60.0)),
            delete_if_not_started=bool(self._options.get("delete_if_not_started", False)),
        )  # fmt: skip
        if not outcome["ended"]:
            raise ProviderError(outcome["message"])
        return outcome["message"]

    def log_tail(self, ref: Ref, lines: int) -> Flow[str]:
        text = yield from runs.get_run_logs(ref["run_id"], ref["project"])
        return "\n".join(text.splitlines()[-lines:])

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        if False:  # pragma: no cover - a generator without requests: the message came with the state
            yield
        return str(status.detail.get("message") or "")

    def url(self, target: Target, ref: Ref) -> str | None:
        root = target.base_url.rstrip("/")
        return f"{root}/#/{ref['project']}/runs/{ref['run_id']}"

    def describe(self, ref: Ref) -> str:
        return f"DigitalHub run {ref['project']}/{ref['run_id']}"
