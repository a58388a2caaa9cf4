"""Sensor for PaddleFlow runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider.common.sensor import RemoteJobSensor
from airflow_provider.paddleflow.links import PaddleFlowRunLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.jobs import Ref
    from airflow_provider.paddleflow.hook import PaddleFlowHook


class PaddleFlowRunSensor(RemoteJobSensor["PaddleFlowHook"]):
    """Wait for a run to reach one of ``target_states`` (default ``succeeded``); another final
    status fails the sensor with the failing jobs' log tail."""

    operator_extra_links = (PaddleFlowRunLink(),)

    template_fields: Sequence[str] = ("run_id", "conn_id")
    job_class = "airflow_provider.paddleflow.jobs.PaddleFlowRunJob"

    def __init__(self, *, run_id: str, target_states: Sequence[str] = ("succeeded",), paddleflow_conn_id: str = "paddleflow_default", **kwargs: Any) -> None:
        super().__init__(conn_id=paddleflow_conn_id, target_states=list(target_states), **kwargs)
        self.run_id = run_id

    def resolve_ref(self, hook: PaddleFlowHook, context: Context) -> Ref | None:
        return {"run_id": self.run_id}
