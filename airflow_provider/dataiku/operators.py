"""Operators for DSS scenarios. Import-light: models and HTTP clients load when a task runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.common.errors import ConfigError, ProviderError
from airflow_provider.common.links import DataikuScenarioRunLink
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.common.templating import RefuseEmptyTemplates

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.hook import SyncPlatformHook
    from airflow_provider.common.jobs import Ref
    from airflow_provider.dataiku.hook import DataikuHook

#: the trigger param that carries the task instance identity, so a retry finds its own run
TI_PARAM = "airflow_task_instance"
REATTACH_SCAN = 20


def _check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ConfigError(f"scenario_params must be a dict of JSON values (passed to the scenario as trigger params), got {type(params).__name__}")
    try:
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"scenario_params must be JSON-serialisable: {exc}") from None
    if TI_PARAM in params:
        raise ConfigError(f"scenario_params may not set {TI_PARAM!r}: the operator uses it to tag runs")
    return params


class DataikuRunScenarioOperator(RemoteJobOperator):
    """Run a DSS scenario and (by default) wait for its outcome.

    The run's trigger params carry the task instance identity, so a retried task re-attaches to
    the run its earlier try started (if still running) instead of starting the scenario twice.

    :param project_key: DSS project key.
    :param scenario_id: scenario id.
    :param scenario_params: trigger params passed to the scenario (JSON-able dict).
    :param warning_is_success: a WARNING outcome succeeds the task (True, default) or fails it.
    :param dataiku_conn_id: the DSS connection.
    :param fire_timeout: seconds to wait for the trigger fire to start a run.

    Also every :class:`~airflow_provider.common.operator.RemoteJobOperator` parameter
    (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``timeout``, ``cancel_on_timeout``...).
    Returns ``{"project_key", "scenario_id", "run_id", "state", "outcome", "duration_s", "url", "waited"}``.
    """

    operator_extra_links = (DataikuScenarioRunLink(),)

    template_fields: Sequence[str] = ("project_key", "scenario_id", "scenario_params", "conn_id")
    template_fields_renderers = {"scenario_params": "json"}
    job_class = "airflow_provider.dataiku.jobs.ScenarioRunJob"
    asset_scheme = "dataiku"

    def __init__(
        self,
        *,
        project_key: str,
        scenario_id: str,
        scenario_params: dict[str, Any] | None = None,
        warning_is_success: bool = True,
        dataiku_conn_id: str = "dataiku_default",
        fire_timeout: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)
        self.project_key = project_key
        self.scenario_id = scenario_id
        self.scenario_params = scenario_params
        self.warning_is_success = warning_is_success
        self.fire_timeout = fire_timeout
        self.declare_platform_asset()

    def asset_parts(self) -> Sequence[str] | None:
        return (self.project_key, "scenarios", self.scenario_id)

    def job_options(self) -> dict[str, Any]:
        return {"warning_is_success": self.warning_is_success, "coalesce_window": self.poll_interval}

    def submit(self, hook: SyncPlatformHook, context: Context, tag: str) -> Ref:
        from airflow_provider.dataiku.jobs import scenario_run_ref

        dss: DataikuHook = hook  # type: ignore[assignment]
        params = {**_check_params(self.scenario_params), TI_PARAM: tag}
        fire = dss.run_scenario(self.project_key, self.scenario_id, params)
        run = dss.wait_for_scenario_run(self.project_key, self.scenario_id, fire, timeout=self.fire_timeout)
        if run is None:
            raise ProviderError(
                f"scenario {self.project_key}.{self.scenario_id} was triggered (trigger run {fire.run_id}) but no run started within "
                f"fire_timeout={self.fire_timeout}s: look at the scenario's run queue in DSS, or raise fire_timeout"
            )
        return scenario_run_ref(run)

    def find_existing(self, hook: SyncPlatformHook, context: Context, tag: str) -> Ref | None:
        from airflow_provider.dataiku.jobs import scenario_run_ref

        dss: DataikuHook = hook  # type: ignore[assignment]
        for run in dss.get_last_runs(self.project_key, self.scenario_id, limit=REATTACH_SCAN):
            if run.running and run.trigger_params.get(TI_PARAM) == tag:
                return scenario_run_ref(run)
        return None

    def find_submitted(self, hook: SyncPlatformHook, context: Context, tag: str, since: float) -> Ref | None:
        from airflow_provider.dataiku.jobs import scenario_run_ref

        dss: DataikuHook = hook  # type: ignore[assignment]
        for run in dss.get_last_runs(self.project_key, self.scenario_id, limit=REATTACH_SCAN):
            if run.trigger_params.get(TI_PARAM) == tag and (run.running or run.start / 1000 >= since):
                return scenario_run_ref(run)
        return None

    def where_to_look(self, hook: SyncPlatformHook, context: Context, tag: str) -> str:
        return f"look at the last runs of scenario {self.project_key}.{self.scenario_id} (trigger param {TI_PARAM}={tag!r}) on {hook.target.base_url}"


class DataikuAbortScenarioOperator(RefuseEmptyTemplates, BaseOperator):
    """Abort a scenario's current run (a no-op when it is not running, as in DSS).

    :param run_id: abort only if this run is the current one (guards against aborting a newer run).
    Returns ``{"aborted": bool, "run_id": str | None}``.
    """

    template_fields: Sequence[str] = ("project_key", "scenario_id", "run_id", "dataiku_conn_id")

    def __init__(self, *, project_key: str, scenario_id: str, run_id: str | None = None, dataiku_conn_id: str = "dataiku_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project_key = project_key
        self.scenario_id = scenario_id
        self.run_id = run_id
        self.dataiku_conn_id = dataiku_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.dataiku.hook import DataikuHook

        hook = DataikuHook(self.dataiku_conn_id)
        current = hook.get_current_run(self.project_key, self.scenario_id)
        if current is None or (self.run_id and current.run_id != self.run_id):
            self.log.info("scenario %s.%s: nothing to abort (current run: %s)", self.project_key, self.scenario_id, current.run_id if current else None)
            return {"aborted": False, "run_id": current.run_id if current else None}
        hook.abort_scenario(self.project_key, self.scenario_id)
        self.log.info("aborted scenario %s.%s run %s", self.project_key, self.scenario_id, current.run_id)
        return {"aborted": True, "run_id": current.run_id}


# the code-studio operators live in their own module; importable from here too
from airflow_provider.dataiku.codestudio_operators import (  # noqa: E402
    DataikuBuildCodeStudioTemplateOperator,
    DataikuCheckCodeStudioConflictsOperator,
    DataikuStartCodeStudioOperator,
    DataikuStopCodeStudioOperator,
    DataikuSyncCodeStudioZoneOperator,
)

__all__ = [
    "DataikuAbortScenarioOperator",
    "DataikuBuildCodeStudioTemplateOperator",
    "DataikuCheckCodeStudioConflictsOperator",
    "DataikuRunScenarioOperator",
    "DataikuStartCodeStudioOperator",
    "DataikuStopCodeStudioOperator",
    "DataikuSyncCodeStudioZoneOperator",
]
