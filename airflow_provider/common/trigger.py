"""The one trigger every platform uses: wait for a remote run in the triggerer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskFailedEvent, TriggerEvent

from airflow_provider.common.errors import ProviderError
from airflow_provider.common.jobs import Ref, RemoteJob, import_string, wait_flow

log = logging.getLogger(__name__)


class RemoteJobTrigger(BaseTrigger):
    """Polls a remote run with the platform's async hook until it ends or the deadline passes.

    Kwargs hold ids and numbers only (never credentials): the hook is rebuilt from ``conn_id``.
    ``deadline`` is an absolute ``time.time()`` so re-creating the trigger (triggerer restart,
    HA move) keeps it. ``fail_in_triggerer``: a permanent error (the run is gone, the credentials
    are refused) ends the task from the triggerer, with Airflow's retries and callbacks, instead of
    waiting for a worker slot only to raise it (sensors with ``soft_fail`` set it False).
    """

    def __init__(
        self,
        *,
        job_class: str,
        conn_id: str,
        ref: Ref,
        job_options: dict[str, Any] | None = None,
        poll_interval: float = 5.0,
        deadline: float | None = None,
        max_consecutive_errors: int = 5,
        stop_states: Sequence[str] = (),
        cancel_on_kill: bool = True,
        fail_in_triggerer: bool = True,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow leaves it unannotated
        self.job_class = job_class
        self.conn_id = conn_id
        self.ref = dict(ref)
        self.job_options = dict(job_options or {})
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.stop_states = tuple(stop_states)  # most are empty: the one empty tuple serves them all
        self.cancel_on_kill = cancel_on_kill
        self.fail_in_triggerer = fail_in_triggerer

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_class": self.job_class,
                "conn_id": self.conn_id,
                "ref": self.ref,
                "job_options": self.job_options,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_errors": self.max_consecutive_errors,
                "stop_states": list(self.stop_states),
                "cancel_on_kill": self.cancel_on_kill,
                "fail_in_triggerer": self.fail_in_triggerer,
            },
        )

    def job(self) -> RemoteJob:
        return import_string(self.job_class)(**self.job_options)  # type: ignore[no-any-return]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        _warm_supervisor(self)
        job = self.job()
        if not job.coalesce_window:
            # every wait of this loop on the same scope shares one list call per poll interval
            job.coalesce_window = self.poll_interval
        hook = job.async_hook(self.conn_id)
        try:
            event = await hook.drive(
                wait_flow(
                    job,
                    self.ref,
                    poll_interval=self.poll_interval,
                    deadline=self.deadline,
                    max_consecutive_errors=self.max_consecutive_errors,
                    stop_states=self.stop_states,
                )
            )
        except Exception as exc:  # noqa: BLE001 - e.g. a bad connection: report, never crash the triggerer
            event = {"event": "error", "ref": self.ref, "status": None, "message": f"waiting on {job.describe(self.ref)} failed: {exc}"}
        # only a real triggerer gives the trigger its task instance; dag.test() resumes the task
        # with whatever event comes, so there the worker raises the error as usual
        if event["event"] == "error" and event.get("permanent") and self.fail_in_triggerer and getattr(self, "task_instance", None) is not None:
            log.error("%s", event["message"])
            yield TaskFailedEvent()
            return
        yield TriggerEvent(event)

    async def on_kill(self) -> None:
        """Cancel the remote run only when a person stopped the task instance (docs/ARCHITECTURE.md).

        Airflow 3.3 calls ``on_kill`` whenever a triggerer stops running a trigger it no longer owns:
        the task was marked failed/success, cleared, or its DAG run stopped, *but also* when the
        trigger moved to another triggerer (a stalled or split-brain triggerer, redistribution).
        Only the task instance's state tells these apart, so it is read first.
        """
        if not self.cancel_on_kill:
            return
        # Airflow 3.3.2's triggerer re-sends the cancel at every sync (about once a second) until
        # the trigger is gone, and each one cancels a running on_kill; and while a trigger sits in
        # on_kill, the fault suite saw the same triggerer's other events held back (12-24 s
        # behind a slow platform). So the work runs in a task of its own, bounded by
        # on_kill_timeout, and on_kill waits for it only ON_KILL_GRACE seconds
        work = asyncio.ensure_future(asyncio.wait_for(self._stop_remote_run(), _on_kill_budget()))
        _DETACHED.add(work)
        work.add_done_callback(_settled)
        await asyncio.wait({work}, timeout=ON_KILL_GRACE)

    async def _stop_remote_run(self) -> None:
        job = self.job()
        state = await self._task_instance_state()
        if state is _UNKNOWN or state not in STOPPED_BY_A_PERSON:
            log.info("not cancelling %s: the task instance is %s, so the trigger was moved, not stopped", job.describe(self.ref), _describe(state))
            return
        try:
            hook = job.async_hook(self.conn_id)
            try:
                # bounded: Airflow gives on_kill 30 s in all ([triggerer] on_kill_timeout)
                status = await asyncio.wait_for(hook.drive(job.status(self.ref)), STATUS_TIMEOUT)
            except (TimeoutError, ProviderError):
                status = None
            if status is not None and status.phase.terminal:
                return  # it ended on its own (another triggerer's copy may have reported it already)
            await hook.drive(job.cancel(self.ref))
            log.info("cancelled %s: the task instance was stopped (%s)", job.describe(self.ref), _describe(state))
        except Exception as exc:  # noqa: BLE001 - best effort; the task is already being killed
            log.warning("could not cancel %s: %s", job.describe(self.ref), exc)

    async def _task_instance_state(self) -> str | object | None:
        """The task instance's state from the execution API (via the triggerer's supervisor), or ``_UNKNOWN``."""
        ti = getattr(self, "task_instance", None)
        if ti is None:
            return _UNKNOWN
        try:
            answer = await _ask_task_states(ti)
            if answer is None:
                return _UNKNOWN
            states = answer.task_states.get(ti.run_id, {})
            map_index = getattr(ti, "map_index", -1)
            key = ti.task_id if map_index is None or map_index < 0 else f"{ti.task_id}_{map_index}"
            state: str | None = states.get(key, _UNKNOWN)
            return state
        except Exception as exc:  # noqa: BLE001 - never cancel on a guess
            log.warning("could not read the task instance state: %s", exc)
            return _UNKNOWN


async def _ask_task_states(ti: Any) -> Any:
    """Ask the triggerer's supervisor for ``ti``'s state: its ``TaskStatesResult``, or None outside a triggerer."""
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult

    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if comms is None:
        return None
    ask = GetTaskStates(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=getattr(ti, "map_index", -1))
    # bounded: a busy triggerer supervisor answers late, and on_kill has 30 s in all
    answer = await asyncio.wait_for(comms.asend(ask), _state_timeout())
    return answer if isinstance(answer, TaskStatesResult) else None


def _warm_supervisor(trigger: BaseTrigger) -> None:
    """Make this process's first trigger ask the triggerer's supervisor something, in the background.

    Airflow 3.3.2's triggerer supervisor builds its in-process execution API on the first request it
    serves (Cadwyn generates every versioned route: 4.4 s on an idle core, 9-10 s in the loaded fault
    deployment) and serves nothing else meanwhile, so every trigger's events on that triggerer wait.
    With connections from the environment or a secrets backend, that first request used to be
    on_kill's task-state read, at the moment a person marked a task failed: the fault suite saw the
    other waits of that triggerer end 10-13 s late instead of 2-4 s. Asked at the first wait's start,
    the cost lands when the triggerer starts, the way a connection stored in the database makes it.
    """
    global _WARMED
    ti = getattr(trigger, "task_instance", None)
    if _WARMED or ti is None:
        return
    _WARMED = True
    work = asyncio.ensure_future(_ask_task_states(ti))
    _DETACHED.add(work)
    work.add_done_callback(_forget)


def _forget(work: asyncio.Future[Any]) -> None:
    """Drop a finished warm-up: its answer (or failure) does not matter, only that it was asked."""
    _DETACHED.discard(work)
    if not work.cancelled():
        work.exception()  # retrieved, so asyncio does not log it as never retrieved


#: whether this process's triggerer supervisor has been asked anything yet (see _warm_supervisor)
_WARMED = False


def _on_kill_budget() -> float:
    """``[triggerer] on_kill_timeout``: the seconds Airflow gives on_kill (30 by default)."""
    from airflow.configuration import conf

    return conf.getfloat("triggerer", "on_kill_timeout", fallback=30)


#: seconds on_kill waits for its work before it lets the trigger end (the work goes on)
ON_KILL_GRACE = 0.8

#: on_kill's work in flight, referenced so the loop does not drop it when on_kill is cancelled
_DETACHED: set[asyncio.Future[Any]] = set()


def _settled(work: asyncio.Future[Any]) -> None:
    _DETACHED.discard(work)
    if not work.cancelled() and isinstance(work.exception(), TimeoutError):
        # nobody awaits it any more: say it here
        log.warning("gave up cancelling the remote run after [triggerer] on_kill_timeout (%g s)", _on_kill_budget())


def _state_timeout() -> float:
    """Seconds on_kill waits for the task instance's state (then it leaves the run alone): what
    Airflow gives on_kill (``[triggerer] on_kill_timeout``, 30 s by default) less time to cancel."""
    return max(5.0, _on_kill_budget() - STATUS_TIMEOUT - 5)


#: seconds on_kill waits for the run's status before cancelling anyway
STATUS_TIMEOUT = 8.0

#: a sentinel: the state could not be read (then the remote run is left alone)
_UNKNOWN = object()

#: task instance states that mean a person (or the UI/API on their behalf) stopped a deferred task:
#: marked failed or success, its DAG run marked failed (deferred tasks become failed, the others
#: skipped), or cleared (state None; "restarting" while the scheduler takes it back). A trigger that
#: was only moved sees "deferred"; one whose event another triggerer already delivered sees
#: "scheduled"/"queued"/"running" (its new try re-attaches to the run anyway).
STOPPED_BY_A_PERSON: frozenset[str | None] = frozenset({"failed", "success", "skipped", "upstream_failed", "removed", "restarting", None})


def _describe(state: object) -> str:
    return "of unknown state" if state is _UNKNOWN else str(state)
