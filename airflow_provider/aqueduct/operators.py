"""Operators for Aqueduct. Import-light: models and HTTP clients load when a task runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.aqueduct.links import AqueductExperimentLink
from airflow_provider.common.errors import ConfigError, ProviderError, RemoteJobFailed, SubmitOutcomeUnknown
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.common.templating import RefuseEmptyTemplates

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.aqueduct.hook import AqueductHook
    from airflow_provider.common.jobs import Ref


def _hook(conn_id: str) -> AqueductHook:
    from airflow_provider.aqueduct.hook import AqueductHook

    return AqueductHook(conn_id)


def _summary(experiment: Any) -> dict[str, Any]:
    return {"uuid": experiment.uuid, "eid": experiment.eid, "title": experiment.title, "tags": experiment.tags, "files": experiment.file_names}


class AqueductCreateExperimentOperator(RefuseEmptyTemplates, BaseOperator):
    """Create an experiment, or return the existing one with exactly this title (so a retried task
    does not create a second one). Returns ``{"uuid", "eid", "title", "tags", "files", "created"}``."""

    template_fields: Sequence[str] = ("title", "description", "tags", "aqueduct_conn_id")

    def __init__(
        self,
        *,
        title: str,
        description: str = "",
        tags: list[str] | None = None,
        reuse_existing: bool = True,
        aqueduct_conn_id: str = "aqueduct_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.title, self.description, self.tags = title, description, tags
        self.reuse_existing = reuse_existing
        self.aqueduct_conn_id = aqueduct_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider.aqueduct.api.experiments import TITLE_MAX, title_search_key

        if len(self.title) > TITLE_MAX:
            raise ConfigError(f"title has {len(self.title)} characters; Aqueduct allows at most {TITLE_MAX}")
        hook = _hook(self.aqueduct_conn_id)
        if self.reuse_existing:
            # the server's title filter takes at most 64 characters: search by a part, keep the exact title
            same = [e for e in hook.find_all_experiments(search=title_search_key(self.title)) if e.title == self.title]
            if same:
                self.log.info("experiment %r exists (EID %s): reusing it", self.title, same[0].eid)
                experiment = (
                    hook.add_tags(same[0].uuid, [t for t in self.tags or [] if t.lower() not in {x.lower() for x in same[0].tags}]) if self.tags else same[0]
                )
                return {**_summary(experiment), "created": False}
        experiment = hook.create_experiment(self.title, self.description, self.tags or [])
        self.log.info("created experiment %r (EID %s)", self.title, experiment.eid)
        return {**_summary(experiment), "created": True}


class AqueductUploadFilesOperator(RefuseEmptyTemplates, BaseOperator):
    """Upload local files to an experiment (EID or UUID). All files are checked first: a missing one
    fails the task before anything is uploaded."""

    template_fields: Sequence[str] = ("experiment", "files", "aqueduct_conn_id")

    def __init__(self, *, experiment: str, files: list[str], aqueduct_conn_id: str = "aqueduct_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment, self.files, self.aqueduct_conn_id = experiment, files, aqueduct_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        missing = [f for f in self.files if not Path(f).is_file()]
        if missing:
            raise ConfigError(f"files not found locally: {', '.join(missing)} (nothing was uploaded)")
        hook = _hook(self.aqueduct_conn_id)
        experiment = hook.get_experiment(self.experiment)
        for path in self.files:
            hook.upload_file(experiment.uuid, path)
        return {"eid": experiment.eid, "uploaded": [Path(f).name for f in self.files]}


class AqueductDownloadFilesOperator(RefuseEmptyTemplates, BaseOperator):
    """Download an experiment's files (all, or ``files``) into ``dest_dir``; returns the local paths."""

    template_fields: Sequence[str] = ("experiment", "files", "dest_dir", "aqueduct_conn_id")

    def __init__(self, *, experiment: str, dest_dir: str, files: list[str] | None = None, aqueduct_conn_id: str = "aqueduct_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment, self.dest_dir, self.files, self.aqueduct_conn_id = experiment, dest_dir, files, aqueduct_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        hook = _hook(self.aqueduct_conn_id)
        experiment = hook.get_experiment(self.experiment)
        wanted = self.files if self.files is not None else experiment.file_names
        absent = sorted(set(wanted) - set(experiment.file_names))
        if absent:
            raise ConfigError(f"experiment {experiment.eid} has no file(s) {', '.join(absent)}; it has: {', '.join(experiment.file_names) or 'none'}")
        return {"eid": experiment.eid, "paths": [hook.download_file(experiment.uuid, name, self.dest_dir) for name in wanted]}


class AqueductTagExperimentOperator(RefuseEmptyTemplates, BaseOperator):
    """Add and/or remove tags (tags are case-insensitive on the server)."""

    template_fields: Sequence[str] = ("experiment", "add", "remove", "aqueduct_conn_id")

    def __init__(
        self, *, experiment: str, add: list[str] | None = None, remove: list[str] | None = None, aqueduct_conn_id: str = "aqueduct_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.experiment, self.add, self.remove, self.aqueduct_conn_id = experiment, add, remove, aqueduct_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        hook = _hook(self.aqueduct_conn_id)
        experiment = hook.get_experiment(self.experiment)
        if self.add:
            experiment = hook.add_tags(experiment.uuid, self.add)
        for tag in self.remove or []:
            if tag.lower() in {t.lower() for t in experiment.tags}:
                experiment = hook.remove_tag(experiment.uuid, tag)
        return _summary(experiment)


class AqueductExecuteExtensionOperator(RemoteJobOperator["AqueductHook"]):
    """Execute an extension action.

    Parameters are checked against the action's declared parameters before anything is sent
    (names, types, select options; declared defaults fill the gaps). The experiment parameter of
    the action is filled from ``experiment`` when not given.

    * On a task-based server the action becomes a task: the operator waits for it (deferrable),
      and ``on_kill``/timeout cancel it.
    * On a released server the action runs synchronously within the request: ``timeout`` (else
      ``execution_timeout``, else 300 s) bounds the wait for the answer; the server stops scripts after
      60 s and builds an extension's environment on its first call before answering.

    Either way stdout and stderr tails go to the task log, and a non-zero result code fails the task
    unless ``fail_on_nonzero=False``. Returns ``{"result_code", "state", "stdout_tail", "stderr_tail", ...}``.
    """

    operator_extra_links = (AqueductExperimentLink(),)

    template_fields: Sequence[str] = ("extension", "action", "parameters", "experiment", "conn_id")
    job_class = "airflow_provider.aqueduct.jobs.AqueductTaskJob"
    asset_scheme = "aqueduct"
    extension: str
    action: str
    parameters: dict[str, Any] | None
    experiment: str | None
    fail_on_nonzero: bool

    def __init__(
        self,
        *,
        extension: str,
        action: str,
        parameters: dict[str, Any] | None = None,
        experiment: str | None = None,
        fail_on_nonzero: bool = True,
        aqueduct_conn_id: str = "aqueduct_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=aqueduct_conn_id, **kwargs)
        self.set_own_fields(extension=extension, action=action, parameters=parameters, experiment=experiment, fail_on_nonzero=fail_on_nonzero)

    def asset_parts(self) -> Sequence[str] | None:
        return ("extensions", self.extension, self.action)

    def job_options(self) -> dict[str, Any]:
        return {"accept_nonzero": not self.fail_on_nonzero}

    def _prepare(self, hook: AqueductHook) -> tuple[list[list[str]], Any]:
        from airflow_provider.aqueduct.api.extensions import validate_parameters

        action = hook.get_extension_action(self.extension, self.action)
        experiment = hook.get_experiment(self.experiment) if self.experiment else None
        params = dict(self.parameters or {})
        var = action.experiment_variable_name
        if var and params.get(var) is None and experiment is not None:
            params[var] = experiment.eid
        return validate_parameters(action, params), experiment

    def execute(self, context: Context) -> Any:
        hook = self.hook()
        if hook.detect_generation() == "tasks":
            return super().execute(context)
        params, _ = self._prepare(hook)
        limit = self.timeout or (self.execution_timeout.total_seconds() if self.execution_timeout else None)
        try:
            result = hook.execute_extension(self.extension, self.action, params, timeout=limit)
        except SubmitOutcomeUnknown as exc:
            # a released server runs the action inside the request and keeps no record of it
            raise ProviderError(
                f"{exc}. This Aqueduct server keeps no task record, so the task is not run again (the action may have run, "
                f"maybe to completion): look at the log experiment and files of {self.extension}/{self.action} on {hook.target.base_url}"
            ) from None
        from airflow_provider.aqueduct.jobs import tail
        from airflow_provider.aqueduct.models import ExecutionResult

        if not isinstance(result, ExecutionResult):
            raise ProviderError(
                f"{self.extension}/{self.action}: the released Aqueduct generation answered with a task, not a result; is the server mid-upgrade?"
            )

        self.log.info("%s/%s returned %d\nstdout:\n%s", self.extension, self.action, result.return_code, tail(result.stdout, self.log_tail_lines))
        if result.stderr:
            self.log.warning("stderr:\n%s", tail(result.stderr, self.log_tail_lines))
        ref = {"extension": self.extension, "action": self.action}
        from airflow_provider.common.jobs import JobStatus, Phase

        ok = result.return_code == 0 or not self.fail_on_nonzero
        status = JobStatus(Phase.SUCCEEDED if ok else Phase.FAILED, "SUCCESS" if result.return_code == 0 else "FAILURE", {"result_code": result.return_code})
        self.record_remote_outcome(ref, status, None, error=None if ok else tail(result.stderr, 5).strip() or f"exit {result.return_code}")
        if result.return_code != 0 and self.fail_on_nonzero:
            raise RemoteJobFailed(f"{self.extension}/{self.action} exited with {result.return_code}: {tail(result.stderr, 5).strip()}")
        return {"generation": "released", "result_code": result.return_code, "state": "SUCCESS" if result.return_code == 0 else "FAILURE",
                "stdout_tail": tail(result.stdout, 20), "stderr_tail": tail(result.stderr, 20), "log_file": result.log_file,
                "log_experiment": result.log_experiment, "waited": "no"}  # fmt: skip

    def submit(self, hook: AqueductHook, context: Context, tag: str) -> Ref:
        params, experiment = self._prepare(hook)
        if experiment is None:
            raise ConfigError("this Aqueduct server runs actions as tasks owned by an experiment: set experiment= (EID or UUID)")
        task = hook.execute_extension(self.extension, self.action, params, experiment_uuid=experiment.uuid)
        from airflow_provider.aqueduct.models import Task

        if not isinstance(task, Task):
            raise ProviderError(
                f"{self.extension}/{self.action}: the task-based Aqueduct generation answered with a result, not a task; is the server mid-upgrade?"
            )
        return {"task_id": task.uuid, "experiment_eid": experiment.eid}

    # Aqueduct tasks carry no free-form tag: this task instance's task is the one of this action on
    # this experiment, with exactly these parameters, received in the time window; two such tasks
    # are ambiguous and adopted by neither lookup (the task fails, saying where to look).
    def _matching_task(self, hook: AqueductHook, since: float, live_only: bool) -> Ref | None:
        from airflow_provider.aqueduct.states import STATE_PHASE
        from airflow_provider.common.jobs import Phase

        params, experiment = self._prepare(hook)
        if experiment is None:
            return None
        wanted = {name: value for name, value in params}
        found = []
        for task in hook.find_action_tasks(experiment.uuid, self.extension, self.action):
            if _epoch(task.received_at) < since or not _same_parameters(task.parameter_values(), wanted):
                continue
            if live_only and STATE_PHASE.get(task.task_status) is not Phase.RUNNING:
                continue
            found.append(task)
        if len(found) > 1:
            raise ProviderError(
                f"{len(found)} tasks of {self.extension}/{self.action} with these parameters on experiment {experiment.eid} "
                f"({', '.join(t.uuid for t in found)}) could be this task's: adopting none"
            )
        return {"task_id": found[0].uuid, "experiment_eid": experiment.eid} if found else None

    def find_submitted(self, hook: AqueductHook, context: Context, tag: str, since: float) -> Ref | None:
        return self._matching_task(hook, since, live_only=False)

    def find_existing(self, hook: AqueductHook, context: Context, tag: str) -> Ref | None:
        # a retry: a still-running task of this action, started since this DAG run began
        started = context["dag_run"].start_date if context.get("dag_run") is not None else None
        since = started.timestamp() - self.clock_skew if started is not None else time.time() - 3600
        return self._matching_task(hook, since, live_only=True)

    def where_to_look(self, hook: AqueductHook, context: Context, tag: str) -> str:
        return f"look at the tasks of {self.extension}/{self.action} on experiment {self.experiment} at {hook.target.base_url}"


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _same_value(a: str, b: str) -> bool:
    # the server echoes values normalised (a bool "False" comes back "0", "2.50" may come back "2.5")
    if a == b:
        return True
    x, y = a.strip().lower(), b.strip().lower()
    if {x, y} <= _TRUE or {x, y} <= _FALSE:
        return True
    try:
        return float(x) == float(y)
    except ValueError:
        return False


def _same_parameters(echoed: dict[str, str], sent: dict[str, str]) -> bool:
    return echoed.keys() == sent.keys() and all(_same_value(echoed[k], sent[k]) for k in sent)


def _epoch(value: str | None) -> float:
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
