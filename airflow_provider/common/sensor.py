"""Base sensor for "wait for a remote run": poke, reschedule or deferrable."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_provider.common.errors import ConfigError, ProviderError, RemoteJobFailed
from airflow_provider.common.links import REMOTE_URL_KEY, RemoteRunLink
from airflow_provider.common.operator import HookT, WaitingMixin, default_deferrable
from airflow_provider.common.templating import RefuseEmptyTemplates

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.jobs import JobStatus, Ref


class RemoteJobSensor(RefuseEmptyTemplates, WaitingMixin[HookT], BaseSensorOperator):
    """Succeeds when the run reaches a target state.

    :param target_states: platform states that count as success; default: the platform's
        success states. A terminal state outside them fails the sensor (with the log tail),
        unless ``fail_on_other_terminal`` is False, in which case the sensor keeps waiting.
    """

    template_fields: Sequence[str] = ("conn_id",)
    operator_extra_links = (RemoteRunLink(),)

    def __init__(
        self,
        *,
        conn_id: str,
        target_states: Sequence[str] | None = None,
        fail_on_other_terminal: bool = True,
        deferrable: bool | None = None,
        max_consecutive_poll_errors: int = 5,
        log_tail_lines: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.target_states = list(target_states) if target_states else None
        self.fail_on_other_terminal = fail_on_other_terminal
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = float(self.poke_interval)
        if max_consecutive_poll_errors < 1:
            raise ConfigError(f"max_consecutive_poll_errors must be at least 1, got {max_consecutive_poll_errors!r}")
        self.max_consecutive_poll_errors = max_consecutive_poll_errors
        self.log_tail_lines = log_tail_lines
        self.cancel_on_kill = False  # a sensor watches; it does not own the run
        self._ref: Ref | None = None

    def resolve_ref(self, hook: HookT, context: Context) -> Ref | None:
        """Which run to watch; None while there is none yet (the sensor keeps poking)."""
        raise NotImplementedError

    def _reached(self, status: JobStatus) -> bool:
        from airflow_provider.common.jobs import Phase

        if self.target_states is not None:
            return status.state in self.target_states
        return status.phase is Phase.SUCCEEDED

    def _evaluate(self, hook: HookT, ref: Ref, status: JobStatus) -> PokeReturnValue:
        status = self._final_status(hook, ref, status)
        if self._reached(status):
            return PokeReturnValue(is_done=True, xcom_value={**ref, "state": status.state, "phase": status.phase.value, **status.detail})
        if status.phase.terminal and self.fail_on_other_terminal:
            details = self._explain_failure(hook, ref, status)
            raise RemoteJobFailed(f"{self.job().describe(ref)} ended {status.state}, not in {self._wanted()}" + (f": {details}" if details else ""))
        self.log.info("%s is %s; waiting for %s", self.job().describe(ref), status.state, self._wanted())
        return PokeReturnValue(is_done=False)

    def _wanted(self) -> str:
        return "/".join(self.target_states) if self.target_states else "success"

    def _watched(self, hook: HookT, context: Context) -> Ref | None:
        """Resolve the run once per instance, then keep watching it: "the current run" must not
        drift to None (or to a newer run) once the one we saw has finished. (In reschedule mode
        every poke is a new instance; ``resolve_ref`` must then find the same run again.)"""
        if self._ref is None:
            self._ref = self.resolve_ref(hook, context)
            url = self.job().url(hook.target, self._ref) if self._ref is not None else None
            if url:
                # the sensor's extra link opens the run it watches, as the operator's does
                context["ti"].xcom_push(key=REMOTE_URL_KEY, value=url)
        return self._ref

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider.common.jobs import is_transient, permanent_failure

        hook = self.hook()
        try:
            ref = self._watched(hook, context)
            if ref is None:
                self.log.info("nothing to watch yet")
                return False
            status = hook.drive(self.job().status(ref))
        except ProviderError as exc:
            if not is_transient(exc):
                if self._ref is None:
                    raise
                raise ProviderError(permanent_failure(self.job(), self._ref, exc)) from None
            self._poke_errors = getattr(self, "_poke_errors", 0) + 1
            if self._poke_errors >= self.max_consecutive_poll_errors:
                raise ProviderError(f"{self._poke_errors} pokes in a row failed (max_consecutive_poll_errors); the last: {exc}") from None
            self.log.warning(
                "poke failed (%s); %d of %d tolerated, trying again at the next poke", exc, self._poke_errors, self.max_consecutive_poll_errors - 1
            )
            return False
        self._poke_errors = 0
        return self._evaluate(hook, ref, status)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        hook = self.hook()
        ref = self._watched(hook, context)
        if ref is None:
            raise ProviderError(f"{type(self).__name__}: there is no run to wait for (deferrable mode needs one to exist)")
        from airflow_provider.common.jobs import is_transient, permanent_failure

        try:
            first = hook.drive(self.job().status(ref))
        except ProviderError as exc:
            if not is_transient(exc):
                raise ProviderError(permanent_failure(self.job(), ref, exc)) from None
            raise
        result = self._evaluate(hook, ref, first)
        if result.is_done:
            return result.xcom_value
        deadline = time.time() + float(self.timeout) if self.timeout else None
        self.defer(trigger=self._trigger(ref, deadline, stop_states=self.target_states or ()), method_name="execute_complete", timeout=None)

    def execute_complete(self, context: Context, event: Any = None) -> Any:
        from airflow_provider.common.jobs import JobStatus

        event = self._validate_event(event)
        if event["event"] == "timeout":
            raise AirflowSensorTimeout(event["message"])
        if event["event"] == "error":
            raise ProviderError(event["message"])
        result = self._evaluate(self.hook(), event["ref"], JobStatus.from_json(event["status"]))
        if not result.is_done:
            raise RemoteJobFailed(f"{self.job().describe(event['ref'])} ended {event['status']['state']}, not in {self._wanted()}")
        return result.xcom_value
