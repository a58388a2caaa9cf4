"""The one trigger every platform uses: wait for a remote run in the triggerer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider.common.jobs import Ref, RemoteJob, import_string, wait_flow

log = logging.getLogger(__name__)


class RemoteJobTrigger(BaseTrigger):
    """Polls a remote run with the platform's async hook until it ends or the deadline passes.

    Kwargs hold ids and numbers only (never credentials): the hook is rebuilt from ``conn_id``.
    ``deadline`` is an absolute ``time.time()`` so re-creating the trigger (triggerer restart,
    HA move) keeps it.
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
    ) -> None:
        super().__init__()
        self.job_class = job_class
        self.conn_id = conn_id
        self.ref = dict(ref)
        self.job_options = dict(job_options or {})
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.stop_states = list(stop_states)
        self.cancel_on_kill = cancel_on_kill

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
                "stop_states": self.stop_states,
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    def job(self) -> RemoteJob:
        return import_string(self.job_class)(**self.job_options)  # type: ignore[no-any-return]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        job = self.job()
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
        yield TriggerEvent(event)

    async def on_kill(self) -> None:
        """Airflow 3.3+: the user marked the deferred task failed/success or cleared it."""
        if not self.cancel_on_kill:
            return
        job = self.job()
        try:
            await job.async_hook(self.conn_id).drive(job.cancel(self.ref))
            log.info("cancelled %s", job.describe(self.ref))
        except Exception as exc:  # noqa: BLE001 - best effort; the task is already being killed
            log.warning("could not cancel %s: %s", job.describe(self.ref), exc)
