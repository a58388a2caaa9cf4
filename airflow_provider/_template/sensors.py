"""Sensor for Acme runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider._template.links import AcmeRunLink
from airflow_provider.common.sensor import RemoteJobSensor

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider._template.hook import AcmeHook
    from airflow_provider.common.jobs import Ref


class AcmeRunSensor(RemoteJobSensor["AcmeHook"]):
    """Wait for a run to reach one of ``target_states`` (default SUCCEEDED); another final state fails the sensor."""

    operator_extra_links = (AcmeRunLink(),)
    template_fields: Sequence[str] = ("run_id", "conn_id")
    job_class = "airflow_provider._template.jobs.AcmeRunJob"

    def __init__(self, *, run_id: str, target_states: Sequence[str] = ("SUCCEEDED",), acme_conn_id: str = "acme_default", **kwargs: Any) -> None:
        super().__init__(conn_id=acme_conn_id, target_states=list(target_states), **kwargs)
        self.run_id = run_id

    def resolve_ref(self, hook: AcmeHook, context: Context) -> Ref | None:
        return {"run_id": self.run_id}
