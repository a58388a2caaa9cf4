"""Acme runs as remote jobs: state, cancel, UI link (what the generic wait machinery asks of a platform)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider._template.api import runs
from airflow_provider._template.states import STATE_PHASE
from airflow_provider.common.flow import Flow
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target


class AcmeRunJob(RemoteJob):
    """An Acme run. ``ref``: ``{"run_id"}``."""

    hook_class = "airflow_provider._template.hook.AcmeHook"
    async_hook_class = "airflow_provider._template.hook.AcmeAsyncHook"

    def status(self, ref: Ref) -> Flow[JobStatus]:
        run = yield from runs.get_run(ref["run_id"])
        return JobStatus(STATE_PHASE.get(run.state, Phase.UNKNOWN), run.state, {"message": run.message} if run.message else {})

    def cancel(self, ref: Ref) -> Flow[Any]:
        yield from runs.cancel_run(ref["run_id"])

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        if False:  # pragma: no cover - the message came with the state
            yield
        return str(status.detail.get("message") or "")

    def url(self, target: Target, ref: Ref) -> str | None:
        return f"{target.base_url}/ui/runs/{ref['run_id']}"

    def describe(self, ref: Ref) -> str:
        return f"Acme run {ref['run_id']}"
