"""Sensor for DSS code studio states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider.common.links import DataikuCodeStudioLink
from airflow_provider.common.sensor import RemoteJobSensor

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.hook import SyncPlatformHook
    from airflow_provider.common.jobs import Ref


class DataikuCodeStudioStateSensor(RemoteJobSensor):
    """Wait until a code studio is in one of ``target_states`` (default RUNNING)."""

    operator_extra_links = (DataikuCodeStudioLink(),)

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "conn_id")
    job_class = "airflow_provider.dataiku.codestudio_jobs.CodeStudioStateJob"

    def __init__(
        self, *, project_key: str, code_studio_id: str, target_states: Sequence[str] = ("RUNNING",), dataiku_conn_id: str = "dataiku_default", **kwargs: Any
    ) -> None:
        super().__init__(conn_id=dataiku_conn_id, target_states=list(target_states), **kwargs)
        self.project_key, self.code_studio_id = project_key, code_studio_id

    def resolve_ref(self, hook: SyncPlatformHook, context: Context) -> Ref | None:
        return {"project_key": self.project_key, "code_studio_id": self.code_studio_id}
