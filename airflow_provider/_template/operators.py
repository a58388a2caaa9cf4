"""Operators for Acme runs. Import-light: DAG files import this at parse time, so the hook, the
models and the HTTP client load only when a task runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider._template.links import AcmeRunLink
from airflow_provider.common.operator import RemoteJobOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider._template.hook import AcmeHook
    from airflow_provider.common.jobs import Ref


class AcmeRunOperator(RemoteJobOperator["AcmeHook"]):
    """Start an Acme run and (by default) wait for it, in place or deferred.

    The run carries the task instance's tag, so a retry (or a submit whose answer was lost) adopts
    the run this task instance started instead of starting a second one.
    """

    operator_extra_links = (AcmeRunLink(),)
    template_fields: Sequence[str] = ("name", "parameters", "conn_id")
    job_class = "airflow_provider._template.jobs.AcmeRunJob"
    name: str
    parameters: dict[str, Any] | None

    def __init__(self, *, name: str, parameters: dict[str, Any] | None = None, acme_conn_id: str = "acme_default", **kwargs: Any) -> None:
        super().__init__(conn_id=acme_conn_id, **kwargs)
        self.set_own_fields(name=name, parameters=parameters)

    def submit(self, hook: AcmeHook, context: Context, tag: str) -> Ref:
        return {"run_id": hook.start_run(self.name, tag, self.parameters).id}

    def find_existing(self, hook: AcmeHook, context: Context, tag: str) -> Ref | None:
        from airflow_provider._template.states import FINAL_STATES

        live = [r for r in hook.list_runs(tag) if r.state not in FINAL_STATES]
        return {"run_id": live[-1].id} if live else None

    def find_submitted(self, hook: AcmeHook, context: Context, tag: str, since: float) -> Ref | None:
        mine = [r for r in hook.list_runs(tag) if r.created >= since]
        return {"run_id": mine[-1].id} if mine else None
