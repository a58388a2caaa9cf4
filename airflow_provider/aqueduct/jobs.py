"""Aqueduct extension tasks (task-based servers) as remote jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider.aqueduct import models
from airflow_provider.aqueduct.api import tasks
from airflow_provider.aqueduct.states import FINAL_STATES, STATE_PHASE
from airflow_provider.common.flow import Flow, Gather
from airflow_provider.common.jobs import JobStatus, Phase, Ref, RemoteJob

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target


def tail(text: str | None, lines: int) -> str:
    return "\n".join((text or "").splitlines()[-lines:])


class AqueductTaskJob(RemoteJob):
    hook_class = "airflow_provider.aqueduct.hook.AqueductHook"
    async_hook_class = "airflow_provider.aqueduct.hook.AqueductAsyncHook"
    noun = "task"
    read_detail = "stdout_tail"

    def __init__(self, accept_nonzero: bool = False) -> None:
        super().__init__(accept_nonzero=accept_nonzero)
        self.accept_nonzero = accept_nonzero

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        return ("aq-tasks",) if self.coalesce_window > 0 else None

    def status(self, ref: Ref) -> Flow[JobStatus]:
        if self.coalesce_window > 0:
            # one batched query per server and window for every waited task of the loop: state and
            # result code, so the phase is final; the output is read by the task when it resumes
            # (``settle``), not by the triggerer for thousands of tasks that end together
            task: models.Task | None = yield Gather(("aq-tasks",), ref["task_id"], self.coalesce_window, tasks.get_task_states)
            if task is not None:
                return self.classify(task)
        return (yield from self.read(ref))

    def read(self, ref: Ref) -> Flow[JobStatus]:
        task = yield from tasks.get_task(ref["task_id"])
        return self.classify(task, with_output=True)

    def classify(self, task: models.Task, with_output: bool = False) -> JobStatus:
        detail: dict[str, Any] = {"result_code": task.result_code, "extension": task.extension_name, "action": task.action_name}
        if with_output and task.task_status in FINAL_STATES:
            detail.update(stdout_tail=tail(task.std_out, 20), stderr_tail=tail(task.std_err, 20))
        phase = STATE_PHASE.get(task.task_status, Phase.UNKNOWN)
        if phase is Phase.FAILED and self.accept_nonzero and task.result_code is not None:
            phase = Phase.SUCCEEDED  # the script ran and exited non-zero, which the caller accepts
        return JobStatus(phase, task.task_status, detail)

    def cancel(self, ref: Ref) -> Flow[Any]:
        return (yield from tasks.cancel_task(ref["task_id"]))

    def log_tail(self, ref: Ref, lines: int) -> Flow[str]:
        task = yield from tasks.get_task(ref["task_id"])
        return f"stdout:\n{tail(task.std_out, lines)}\nstderr:\n{tail(task.std_err, lines)}"

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        if False:  # pragma: no cover - the details came with the state
            yield
        code = status.detail.get("result_code")
        err = status.detail.get("stderr_tail") or ""
        return f"result code {code}: {err.strip()}" if code is not None else err.strip()

    def url(self, target: Target, ref: Ref) -> str | None:
        # the web UI's experiment page (its router: /aqd/experiments/:experimentIdentifier, looked up by EID)
        return f"{target.base_url}/aqd/experiments/{ref['experiment_eid']}" if ref.get("experiment_eid") else None

    def describe(self, ref: Ref) -> str:
        return f"Aqueduct task {ref['task_id']}"
