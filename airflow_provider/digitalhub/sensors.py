"""Sensor for DigitalHub runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider.common.sensor import RemoteJobSensor
from airflow_provider.digitalhub.links import DigitalHubRunLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.jobs import Ref
    from airflow_provider.digitalhub.hook import DigitalHubHook


class DigitalHubRunSensor(RemoteJobSensor["DigitalHubHook"]):
    """Wait for a run (by key, or id + project) to reach one of ``target_states`` (default COMPLETED).

    Another terminal state (ERROR, STOPPED) fails the sensor with the run's message and log tail.
    """

    operator_extra_links = (DigitalHubRunLink(),)

    template_fields: Sequence[str] = ("identifier", "project", "conn_id")
    job_class = "airflow_provider.digitalhub.jobs.DigitalHubRunJob"

    def __init__(
        self,
        *,
        identifier: str,
        project: str | None = None,
        target_states: Sequence[str] = ("COMPLETED",),
        digitalhub_conn_id: str = "digitalhub_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=digitalhub_conn_id, target_states=list(target_states), **kwargs)
        self.identifier = identifier
        self.project = project

    def resolve_ref(self, hook: DigitalHubHook, context: Context) -> Ref | None:
        from airflow_provider.digitalhub.api.runs import parse_key

        project, run_id = parse_key(self.identifier, self.project)
        run = hook.get_run(run_id, project)
        return {"project": project, "run_id": run_id, "kind": run.kind}
