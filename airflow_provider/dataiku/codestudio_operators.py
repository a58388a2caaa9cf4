"""Operators for DSS code studios and their templates. Import-light: clients load when a task runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.common.errors import ConfigError, RemoteJobFailed
from airflow_provider.common.links import DataikuCodeStudioLink, DataikuCodeStudioTemplateLink
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.common.templating import RefuseEmptyTemplates

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.hook import SyncPlatformHook
    from airflow_provider.common.jobs import JobStatus, Ref
    from airflow_provider.dataiku.hook import DataikuHook

FUTURE_JOB = "airflow_provider.dataiku.codestudio_jobs.DSSFutureJob"
ON_CONFLICT = ("fail", "skip", "proceed")


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


class DataikuBuildCodeStudioTemplateOperator(RemoteJobOperator):
    """Build a code studio template's image and wait for the build; a failed build fails the task
    with the build's error text. Needs an admin API key."""

    operator_extra_links = (DataikuCodeStudioTemplateLink(),)

    template_fields: Sequence[str] = ("template_id", "conn_id")
    job_class = FUTURE_JOB
    asset_scheme = "dataiku"

    def __init__(self, *, template_id: str, disable_docker_cache: bool = False, dataiku_conn_id: str = "dataiku_default", **kwargs: Any) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)
        self.template_id, self.disable_docker_cache = template_id, disable_docker_cache
        self.declare_platform_asset()

    def asset_parts(self) -> Sequence[str] | None:
        return ("code-studio-templates", self.template_id)

    def submit(self, hook: SyncPlatformHook, context: Context, tag: str) -> Ref:
        answer = hook.build_code_studio_template(self.template_id, self.disable_docker_cache)  # type: ignore[attr-defined]
        return {"job_id": answer.get("jobId"), "what": "template build", "template_id": self.template_id}


class DataikuStartCodeStudioOperator(RemoteJobOperator):
    """Start a code studio and wait until it runs (``restart_if_running`` restarts a running one)."""

    operator_extra_links = (DataikuCodeStudioLink(),)

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "conn_id")
    job_class = FUTURE_JOB
    asset_scheme = "dataiku"

    def __init__(
        self, *, project_key: str, code_studio_id: str, restart_if_running: bool = False, dataiku_conn_id: str = "dataiku_default", **kwargs: Any
    ) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)
        self.project_key, self.code_studio_id, self.restart_if_running = project_key, code_studio_id, restart_if_running
        self.declare_platform_asset()

    def asset_parts(self) -> Sequence[str] | None:
        return (self.project_key, "code-studios", self.code_studio_id)

    def submit(self, hook: SyncPlatformHook, context: Context, tag: str) -> Ref:
        dss: DataikuHook = hook  # type: ignore[assignment]
        ref: Ref = {"what": "code studio start", "project_key": self.project_key, "code_studio_id": self.code_studio_id}
        if dss.get_code_studio_status(self.project_key, self.code_studio_id).state == "RUNNING" and not self.restart_if_running:
            self.log.info("code studio %s.%s is already running", self.project_key, self.code_studio_id)
            return {**ref, "job_id": None}
        return {**ref, "job_id": dss.restart_code_studio(self.project_key, self.code_studio_id).get("jobId")}

    def summary(self, ref: Ref, status: JobStatus | None) -> dict[str, Any]:
        return {**super().summary(ref, status), "code_studio_state": "RUNNING" if status and status.phase.value == "succeeded" else None}


class DataikuStopCodeStudioOperator(RemoteJobOperator):
    """Stop a code studio and wait until it is stopped; a stopped studio is a no-op. Refuses (fails,
    listing the files) while there are conflicting changes, unless ``ignore_conflicts``: stopping
    would strand the studio's edits."""

    operator_extra_links = (DataikuCodeStudioLink(),)

    template_fields: Sequence[str] = ("project_key", "code_studio_id", "conn_id")
    job_class = FUTURE_JOB
    asset_scheme = "dataiku"

    def __init__(
        self, *, project_key: str, code_studio_id: str, ignore_conflicts: bool = False, dataiku_conn_id: str = "dataiku_default", **kwargs: Any
    ) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)
        self.project_key, self.code_studio_id, self.ignore_conflicts = project_key, code_studio_id, ignore_conflicts
        self.declare_platform_asset()

    def asset_parts(self) -> Sequence[str] | None:
        return (self.project_key, "code-studios", self.code_studio_id)

    def submit(self, hook: SyncPlatformHook, context: Context, tag: str) -> Ref:
        dss: DataikuHook = hook  # type: ignore[assignment]
        ref: Ref = {"what": "code studio stop", "project_key": self.project_key, "code_studio_id": self.code_studio_id}
        state = dss.get_code_studio_status(self.project_key, self.code_studio_id).state
        if state == "STOPPED":
            self.log.info("code studio %s.%s is already stopped", self.project_key, self.code_studio_id)
            return {**ref, "job_id": None}
        if state == "RUNNING" and not self.ignore_conflicts:
            described = _describe(_conflicts(dss, self.project_key, self.code_studio_id, None))
            if described:
                raise RemoteJobFailed(f"refusing to stop code studio {self.project_key}.{self.code_studio_id}: conflicting changes in {described}")
        return {**ref, "job_id": dss.stop_code_studio(self.project_key, self.code_studio_id).get("jobId")}


class DataikuSyncCodeStudioZoneOperator(RefuseEmptyTemplates, BaseOperator):
    """Push DSS's files into a running studio (``direction="push"``) or pull the studio's edits back
    (``"pull"``), for one zone or all synced zones. A pull checks conflicts first and, when there are
    some, fails (``on_conflict="fail"``), skips the conflicting zones (``"skip"``) or proceeds.
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
        if on_conflict not in ON_CONFLICT:
            raise ConfigError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got {on_conflict!r}")
        self.project_key, self.code_studio_id, self.direction, self.zone, self.on_conflict = project_key, code_studio_id, direction, zone, on_conflict
        self.dataiku_conn_id = dataiku_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.dataiku.hook import DataikuHook

        hook = DataikuHook(self.dataiku_conn_id)
        zones = [self.zone] if self.zone else hook.get_code_studio_status(self.project_key, self.code_studio_id).get_zones()
        skipped: list[str] = []
        if self.direction == "pull" and self.on_conflict != "proceed":
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
        if on_conflict not in ("fail", "skip", "continue"):
            raise ConfigError(f"on_conflict must be fail, skip or continue, got {on_conflict!r}")
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
