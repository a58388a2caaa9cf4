"""Base operator for "start remote work, then wait for it" (DESIGN.md, "Behaviour every waiting operator has")."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from airflow.sdk import BaseOperator, conf

from airflow_provider.common.construction import init_base_operator, inner_level
from airflow_provider.common.errors import ConfigError, ProviderError, RemoteJobFailed, SubmitOutcomeUnknown
from airflow_provider.common.identity import ti_tag
from airflow_provider.common.lineage import RemoteRunLineageMixin
from airflow_provider.common.links import REMOTE_REF_KEY, REMOTE_URL_KEY, RemoteRunLink
from airflow_provider.common.templating import RefuseEmptyTemplates

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.common.hook import SyncPlatformHook
    from airflow_provider.common.jobs import JobStatus, Ref, RemoteJob

# the job layer (common/jobs.py, common/flow.py) is imported inside the methods that run a task:
# DAG files import this module at parse time

#: the platform's sync hook: ``RemoteJobOperator["DataikuHook"]`` makes ``hook`` a DataikuHook in
#: every method a platform writes (a string, so operators import no hook at parse time)
HookT = TypeVar("HookT", bound="SyncPlatformHook")

EVENT_KINDS = frozenset({"done", "timeout", "error"})
#: template field values that cannot hold an XComArg (exact types: a subclass might)
PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})


def seconds(value: float | timedelta | None, field: str) -> float | None:
    if value is None:
        return None
    result = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if result <= 0:
        raise ConfigError(f"{field} must be positive seconds (or a timedelta), got {value!r}")
    return result


@functools.cache
def default_deferrable() -> bool:
    """``[operators] default_deferrable``, read once per process (Airflow's own operators read it at import)."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def set_fields(operator: BaseOperator, **values: Any) -> None:
    """Set plain attributes while ``__init__`` runs, without ``BaseOperator.__setattr__``.

    That hook converts BaseOperator's own fields (none of these), keeps the init kwargs in step
    (these are not among them yet) and tracks XComArgs assigned after construction (not yet
    constructed): nothing to do here, at 1-2 µs per attribute for every task of a parsed DAG file.
    None of these names is a property (``tests/common/test_construction.py`` checks).
    """
    vars(operator).update(values)


class WaitingMixin(Generic[HookT]):
    """What operators and sensors share: how to wait (deferred or in place), and how to read the result."""

    #: dotted path of the platform's RemoteJob class, imported lazily: DAG files import operators
    #: at parse time, and the job pulls in the platform's models
    #: (a RemoteJob class also works, at the price of importing it with the operator)
    job_class: ClassVar[str | type[RemoteJob]]
    conn_id: str
    poll_interval: float
    max_consecutive_poll_errors: int
    deferrable: bool
    log_tail_lines: int
    cancel_on_kill: bool
    log: Any

    @property
    def job_path(self) -> str:
        return self.job_class if isinstance(self.job_class, str) else self.job_class.path()

    def job(self) -> RemoteJob:
        from airflow_provider.common.jobs import import_string

        return import_string(self.job_path)(**self.job_options())  # type: ignore[no-any-return]

    def job_options(self) -> dict[str, Any]:
        return {}

    def hook(self) -> HookT:
        """One hook (one HTTP session, one connection lookup) per task instance, reused by every poke and call."""
        cached: SyncPlatformHook | None = getattr(self, "_platform_hook", None)
        if cached is None:
            cached = self._platform_hook = self.job().sync_hook(self.conn_id)
        # the job's hook_class is the platform's hook, the one the subclass names as HookT
        return cast("HookT", cached)

    def _trigger(self, ref: Ref, deadline: float | None, stop_states: Sequence[str] = ()) -> Any:
        from airflow_provider.common.trigger import RemoteJobTrigger

        return RemoteJobTrigger(
            job_class=self.job_path,
            conn_id=self.conn_id,
            ref=ref,
            job_options=self.job_options(),
            poll_interval=self.poll_interval,
            deadline=deadline,
            max_consecutive_errors=self.max_consecutive_poll_errors,
            stop_states=stop_states,
            cancel_on_kill=self.cancel_on_kill,
            # a sensor's soft_fail turns a failure into a skip on the worker: leave that path to it
            fail_in_triggerer=not getattr(self, "soft_fail", False),
        )

    def _wait_in_place(self, hook: HookT, ref: Ref, deadline: float | None, stop_states: Sequence[str] = ()) -> dict[str, Any]:
        from airflow_provider.common.jobs import wait_flow

        return hook.drive(
            wait_flow(
                self.job(),
                ref,
                poll_interval=self.poll_interval,
                deadline=deadline,
                max_consecutive_errors=self.max_consecutive_poll_errors,
                stop_states=stop_states,
            )
        )

    @staticmethod
    def _validate_event(event: Any) -> dict[str, Any]:
        # the event crossed the triggerer/worker boundary: fail loudly on anything unexpected
        if not isinstance(event, dict) or event.get("event") not in EVENT_KINDS or not isinstance(event.get("ref"), dict):
            raise ProviderError(f"unexpected trigger event: {event!r}")
        return event

    def _final_status(self, hook: HookT, ref: Ref, status: JobStatus) -> JobStatus:
        """The event's status made whole: the run's own read, where the triggerer left it to us."""
        from airflow_provider.common.jobs import is_transient, permanent_failure

        job = self.job()
        try:
            return hook.drive(job.settle(ref, status))
        except ProviderError as exc:
            if is_transient(exc):
                raise
            raise ProviderError(permanent_failure(job, ref, exc)) from None

    def _explain_failure(self, hook: HookT, ref: Ref, status: JobStatus) -> str:
        """Write the remote log tail and the platform's error details to the task log."""
        job = self.job()
        details = ""
        try:
            details = hook.drive(job.failure_details(ref, status)) or ""
        except ProviderError as exc:
            self.log.warning("could not read the failure details of %s: %s", job.describe(ref), exc)
        if details:
            self.log.error("%s: %s", job.describe(ref), details)
        if self.log_tail_lines > 0:
            try:
                tail = hook.drive(job.log_tail(ref, self.log_tail_lines)) or ""
            except ProviderError as exc:
                self.log.warning("could not read the log of %s: %s", job.describe(ref), exc)
            else:
                if tail:
                    self.log.error("last %d log lines of %s:\n%s", self.log_tail_lines, job.describe(ref), tail)
        return details


@inner_level
class RemoteJobOperator(RefuseEmptyTemplates, RemoteRunLineageMixin, WaitingMixin[HookT], BaseOperator):
    """Submit (or re-attach to) a remote run, push its id and URL, then wait in place or deferred.

    A platform subclass sets ``job_class`` (dotted path) and implements :meth:`submit`, and, where the platform
    can tag runs, :meth:`find_existing`.

    :param conn_id: the platform connection.
    :param wait_for_completion: wait for the run to end (else return right after submitting).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between state checks.
    :param timeout: wall-clock seconds (or timedelta) to wait; defaults to ``execution_timeout``.
    :param cancel_on_timeout: cancel the remote run when the wait times out.
    :param cancel_on_kill: cancel the remote run when the task is killed or marked failed.
    :param max_consecutive_poll_errors: transient polling failures in a row that end the wait.
    :param reattach: on a retry, adopt this task instance's own run if it is still going.
    :param log_tail_lines: remote log lines written to the task log on failure (0: none).
    :param emit_asset: declare the platform's outlet asset (``common/assets.py``) and fill its event's extra.
    :param asset_host: the host part of that asset's URI (default: the connection id).
    :param absence_checks: after a submit whose outcome is unknown (``SubmitOutcomeUnknown``: a 5xx,
        a read timeout or a reset after sending), how many lookups in a row must find no run with
        this task instance's tag before the operator submits again.
    :param absence_check_interval: seconds between those lookups.
    :param lookup_timeout: seconds the lookup may keep failing (transient errors) before the task
        fails, saying the run may exist.
    :param max_resubmits: submits after the first one, each only after absence was shown.
    """

    template_fields: Sequence[str] = ("conn_id",)
    operator_extra_links = (RemoteRunLink(),)
    ui_color = "#e8f0fe"

    # set by __init__ through set_fields (conn_id, poll_interval, deferrable... are declared by the mixins)
    wait_for_completion: bool
    timeout: float | None
    cancel_on_timeout: bool
    reattach: bool
    absence_checks: int
    absence_check_interval: float
    lookup_timeout: float
    max_resubmits: int
    _ref: Ref | None

    def __init__(
        self,
        *,
        conn_id: str,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float | timedelta | None = None,
        cancel_on_timeout: bool = True,
        cancel_on_kill: bool = True,
        max_consecutive_poll_errors: int = 5,
        reattach: bool = True,
        log_tail_lines: int = 50,
        emit_asset: bool = True,
        asset_host: str | None = None,
        absence_checks: int = 2,
        absence_check_interval: float = 5.0,
        lookup_timeout: float = 120.0,
        max_resubmits: int = 1,
        **kwargs: Any,
    ) -> None:
        init_base_operator(self, RemoteJobOperator, kwargs)
        if poll_interval <= 0:
            raise ConfigError(f"poll_interval must be positive, got {poll_interval!r}")
        if max_consecutive_poll_errors < 1:
            raise ConfigError(f"max_consecutive_poll_errors must be at least 1, got {max_consecutive_poll_errors!r}")
        if absence_checks < 1:
            raise ConfigError(f"absence_checks must be at least 1, got {absence_checks!r}")
        if max_resubmits < 0:
            raise ConfigError(f"max_resubmits must be 0 or more, got {max_resubmits!r}")
        set_fields(
            self,
            emit_asset=emit_asset,
            asset_host=asset_host,
            conn_id=conn_id,
            wait_for_completion=wait_for_completion,
            deferrable=default_deferrable() if deferrable is None else deferrable,
            poll_interval=float(poll_interval),
            timeout=seconds(timeout, "timeout"),
            cancel_on_timeout=cancel_on_timeout,
            cancel_on_kill=cancel_on_kill,
            max_consecutive_poll_errors=max_consecutive_poll_errors,
            reattach=reattach,
            log_tail_lines=log_tail_lines,
            absence_checks=int(absence_checks),
            absence_check_interval=seconds(absence_check_interval, "absence_check_interval") or 0.0,
            lookup_timeout=seconds(lookup_timeout, "lookup_timeout") or 0.0,
            max_resubmits=int(max_resubmits),
            _ref=None,
        )

    def set_own_fields(self, **values: Any) -> None:
        """A platform operator's own fields, then its outlet asset from them: the last line of its ``__init__``."""
        set_fields(self, **values)
        self.declare_platform_asset()

    def _set_xcomargs_dependencies(self) -> None:
        # Airflow scans every template field for XComArgs at the end of __init__ (~1.7 µs a field, for
        # every task of a parsed DAG file); a plain string, number or None holds none
        if any(type(getattr(self, name, None)) not in PLAIN_VALUES for name in self.template_fields):
            super()._set_xcomargs_dependencies()

    # --- what a platform implements ------------------------------------------------------
    def submit(self, hook: HookT, context: Context, tag: str) -> Ref:
        raise NotImplementedError

    def find_existing(self, hook: HookT, context: Context, tag: str) -> Ref | None:
        """This task instance's own run that is still going (or None). Default: no re-attach."""
        return None

    def find_submitted(self, hook: HookT, context: Context, tag: str, since: float) -> Ref | None:
        """The run carrying ``tag`` that a submit started at or after ``since`` (epoch seconds), in
        any state: a fast run may have finished before the lookup. Default: a still-running tagged run."""
        return self.find_existing(hook, context, tag)

    def can_find_runs(self) -> bool:
        """Whether this platform can tell "the submit started a run" from "it did not"."""
        cls = type(self)
        return cls.find_submitted is not RemoteJobOperator.find_submitted or cls.find_existing is not RemoteJobOperator.find_existing

    def where_to_look(self, hook: HookT, context: Context, tag: str) -> str:
        """Where a person finds a run this task may have started, for messages."""
        return f"look for a run tagged {tag!r} at {hook.target.base_url}"

    def summary(self, ref: Ref, status: JobStatus | None) -> dict[str, Any]:
        """The JSON-able return value; subclasses may add platform fields."""
        out: dict[str, Any] = {**ref}
        if status is not None:
            out.update(state=status.state, phase=status.phase.value, **{k: v for k, v in status.detail.items() if k not in ref})
        return out

    # --- the machinery -------------------------------------------------------------------
    def _deadline(self) -> float | None:
        limit = self.timeout
        if limit is None and self.execution_timeout is not None:
            # Airflow 3.3 does not enforce execution_timeout on deferred tasks: do it ourselves
            limit = self.execution_timeout.total_seconds()
        return time.time() + limit if limit else None

    def execute(self, context: Context) -> Any:
        hook = self.hook()
        job = self.job()
        tag = ti_tag(context)
        ref = self.find_existing(hook, context, tag) if self.reattach and context["ti"].try_number > 1 else None
        if ref is not None:
            self.log.info("re-attaching to %s, started by an earlier try of this task", job.describe(ref))
        else:
            ref = self._submit_once(hook, context, tag)
        self._ref = ref
        url = job.url(hook.target, ref)
        context["ti"].xcom_push(key=REMOTE_REF_KEY, value=ref)
        if url:
            context["ti"].xcom_push(key=REMOTE_URL_KEY, value=url)
            self.log.info("follow it at %s", url)
        if not self.wait_for_completion:
            self.record_remote_outcome(ref, None, url)
            return {**self.summary(ref, None), "url": url, "waited": "no"}

        deadline = self._deadline()
        status = self._first_look(hook, ref)
        if status is not None and status.phase.terminal:
            return self._finish(hook, ref, status, waited="no")
        if self.deferrable:
            self.defer(trigger=self._trigger(ref, deadline), method_name="execute_complete", timeout=None)
        return self._on_event(hook, self._wait_in_place(hook, ref, deadline), waited="in_place")

    # --- the submit protocol: exactly one remote run per task instance ---------------------
    #: seconds a platform's clock may be behind ours when comparing run creation times
    clock_skew: ClassVar[float] = 30.0

    def _submit_once(self, hook: HookT, context: Context, tag: str) -> Ref:
        """Submit; when the outcome is unknown, look for the run, adopt it, or submit again only
        after ``absence_checks`` lookups found nothing (ARCHITECTURE.md, "The submit rule")."""
        job = self.job()
        submits = 0
        while True:
            since = time.time() - self.clock_skew
            submits += 1
            try:
                ref = self.submit(hook, context, tag)
            except SubmitOutcomeUnknown as exc:
                self.log.warning("submit %d: %s", submits, exc)
                found = self._look_for_run(hook, context, tag, since, exc)
                if found is not None:
                    self.log.info("found %s with this task's tag: the submit did start it; adopting it (not submitting again)", job.describe(found))
                    return found
                if submits > self.max_resubmits:
                    raise ProviderError(
                        f"submitted {submits} time(s), each time without a definite answer ({exc}); no run tagged {tag!r} was found "
                        f"{self.absence_checks} time(s) {self.absence_check_interval:g} s apart after the last one, and max_resubmits={self.max_resubmits} "
                        "is spent: check the platform (and any proxy in front of it), then clear the task"
                    ) from None
                self.log.warning(
                    "no run tagged %r found %d time(s), %.0f s apart: the submit did not start one; submitting again",
                    tag,
                    self.absence_checks,
                    self.absence_check_interval,
                )
                continue
            self.log.info("started %s", job.describe(ref))
            return ref

    def _look_for_run(self, hook: HookT, context: Context, tag: str, since: float, cause: SubmitOutcomeUnknown) -> Ref | None:
        """The run the ambiguous submit started, or None once absence was shown ``absence_checks`` times."""
        if not self.can_find_runs():
            raise ProviderError(
                f"{cause}. {type(self).__name__} cannot look runs up on this platform, so the task is not submitted again (that could "
                f"start a second run): the run may exist; {self.where_to_look(hook, context, tag)} before clearing the task"
            ) from None
        from airflow_provider.common.jobs import is_transient

        deadline = time.monotonic() + self.lookup_timeout
        absent = failures = 0
        while True:
            try:
                found = self.find_submitted(hook, context, tag, since)
            except ProviderError as err:
                failures += 1
                delay = min(self.absence_check_interval or 1.0, 2.0**failures)
                if not is_transient(err) or time.monotonic() + delay > deadline:
                    raise ProviderError(
                        f"{cause}. Looking for the run failed too ({err}), so the task is not submitted again: the run may exist; "
                        f"{self.where_to_look(hook, context, tag)} before clearing the task"
                    ) from None
                self.log.warning("looking for the run tagged %r failed (%s); again in %.0f s", tag, err, delay)
                time.sleep(delay)
                continue
            if found is not None:
                return found
            absent += 1
            if absent >= self.absence_checks:
                return None
            self.log.info("no run tagged %r yet (%d of %d checks); looking again in %.0f s", tag, absent, self.absence_checks, self.absence_check_interval)
            time.sleep(self.absence_check_interval)

    def _first_look(self, hook: HookT, ref: Ref) -> JobStatus | None:
        """One state check before waiting (defer only if not terminal); a blip here is left to the wait."""
        from airflow_provider.common.jobs import is_transient, permanent_failure

        try:
            return hook.drive(self.job().status(ref))
        except ProviderError as exc:
            if not is_transient(exc):
                raise ProviderError(permanent_failure(self.job(), ref, exc)) from None
            self.log.warning("could not read the state of %s yet (%s); waiting", self.job().describe(ref), exc)
            return None

    def execute_complete(self, context: Context, event: Any = None) -> Any:
        event = self._validate_event(event)
        self._ref = event["ref"]
        hook = self.hook()
        return self._on_event(hook, event, waited="deferred")

    def _on_event(self, hook: HookT, event: dict[str, Any], waited: str) -> Any:
        from airflow_provider.common.jobs import JobStatus

        job, ref = self.job(), event["ref"]
        if event["event"] == "error":
            # the run may be fine: do not cancel; a retry re-attaches to it
            raise ProviderError(event["message"])
        if event["event"] == "timeout":
            self.record_remote_outcome(
                ref, JobStatus.from_json(event["status"]) if event.get("status") else None, job.url(hook.target, ref), error=event["message"]
            )
            note = "left running"
            if self.cancel_on_timeout:
                try:
                    done = hook.drive(job.cancel(ref))
                    # a platform may say what cancelling did (stopped, deleted, already ended)
                    note = done if isinstance(done, str) else "cancelled it"
                except ProviderError as exc:
                    note = f"could not cancel it: {exc}"
            raise RemoteJobFailed(f"{event['message']}; gave up waiting and {note}")
        return self._finish(hook, ref, JobStatus.from_json(event["status"]), waited=waited)

    def _finish(self, hook: HookT, ref: Ref, status: JobStatus, waited: str) -> Any:
        from airflow_provider.common.jobs import Phase

        job = self.job()
        url = job.url(hook.target, ref)
        status = self._final_status(hook, ref, status)
        self.record_remote_outcome(ref, status, url)
        if status.phase is Phase.SUCCEEDED:
            self.log.info("%s finished: %s", job.describe(ref), status.state)
            return {**self.summary(ref, status), "url": url, "waited": waited}
        details = self._explain_failure(hook, ref, status)
        self.record_remote_outcome(ref, status, url, error=details or status.state)
        verb = "was cancelled" if status.phase is Phase.CANCELLED else "failed"
        raise RemoteJobFailed(f"{job.describe(ref)} {verb} (state {status.state})" + (f": {details}" if details else "") + (f" — see {url}" if url else ""))

    def on_kill(self) -> None:
        if not (self.cancel_on_kill and self._ref):
            return
        job = self.job()
        try:
            self.hook().drive(job.cancel(self._ref))
            self.log.info("cancelled %s", job.describe(self._ref))
        except Exception as exc:  # noqa: BLE001 - best effort while being killed
            self.log.warning("could not cancel %s: %s", job.describe(self._ref), exc)
