"""Sensor for DSS scenario runs ("wait for scenario")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.sensor import RemoteJobSensor
from airflow_provider.dataiku.links import DataikuCodeStudioLink, DataikuScenarioRunLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.jobs import Ref
    from airflow_provider.dataiku.hook import DataikuHook


class DataikuScenarioRunSensor(RemoteJobSensor["DataikuHook"]):
    """Wait for a DSS scenario run to end with an expected outcome.

    :param run_id: a given run; else ``which`` picks the scenario's ``"current"`` run (the one
        running now or, if it already ended, one that started during this DAG run; else the sensor
        waits for one to start) or its ``"last"`` run (the newest, running or finished).
    :param expected_outcomes: outcomes that succeed the sensor (default SUCCESS and WARNING); any
        other outcome fails it with the run's error details and log tail.
    """

    operator_extra_links = (DataikuScenarioRunLink(),)

    template_fields: Sequence[str] = ("project_key", "scenario_id", "run_id", "conn_id")
    job_class = "airflow_provider.dataiku.jobs.ScenarioRunJob"

    def __init__(
        self,
        *,
        project_key: str,
        scenario_id: str,
        run_id: str | None = None,
        which: Literal["current", "last"] = "last",
        expected_outcomes: Sequence[str] = ("SUCCESS", "WARNING"),
        dataiku_conn_id: str = "dataiku_default",
        **kwargs: Any,
    ) -> None:
        if which not in ("current", "last"):
            raise ConfigError(f"which must be 'current' or 'last', got {which!r}")
        super().__init__(conn_id=dataiku_conn_id, target_states=list(expected_outcomes), **kwargs)
        self.project_key = project_key
        self.scenario_id = scenario_id
        self.run_id = run_id
        self.which = which

    def job_options(self) -> dict[str, Any]:
        return {"coalesce_window": self.poll_interval}

    def resolve_ref(self, hook: DataikuHook, context: Context) -> Ref | None:
        if self.run_id:
            return {"project_key": self.project_key, "scenario_id": self.scenario_id, "run_id": self.run_id}
        from airflow_provider.dataiku.jobs import scenario_run_ref

        runs = hook.get_last_runs(self.project_key, self.scenario_id, limit=1)
        run = runs[0] if runs else None
        if run is not None and self.which == "current" and not run.running and not self._started_in_this_dag_run(run.start, context):
            # nothing runs now, and the last run is older than this DAG run: wait for one to start
            return None
        return scenario_run_ref(run) if run is not None else None

    @staticmethod
    def _started_in_this_dag_run(start_ms: int, context: Context) -> bool:
        """A run that already finished still counts as "current" if it began during this DAG run
        (a reschedule-mode sensor may poke only after a short run has ended)."""
        dag_run = context.get("dag_run")
        began = getattr(dag_run, "start_date", None) or getattr(dag_run, "run_after", None)
        return began is not None and start_ms / 1000 >= began.timestamp()


class DataikuCodeStudioStateSensor(RemoteJobSensor["DataikuHook"]):
    """Wait until a code studio is in one of ``target_states`` (default RUNNING)."""

    operator_extra_links = (DataikuCodeStudioLink(),)

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "conn_id")
    job_class = "airflow_provider.dataiku.jobs.CodeStudioStateJob"

    def __init__(
        self, *, project_key: str, code_studio_id: str, target_states: Sequence[str] = ("RUNNING",), dataiku_conn_id: str = "dataiku_default", **kwargs: Any
    ) -> None:
        super().__init__(conn_id=dataiku_conn_id, target_states=list(target_states), **kwargs)
        self.project_key, self.code_studio_id = project_key, code_studio_id

    def resolve_ref(self, hook: DataikuHook, context: Context) -> Ref | None:
        return {"project_key": self.project_key, "code_studio_id": self.code_studio_id}
