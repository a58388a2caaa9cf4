"""Operators for DigitalHub runs. Import-light: models and HTTP clients load when a task runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.identity import ti_tag_short
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.common.templating import RefuseEmptyTemplates
from airflow_provider.digitalhub.links import DigitalHubRunLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.jobs import Ref
    from airflow_provider.digitalhub.hook import DigitalHubHook

REATTACH_PAGES = 2


def _epoch(value: Any) -> float:
    """DHCore's ISO timestamps as epoch seconds (0 when absent or unreadable)."""
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


class DigitalHubCreateRunOperator(RemoteJobOperator["DigitalHubHook"]):
    """Create a DHCore run (which builds and dispatches it) and, by default, wait for its end.

    Either ``kind`` + ``task`` (+ ``parameters``, ``labels``, extra ``spec`` fields), or
    ``yaml_file``: a run descriptor exported by ``run.export()``.

    The run carries a label derived from the task instance identity, so a retried task
    re-attaches to its own run (if still going) instead of creating another. ``timeout`` and
    ``on_kill`` stop the run and follow it to ``STOPPED``; DHCore stops only RUNNING runs, so a run
    still ``READY``/``PENDING`` is watched until it runs, then deleted (``delete_if_not_started``)
    or left, and the task log says exactly which.

    :param kind: run kind, e.g. ``python+job:run`` (the pre-0.15 ``python+run`` is refused with a hint).
    :param task: task string ``<task kind>://<project>/<task id>``.
    :param stop_timeout: seconds to follow a stopped run to its end (or a not yet running run until
        it can be stopped) before giving up and saying what was left.
    :param delete_if_not_started: delete a run still ``READY``/``PENDING`` after ``stop_timeout``.
    Returns ``{"project", "run_id", "kind", "key", "state", "url", "waited", ...}``.
    """

    operator_extra_links = (DigitalHubRunLink(),)

    template_fields: Sequence[str] = ("project", "kind", "task", "parameters", "labels", "spec", "yaml_file", "conn_id")
    template_fields_renderers = {"parameters": "json", "spec": "json"}
    job_class = "airflow_provider.digitalhub.jobs.DigitalHubRunJob"
    asset_scheme = "digitalhub"
    project: str | None
    kind: str | None
    task: str | None
    parameters: dict[str, Any] | None
    labels: list[str] | None
    spec: dict[str, Any] | None
    yaml_file: str | None
    stop_timeout: float
    delete_if_not_started: bool

    def __init__(
        self,
        *,
        project: str | None = None,
        kind: str | None = None,
        task: str | None = None,
        parameters: dict[str, Any] | None = None,
        labels: list[str] | None = None,
        spec: dict[str, Any] | None = None,
        yaml_file: str | None = None,
        stop_timeout: float = 60.0,
        delete_if_not_started: bool = False,
        digitalhub_conn_id: str = "digitalhub_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=digitalhub_conn_id, **kwargs)
        if yaml_file is None and not (project and kind and task):
            raise ConfigError("DigitalHubCreateRunOperator needs project, kind and task, or yaml_file")
        if stop_timeout < 0:
            raise ConfigError(f"stop_timeout must be 0 or more seconds, got {stop_timeout!r}")
        self.set_own_fields(
            project=project, kind=kind, task=task, parameters=parameters, labels=labels, spec=spec, yaml_file=yaml_file,
            stop_timeout=float(stop_timeout), delete_if_not_started=bool(delete_if_not_started),
        )  # fmt: skip

    def job_options(self) -> dict[str, Any]:
        return {"stop_timeout": self.stop_timeout, "delete_if_not_started": self.delete_if_not_started}

    def asset_parts(self) -> Sequence[str] | None:
        # a YAML descriptor's project and task are only known once read: no asset then
        if not (self.project and self.task):
            return None
        return (self.project, "tasks", str(self.task).rsplit("/", 1)[-1])

    def submit(self, hook: DigitalHubHook, context: Context, tag: str) -> Ref:
        from airflow_provider.digitalhub.jobs import run_ref

        label = ti_tag_short(context)
        if self.yaml_file:
            run = hook.import_run(self.yaml_file, reset_id=True, labels=[label])
        else:
            extra = dict(self.spec or {})
            if self.parameters is not None:
                extra["parameters"] = self.parameters
            if not self.project or not self.kind:
                raise ConfigError("DigitalHubCreateRunOperator needs project= and kind= (or yaml_file=)")
            run = hook.new_run(self.project, self.kind, labels=[*(self.labels or []), label], task=self.task, **extra)
        if run.message and run.state.value == "ERROR":
            self.log.error("DHCore could not build or dispatch the run: %s", run.message)
        return run_ref(run)

    def find_existing(self, hook: DigitalHubHook, context: Context, tag: str) -> Ref | None:
        from airflow_provider.digitalhub.jobs import run_ref

        if not self.project:
            return None  # a YAML descriptor's project is only known once read; no re-attach then
        label = ti_tag_short(context)
        for run in hook.list_runs(self.project, max_pages=REATTACH_PAGES):
            if label in run.labels and not run.terminal:
                return run_ref(run)
        return None

    def can_find_runs(self) -> bool:
        return bool(self.project)

    def find_submitted(self, hook: DigitalHubHook, context: Context, tag: str, since: float) -> Ref | None:
        from airflow_provider.digitalhub.jobs import run_ref

        if not self.project:
            return None  # can_find_runs() said no: the protocol never asks
        label = ti_tag_short(context)
        for run in hook.list_runs(self.project, max_pages=REATTACH_PAGES):
            if label in run.labels and (not run.terminal or _epoch(run.metadata.get("created")) >= since):
                return run_ref(run)
        return None

    def where_to_look(self, hook: DigitalHubHook, context: Context, tag: str) -> str:
        where = f"project {self.project}" if self.project else f"the project of {self.yaml_file}"
        return f"look for a run labelled {ti_tag_short(context)!r} in {where} on {hook.target.base_url}"

    def summary(self, ref: Ref, status: Any) -> dict[str, Any]:
        out = super().summary(ref, status)
        out.setdefault("key", f"store://{ref['project']}/run/{ref['kind']}/{ref['run_id']}")
        return out


class DigitalHubDeleteRunOperator(RefuseEmptyTemplates, BaseOperator):
    """Delete a run (by key, or id + project). DHCore answers with the run in state DELETING.

    :param missing_ok: succeed when the run does not exist (already deleted).
    """

    template_fields: Sequence[str] = ("identifier", "project", "digitalhub_conn_id")

    def __init__(
        self, *, identifier: str, project: str | None = None, missing_ok: bool = False, digitalhub_conn_id: str = "digitalhub_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.identifier = identifier
        self.project = project
        self.missing_ok = missing_ok
        self.digitalhub_conn_id = digitalhub_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.common.errors import NotFoundError
        from airflow_provider.digitalhub.hook import DigitalHubHook

        try:
            run = DigitalHubHook(self.digitalhub_conn_id).delete_run(self.identifier, self.project)
        except NotFoundError:
            if not self.missing_ok:
                raise
            self.log.info("run %s does not exist; nothing to delete", self.identifier)
            return {"deleted": False, "identifier": self.identifier}
        return {"deleted": True, "run_id": run.id, "state": run.status.get("state")}


class DigitalHubUpdateRunOperator(RefuseEmptyTemplates, BaseOperator):
    """Update a run: merge ``metadata`` (e.g. ``labels``, ``description``), ``status`` and ``spec``
    fields into the current entity and PUT it back. DHCore seals the spec once a run is built."""

    template_fields: Sequence[str] = ("identifier", "project", "metadata", "status", "spec", "digitalhub_conn_id")

    def __init__(
        self,
        *,
        identifier: str,
        project: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: dict[str, Any] | None = None,
        spec: dict[str, Any] | None = None,
        digitalhub_conn_id: str = "digitalhub_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.identifier = identifier
        self.project = project
        self.metadata = metadata
        self.status = status
        self.spec = spec
        self.digitalhub_conn_id = digitalhub_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.digitalhub.hook import DigitalHubHook

        hook = DigitalHubHook(self.digitalhub_conn_id)
        run = hook.get_run(self.identifier, self.project)
        run.metadata.update(self.metadata or {})
        run.status.update(self.status or {})
        run.spec.update(self.spec or {})
        updated = hook.update_run(run)
        return {"run_id": updated.id, "state": updated.status.get("state"), "labels": updated.labels}


class DigitalHubStopRunOperator(BaseOperator):
    """Stop a run (by key, or id + project) and wait until it has ended (``STOP`` -> ``STOPPED``).

    DHCore stops only RUNNING runs: a run still ``READY``/``PENDING`` is watched until it runs, then
    stopped; after ``timeout`` it is deleted when ``delete_if_not_started``, else the task fails
    saying what was left. A run that already ended is left as it is (no error).
    Returns ``{"run_id", "project", "state", "ended", "message"}``.
    """

    template_fields: Sequence[str] = ("identifier", "project", "digitalhub_conn_id")

    def __init__(
        self,
        *,
        identifier: str,
        project: str | None = None,
        timeout: float = 120.0,
        poll_interval: float = 1.0,
        delete_if_not_started: bool = False,
        digitalhub_conn_id: str = "digitalhub_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if timeout < 0 or poll_interval <= 0:
            raise ConfigError(f"timeout must be 0 or more and poll_interval positive, got timeout={timeout!r}, poll_interval={poll_interval!r}")
        self.identifier = identifier
        self.project = project
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self.delete_if_not_started = delete_if_not_started
        self.digitalhub_conn_id = digitalhub_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.common.errors import RemoteJobFailed
        from airflow_provider.digitalhub.hook import DigitalHubHook

        outcome = DigitalHubHook(self.digitalhub_conn_id).stop_run_and_wait(
            self.identifier, self.project, timeout=self.timeout, poll_interval=self.poll_interval, delete_if_not_started=self.delete_if_not_started
        )
        if not outcome["ended"]:
            raise RemoteJobFailed(outcome["message"])
        self.log.info("%s", outcome["message"])
        return outcome
