"""Sensor for Aqueduct tasks (task-based servers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider.aqueduct.links import AqueductExperimentLink
from airflow_provider.common.sensor import RemoteJobSensor

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.aqueduct.hook import AqueductHook
    from airflow_provider.common.jobs import Ref


class AqueductTaskSensor(RemoteJobSensor["AqueductHook"]):
    """Wait for a task to reach one of ``target_states`` (default SUCCESS); FAILURE or REVOKED
    otherwise fail the sensor with the stderr tail."""

    operator_extra_links = (AqueductExperimentLink(),)

    template_fields: Sequence[str] = ("task_uuid", "conn_id")
    job_class = "airflow_provider.aqueduct.jobs.AqueductTaskJob"

    def __init__(self, *, task_uuid: str, target_states: Sequence[str] = ("SUCCESS",), aqueduct_conn_id: str = "aqueduct_default", **kwargs: Any) -> None:
        super().__init__(conn_id=aqueduct_conn_id, target_states=list(target_states), **kwargs)
        self.task_uuid = task_uuid

    def resolve_ref(self, hook: AqueductHook, context: Context) -> Ref | None:
        return {"task_id": self.task_uuid}
