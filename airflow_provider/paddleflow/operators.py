"""Operators for PaddleFlow. Import-light: models and HTTP clients load when a task runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.common.templating import RefuseEmptyTemplates
from airflow_provider.paddleflow.links import PaddleFlowRunLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.jobs import JobStatus, Ref
    from airflow_provider.paddleflow.hook import PaddleFlowHook


def _hook(conn_id: str) -> PaddleFlowHook:
    from airflow_provider.paddleflow.hook import PaddleFlowHook

    return PaddleFlowHook(conn_id)


def _yaml(yaml_file: str | None, yaml_raw: str | None) -> str | None:
    from airflow_provider.paddleflow.api.base import yaml_text

    return yaml_text(yaml_file=yaml_file) if yaml_file else yaml_text(yaml_raw=yaml_raw) if yaml_raw else None


class PaddleFlowCreateRunOperator(RemoteJobOperator["PaddleFlowHook"]):
    """Start a PaddleFlow run from a YAML file, raw YAML, or a pipeline version, and (by default) wait.

    The run's description carries the task instance identity, so a retried task re-attaches to its
    own active run instead of starting a second one. ``timeout`` and ``on_kill`` stop the run; on
    failure the failing jobs' log tails go to the task log. Returns ``{"run_id", "state", "jobs", "url", "waited"}``.
    """

    operator_extra_links = (PaddleFlowRunLink(),)

    # yaml_raw is not templated: PaddleFlow's own {{param}} syntax would clash with Jinja
    template_fields: Sequence[str] = ("yaml_file", "pipeline_id", "pipeline_version_id", "run_name", "parameters", "fs_name", "desc", "conn_id")
    template_fields_renderers = {"parameters": "json"}
    job_class = "airflow_provider.paddleflow.jobs.PaddleFlowRunJob"
    asset_scheme = "paddleflow"
    yaml_file: str | None
    yaml_raw: str | None
    pipeline_id: str | None
    pipeline_version_id: str | None
    run_name: str | None
    parameters: dict[str, Any] | None
    disabled: list[str] | None
    docker_env: str | None
    failure_strategy: str | None
    fs_name: str | None
    desc: str | None

    def __init__(
        self,
        *,
        yaml_file: str | None = None,
        yaml_raw: str | None = None,
        pipeline_id: str | None = None,
        pipeline_version_id: str | None = None,
        run_name: str | None = None,
        parameters: dict[str, Any] | None = None,
        disabled: list[str] | None = None,
        docker_env: str | None = None,
        failure_strategy: str | None = None,
        fs_name: str | None = None,
        desc: str | None = None,
        paddleflow_conn_id: str = "paddleflow_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=paddleflow_conn_id, **kwargs)
        if sum(x is not None for x in (yaml_file, yaml_raw, pipeline_id)) != 1:
            raise ConfigError("PaddleFlowCreateRunOperator needs exactly one of yaml_file, yaml_raw or pipeline_id")
        if failure_strategy not in (None, "fail_fast", "continue"):
            raise ConfigError(f"failure_strategy must be fail_fast or continue, got {failure_strategy!r}")
        self.set_own_fields(
            yaml_file=yaml_file, yaml_raw=yaml_raw, pipeline_id=pipeline_id, pipeline_version_id=pipeline_version_id, run_name=run_name,
            parameters=parameters, disabled=disabled, docker_env=docker_env, failure_strategy=failure_strategy, fs_name=fs_name, desc=desc,
        )  # fmt: skip

    def asset_parts(self) -> Sequence[str] | None:
        if self.pipeline_id:
            return ("pipelines", self.pipeline_id)
        return ("runs", self.run_name or self.task_id)

    def submit(self, hook: PaddleFlowHook, context: Context, tag: str) -> Ref:
        run_id = hook.create_run(
            fs_name=self.fs_name, run_name=self.run_name, desc=f"{self.desc or ''} [{tag}]".strip(), run_yaml_raw=_yaml(self.yaml_file, self.yaml_raw),
            pipeline_id=self.pipeline_id, pipeline_version_id=self.pipeline_version_id, param=self.parameters, disabled=self.disabled,
            docker_env=self.docker_env, failure_options={"strategy": self.failure_strategy} if self.failure_strategy else None,
        )  # fmt: skip
        return {"run_id": run_id}

    def find_existing(self, hook: PaddleFlowHook, context: Context, tag: str) -> Ref | None:
        runs = hook.list_run(status="initiating,pending,running", max_keys=500, all_pages=True)["runList"]
        mine = [r for r in runs if f"[{tag}]" in (r.get("description") or "")]
        return {"run_id": mine[-1]["runID"]} if mine else None

    def find_submitted(self, hook: PaddleFlowHook, context: Context, tag: str, since: float) -> Ref | None:
        from airflow_provider.paddleflow.states import ACTIVE_STATES

        runs = hook.list_run(max_keys=500, all_pages=True)["runList"]
        mine = [
            r for r in runs
            if f"[{tag}]" in (r.get("description") or "") and (r.get("status") in ACTIVE_STATES or _local_epoch(r.get("createTime")) >= since)
        ]  # fmt: skip
        return {"run_id": mine[-1]["runID"]} if mine else None

    def where_to_look(self, hook: PaddleFlowHook, context: Context, tag: str) -> str:
        return f"look for a run whose description ends with [{tag}] on {hook.target.base_url}"


def _local_epoch(value: Any) -> float:
    """PaddleFlow's ``createTime`` (server local time, ``%Y-%m-%d %H:%M:%S``) as epoch seconds; 0 if unreadable."""
    import datetime as dt

    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").timestamp()
    except ValueError:
        return 0.0


class PaddleFlowRetryRunOperator(RemoteJobOperator["PaddleFlowHook"]):
    """Retry a failed or terminated run. PaddleFlow makes a NEW run (succeeded steps are not re-run);
    the operator returns its id and, by default, waits for it."""

    operator_extra_links = (PaddleFlowRunLink(),)

    template_fields: Sequence[str] = ("run_id", "conn_id")
    job_class = "airflow_provider.paddleflow.jobs.PaddleFlowRunJob"
    asset_scheme = "paddleflow"
    run_id: str

    def __init__(self, *, run_id: str, paddleflow_conn_id: str = "paddleflow_default", **kwargs: Any) -> None:
        super().__init__(conn_id=paddleflow_conn_id, **kwargs)
        self.set_own_fields(run_id=run_id)

    def asset_parts(self) -> Sequence[str] | None:
        # the retried run's id is usually templated: the asset names the task that retries
        return ("runs", self.task_id)

    def submit(self, hook: PaddleFlowHook, context: Context, tag: str) -> Ref:
        new_id = hook.retry_run(self.run_id)
        self.log.info("retry of %s is run %s", self.run_id, new_id)
        return {"run_id": new_id, "retry_of": self.run_id}

    def where_to_look(self, hook: PaddleFlowHook, context: Context, tag: str) -> str:
        # a retry makes a new run that cannot carry this task's tag
        return f"look for a new run retried from {self.run_id} on {hook.target.base_url}"

    def summary(self, ref: Ref, status: JobStatus | None) -> dict[str, Any]:
        return super().summary(ref, status)


class PaddleFlowStopRunOperator(RefuseEmptyTemplates, BaseOperator):
    """Stop a run. Stopping a finished run is an error in PaddleFlow (403); ``ignore_finished``
    turns that into a no-op."""

    template_fields: Sequence[str] = ("run_id", "paddleflow_conn_id")

    def __init__(
        self, *, run_id: str, force: bool = False, ignore_finished: bool = False, paddleflow_conn_id: str = "paddleflow_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.run_id, self.force, self.ignore_finished, self.paddleflow_conn_id = run_id, force, ignore_finished, paddleflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.common.errors import ApiError

        hook = _hook(self.paddleflow_conn_id)
        try:
            hook.stop_run(self.run_id, force=self.force)
        except ApiError as err:
            if err.code == "ActionNotAllowed" and self.ignore_finished:
                self.log.info("run %s is already finished: nothing to stop", self.run_id)
                return {"run_id": self.run_id, "stopped": False, "state": hook.show_run(self.run_id).get("status")}
            raise
        return {"run_id": self.run_id, "stopped": True, "state": hook.show_run(self.run_id).get("status")}


class PaddleFlowCreatePipelineOperator(RefuseEmptyTemplates, BaseOperator):
    """Create a pipeline from YAML; when one of that name exists, return it (``if_exists="reuse"``)
    or add the YAML as its new version (``if_exists="new_version"``)."""

    template_fields: Sequence[str] = ("yaml_file", "desc", "paddleflow_conn_id")  # not yaml_raw: PaddleFlow's {{}} clash with Jinja

    def __init__(
        self,
        *,
        yaml_file: str | None = None,
        yaml_raw: str | None = None,
        desc: str | None = None,
        if_exists: str = "reuse",
        paddleflow_conn_id: str = "paddleflow_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (yaml_file is None) == (yaml_raw is None):
            raise ConfigError("PaddleFlowCreatePipelineOperator needs exactly one of yaml_file or yaml_raw")
        if if_exists not in ("reuse", "new_version", "fail"):
            raise ConfigError(f"if_exists must be reuse, new_version or fail, got {if_exists!r}")
        self.yaml_file, self.yaml_raw, self.desc, self.if_exists, self.paddleflow_conn_id = yaml_file, yaml_raw, desc, if_exists, paddleflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        import yaml

        from airflow_provider.common.errors import ApiError

        text = _yaml(self.yaml_file, self.yaml_raw) or ""
        hook = _hook(self.paddleflow_conn_id)
        try:
            created = hook.create_pipeline(yaml_raw=text, desc=self.desc)
            return {"pipeline_id": created["pipelineID"], "pipeline_version_id": created["pipelineVersionID"], "name": created["name"], "created": True}
        except ApiError as err:
            if err.code != "DuplicatedName" or self.if_exists == "fail":
                raise
        name = yaml.safe_load(text)["name"]
        (existing,) = [p for p in hook.list_pipeline(name_filter=name, all_pages=True)["pipelineList"] if p["name"] == name][:1] or [None]
        if existing is None:
            raise ConfigError(f"pipeline {name!r} exists for another user; cannot reuse it")
        if self.if_exists == "new_version":
            version = hook.update_pipeline(existing["pipelineID"], yaml_raw=text, desc=self.desc)["pipelineVersionID"]
        else:
            versions = hook.show_pipeline(existing["pipelineID"])["pplVersions"]["pplVersionList"]
            version = versions[-1]["pipelineVersionID"]
        return {"pipeline_id": existing["pipelineID"], "pipeline_version_id": version, "name": name, "created": False}


class PaddleFlowUpdatePipelineOperator(RefuseEmptyTemplates, BaseOperator):
    """Add a new version to a pipeline (the YAML's name must be the pipeline's)."""

    template_fields: Sequence[str] = ("pipeline_id", "yaml_file", "desc", "paddleflow_conn_id")

    def __init__(
        self,
        *,
        pipeline_id: str,
        yaml_file: str | None = None,
        yaml_raw: str | None = None,
        desc: str | None = None,
        paddleflow_conn_id: str = "paddleflow_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (yaml_file is None) == (yaml_raw is None):
            raise ConfigError("PaddleFlowUpdatePipelineOperator needs exactly one of yaml_file or yaml_raw")
        self.pipeline_id, self.yaml_file, self.yaml_raw, self.desc, self.paddleflow_conn_id = pipeline_id, yaml_file, yaml_raw, desc, paddleflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        answer = _hook(self.paddleflow_conn_id).update_pipeline(self.pipeline_id, yaml_raw=_yaml(self.yaml_file, self.yaml_raw), desc=self.desc)
        return {"pipeline_id": answer["pipelineID"], "pipeline_version_id": answer["pipelineVersionID"]}


class PaddleFlowCreateScheduleOperator(RefuseEmptyTemplates, BaseOperator):
    """Create a schedule that runs a pipeline version on a crontab. Returns ``{"schedule_id"}``."""

    template_fields: Sequence[str] = ("name", "pipeline_id", "pipeline_version_id", "crontab", "desc", "start_time", "end_time", "paddleflow_conn_id")

    def __init__(
        self,
        *,
        name: str,
        pipeline_id: str,
        pipeline_version_id: str,
        crontab: str,
        desc: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        concurrency: int | None = None,
        concurrency_policy: str | None = None,
        expire_interval: int | None = None,
        paddleflow_conn_id: str = "paddleflow_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name, self.pipeline_id, self.pipeline_version_id, self.crontab, self.desc = name, pipeline_id, pipeline_version_id, crontab, desc
        self.start_time, self.end_time, self.concurrency, self.concurrency_policy, self.expire_interval = (
            start_time,
            end_time,
            concurrency,
            concurrency_policy,
            expire_interval,
        )
        self.paddleflow_conn_id = paddleflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        schedule_id = _hook(self.paddleflow_conn_id).create_schedule(
            self.name, self.pipeline_id, self.pipeline_version_id, self.crontab, desc=self.desc, start_time=self.start_time, end_time=self.end_time,
            concurrency=self.concurrency, concurrency_policy=self.concurrency_policy, expire_interval=self.expire_interval,
        )  # fmt: skip
        return {"schedule_id": schedule_id}


class PaddleFlowStopScheduleOperator(RefuseEmptyTemplates, BaseOperator):
    template_fields: Sequence[str] = ("schedule_id", "paddleflow_conn_id")

    def __init__(self, *, schedule_id: str, paddleflow_conn_id: str = "paddleflow_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule_id, self.paddleflow_conn_id = schedule_id, paddleflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        hook = _hook(self.paddleflow_conn_id)
        hook.stop_schedule(self.schedule_id)
        return {"schedule_id": self.schedule_id, "status": hook.show_schedule(self.schedule_id).get("status")}


class PaddleFlowDeleteScheduleOperator(RefuseEmptyTemplates, BaseOperator):
    """Delete a schedule; PaddleFlow deletes only stopped ones, so ``stop_first`` (default) stops it."""

    template_fields: Sequence[str] = ("schedule_id", "paddleflow_conn_id")

    def __init__(self, *, schedule_id: str, stop_first: bool = True, paddleflow_conn_id: str = "paddleflow_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule_id, self.stop_first, self.paddleflow_conn_id = schedule_id, stop_first, paddleflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        hook = _hook(self.paddleflow_conn_id)
        if self.stop_first and hook.show_schedule(self.schedule_id).get("status") == "running":
            hook.stop_schedule(self.schedule_id)
        hook.delete_schedule(self.schedule_id)
        return {"schedule_id": self.schedule_id, "deleted": True}
