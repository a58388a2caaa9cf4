"""Operators for DSS scenarios, code studios and code studio templates. Import-light: models and HTTP clients load when a task runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.common.errors import ConfigError, ProviderError, RemoteJobFailed
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.common.templating import RefuseEmptyTemplates
from airflow_provider.dataiku.links import DataikuCodeStudioLink, DataikuCodeStudioTemplateLink, DataikuScenarioRunLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.jobs import JobStatus, Ref
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


class DataikuRunScenarioOperator(RemoteJobOperator["DataikuHook"]):
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
    project_key: str
    scenario_id: str
    scenario_params: dict[str, Any] | None
    warning_is_success: bool
    fire_timeout: float

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
        self.set_own_fields(
            project_key=project_key, scenario_id=scenario_id, scenario_params=scenario_params, warning_is_success=warning_is_success, fire_timeout=fire_timeout
        )

    def asset_parts(self) -> Sequence[str] | None:
        return (self.project_key, "scenarios", self.scenario_id)

    def job_options(self) -> dict[str, Any]:
        return {"warning_is_success": self.warning_is_success, "coalesce_window": self.poll_interval}

    def submit(self, hook: DataikuHook, context: Context, tag: str) -> Ref:
        from airflow_provider.dataiku.jobs import scenario_run_ref

        params = {**_check_params(self.scenario_params), TI_PARAM: tag}
        fire = hook.run_scenario(self.project_key, self.scenario_id, params)
        run = hook.wait_for_scenario_run(self.project_key, self.scenario_id, fire, timeout=self.fire_timeout)
        if run is None:
            raise ProviderError(
                f"scenario {self.project_key}.{self.scenario_id} was triggered (trigger run {fire.run_id}) but no run started within "
                f"fire_timeout={self.fire_timeout}s: look at the scenario's run queue in DSS, or raise fire_timeout"
            )
        return scenario_run_ref(run)

    def find_existing(self, hook: DataikuHook, context: Context, tag: str) -> Ref | None:
        from airflow_provider.dataiku.jobs import scenario_run_ref

        for run in hook.get_last_runs(self.project_key, self.scenario_id, limit=REATTACH_SCAN):
            if run.running and run.trigger_params.get(TI_PARAM) == tag:
                return scenario_run_ref(run)
        return None

    def find_submitted(self, hook: DataikuHook, context: Context, tag: str, since: float) -> Ref | None:
        from airflow_provider.dataiku.jobs import scenario_run_ref

        for run in hook.get_last_runs(self.project_key, self.scenario_id, limit=REATTACH_SCAN):
            if run.trigger_params.get(TI_PARAM) == tag and (run.running or run.start / 1000 >= since):
                return scenario_run_ref(run)
        return None

    def where_to_look(self, hook: DataikuHook, context: Context, tag: str) -> str:
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


# --- code studios and their templates ------------------------------------------------------------
FUTURE_JOB = "airflow_provider.dataiku.jobs.DSSFutureJob"
#: what a code-studio operator does when a zone has conflicts: fail the task, skip it, or go on
ON_CONFLICT = ("fail", "skip", "continue")


def _check_on_conflict(value: str) -> None:
    if value not in ON_CONFLICT:
        raise ConfigError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got {value!r}")


def _conflicts(hook: DataikuHook, project_key: str, code_studio_id: str, zones: list[str] | None) -> dict[str, Any]:
    """zone -> conflicts, over ``zones`` or every zone the running studio syncs. Unknown zones raise."""
    names = zones or hook.get_code_studio_status(project_key, code_studio_id).get_zones()
    found = {}
    for zone in names:
        conflicts = hook.check_code_studio_conflicts(project_key, code_studio_id, zone)
        if conflicts.is_error:
            raise ConfigError(f"code studio {project_key}.{code_studio_id}: {conflicts.error}")
        found[zone] = conflicts
    return found


def _describe(conflicts: dict[str, Any]) -> str:
    return "; ".join(f"{zone}: {', '.join(c.files)} (changed in DSS by {', '.join(c.authors) or '?'})" for zone, c in conflicts.items() if c.files)


class DataikuBuildCodeStudioTemplateOperator(RemoteJobOperator["DataikuHook"]):
    """Build a code studio template's image and wait for the build; a failed build fails the task
    with the build's error text. Needs an admin API key."""

    operator_extra_links = (DataikuCodeStudioTemplateLink(),)

    template_fields: Sequence[str] = ("template_id", "conn_id")
    job_class = FUTURE_JOB
    asset_scheme = "dataiku"
    template_id: str
    disable_docker_cache: bool

    def __init__(self, *, template_id: str, disable_docker_cache: bool = False, dataiku_conn_id: str = "dataiku_default", **kwargs: Any) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)
        self.set_own_fields(template_id=template_id, disable_docker_cache=disable_docker_cache)

    def asset_parts(self) -> Sequence[str] | None:
        return ("code-studio-templates", self.template_id)

    def submit(self, hook: DataikuHook, context: Context, tag: str) -> Ref:
        answer = hook.build_code_studio_template(self.template_id, self.disable_docker_cache)
        return {"job_id": answer.get("jobId"), "what": "template build", "template_id": self.template_id}


class DataikuStartCodeStudioOperator(RemoteJobOperator["DataikuHook"]):
    """Start a code studio and wait until it runs (``restart_if_running`` restarts a running one)."""

    operator_extra_links = (DataikuCodeStudioLink(),)

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "conn_id")
    job_class = FUTURE_JOB
    asset_scheme = "dataiku"
    project_key: str
    code_studio_id: str
    restart_if_running: bool

    def __init__(
        self, *, project_key: str, code_studio_id: str, restart_if_running: bool = False, dataiku_conn_id: str = "dataiku_default", **kwargs: Any
    ) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)
        self.set_own_fields(project_key=project_key, code_studio_id=code_studio_id, restart_if_running=restart_if_running)

    def asset_parts(self) -> Sequence[str] | None:
        return (self.project_key, "code-studios", self.code_studio_id)

    def submit(self, hook: DataikuHook, context: Context, tag: str) -> Ref:
        ref: Ref = {"what": "code studio start", "project_key": self.project_key, "code_studio_id": self.code_studio_id}
        if hook.get_code_studio_status(self.project_key, self.code_studio_id).state == "RUNNING" and not self.restart_if_running:
            self.log.info("code studio %s.%s is already running", self.project_key, self.code_studio_id)
            return {**ref, "job_id": None}
        return {**ref, "job_id": hook.restart_code_studio(self.project_key, self.code_studio_id).get("jobId")}

    def summary(self, ref: Ref, status: JobStatus | None) -> dict[str, Any]:
        return {**super().summary(ref, status), "code_studio_state": "RUNNING" if status and status.phase.value == "succeeded" else None}


class DataikuStopCodeStudioOperator(RemoteJobOperator["DataikuHook"]):
    """Stop a code studio and wait until it is stopped; a stopped studio is a no-op. Refuses (fails,
    listing the files) while there are conflicting changes, unless ``ignore_conflicts``: stopping
    would strand the studio's edits."""

    operator_extra_links = (DataikuCodeStudioLink(),)

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "conn_id")
    job_class = FUTURE_JOB
    asset_scheme = "dataiku"
    project_key: str
    code_studio_id: str
    ignore_conflicts: bool

    def __init__(
        self, *, project_key: str, code_studio_id: str, ignore_conflicts: bool = False, dataiku_conn_id: str = "dataiku_default", **kwargs: Any
    ) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)
        self.set_own_fields(project_key=project_key, code_studio_id=code_studio_id, ignore_conflicts=ignore_conflicts)

    def asset_parts(self) -> Sequence[str] | None:
        return (self.project_key, "code-studios", self.code_studio_id)

    def submit(self, hook: DataikuHook, context: Context, tag: str) -> Ref:
        ref: Ref = {"what": "code studio stop", "project_key": self.project_key, "code_studio_id": self.code_studio_id}
        state = hook.get_code_studio_status(self.project_key, self.code_studio_id).state
        if state == "STOPPED":
            self.log.info("code studio %s.%s is already stopped", self.project_key, self.code_studio_id)
            return {**ref, "job_id": None}
        if state == "RUNNING" and not self.ignore_conflicts:
            described = _describe(_conflicts(hook, self.project_key, self.code_studio_id, None))
            if described:
                raise RemoteJobFailed(f"refusing to stop code studio {self.project_key}.{self.code_studio_id}: conflicting changes in {described}")
        return {**ref, "job_id": hook.stop_code_studio(self.project_key, self.code_studio_id).get("jobId")}


class DataikuSyncCodeStudioZoneOperator(RefuseEmptyTemplates, BaseOperator):
    """Push DSS's files into a running studio (``direction="push"``) or pull the studio's edits back
    (``"pull"``), for one zone or all synced zones. A pull checks conflicts first and, when there are
    some, fails (``on_conflict="fail"``), skips the conflicting zones (``"skip"``) or goes on (``"continue"``).
    Returns ``{"direction", "zones": {zone: {"count", "size"}}, "skipped": [...]}``."""

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "zone", "dataiku_conn_id")

    def __init__(
        self,
        *,
        project_key: str,
        code_studio_id: str,
        direction: str,
        zone: str | None = None,
        on_conflict: str = "fail",
        dataiku_conn_id: str = "dataiku_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if direction not in ("push", "pull"):
            raise ConfigError(f"direction must be 'push' or 'pull', got {direction!r}")
        _check_on_conflict(on_conflict)
        self.project_key, self.code_studio_id, self.direction, self.zone, self.on_conflict = project_key, code_studio_id, direction, zone, on_conflict
        self.dataiku_conn_id = dataiku_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.dataiku.hook import DataikuHook

        hook = DataikuHook(self.dataiku_conn_id)
        zones = [self.zone] if self.zone else hook.get_code_studio_status(self.project_key, self.code_studio_id).get_zones()
        skipped: list[str] = []
        if self.direction == "pull" and self.on_conflict != "continue":
            conflicts = _conflicts(hook, self.project_key, self.code_studio_id, zones)
            described = _describe(conflicts)
            if described:
                self.log.warning("conflicting files: %s", described)
                if self.on_conflict == "fail":
                    raise RemoteJobFailed(f"refusing to pull from code studio {self.project_key}.{self.code_studio_id}: conflicting changes in {described}")
                skipped = [z for z, c in conflicts.items() if c.files]
        done = {}
        for zone in [z for z in zones if z not in skipped]:
            sync = hook.push_to_code_studio if self.direction == "push" else hook.pull_from_code_studio
            answer = sync(self.project_key, self.code_studio_id, zone)
            if "error" in answer:
                raise ConfigError(f"code studio {self.project_key}.{self.code_studio_id}: {answer['error']}")
            counts = answer.get(zone, answer)
            done[zone] = {"count": counts.get("count", 0), "size": counts.get("size", 0)}
        return {"direction": self.direction, "zones": done, "skipped": skipped}


class DataikuCheckCodeStudioConflictsOperator(RefuseEmptyTemplates, BaseOperator):
    """Report conflicting changes between a running studio and DSS, for one zone or all. When there
    are some: ``on_conflict="fail"`` fails the task, ``"skip"`` skips it (and, with the default trigger
    rule, everything downstream: a short-circuit), ``"continue"`` just returns the summary.
    Returns ``{"has_conflicts", "zones": {zone: {"added", "modified", "deleted", "authors", ...}}}``."""

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "zones", "dataiku_conn_id")

    def __init__(
        self,
        *,
        project_key: str,
        code_studio_id: str,
        zones: list[str] | None = None,
        on_conflict: str = "fail",
        dataiku_conn_id: str = "dataiku_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _check_on_conflict(on_conflict)
        self.project_key, self.code_studio_id, self.zones, self.on_conflict, self.dataiku_conn_id = (
            project_key,
            code_studio_id,
            zones,
            on_conflict,
            dataiku_conn_id,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from airflow_provider.dataiku.hook import DataikuHook

        conflicts = _conflicts(DataikuHook(self.dataiku_conn_id), self.project_key, self.code_studio_id, self.zones)
        described = _describe(conflicts)
        result = {"has_conflicts": bool(described), "zones": {z: c.summary() for z, c in conflicts.items()}}
        if described:
            self.log.warning("conflicting files: %s", described)
            if self.on_conflict == "fail":
                raise RemoteJobFailed(f"code studio {self.project_key}.{self.code_studio_id} has conflicting changes in {described}")
            if self.on_conflict == "skip":
                raise AirflowSkipException(f"conflicting changes in {described}")
        return result
