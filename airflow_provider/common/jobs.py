"""What a platform supplies to the generic remote-job machinery, and the one waiting loop.

A :class:`RemoteJob` is pure: it returns flows (see ``flow.py``) for "get state", "cancel",
"log tail". The same :func:`wait_flow` is then driven in place by the operator (sync hook)
or inside the triggerer (async hook), so the two waiting modes cannot diverge.
"""

from __future__ import annotations

import enum
import functools
import importlib
import logging
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow_provider.common.errors import ApiError, AuthError, BadRequestError, NotFoundError, ProviderError, SubmitOutcomeUnknown, TransportError
from airflow_provider.common.flow import Flow, Gather, Now, Sleep

if TYPE_CHECKING:
    from airflow_provider.common.hook import AsyncPlatformHook, SyncPlatformHook
    from airflow_provider.common.transport import Target

log = logging.getLogger(__name__)

T = TypeVar("T")

Ref = dict[str, Any]
"""A remote run's identity: ids and numbers only, so it can travel in XCom and trigger kwargs."""


class Phase(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: a state this provider does not know yet: keep waiting, never crash (anchors broke on new states)
    UNKNOWN = "unknown"
    #: over, but the outcome is not known yet: a listing showed the run no longer running, and the
    #: triggerer left the run's own read to the worker (``RemoteJob.settle``)
    ENDED = "ended"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED, Phase.ENDED)


@dataclass(frozen=True, slots=True)
class JobStatus:
    phase: Phase
    #: the platform's own state word, as shown to users
    state: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase.value, "state": self.state, "detail": self.detail}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobStatus:
        return cls(Phase(data["phase"]), data["state"], dict(data.get("detail") or {}))


def import_string(path: str) -> Any:
    module, _, name = path.rpartition(".")
    if not module.startswith("airflow_provider."):
        # trigger kwargs come from the metadata DB: only ever import our own classes from them
        raise ValueError(f"refusing to import {path!r}: not part of airflow_provider")
    return getattr(importlib.import_module(module), name)


class RemoteJob:
    """One kind of remote run on one platform (a DSS scenario run, a PaddleFlow run, ...).

    Instances carry only JSON-able options (``options()``), so the trigger can rebuild them.
    """

    hook_class: ClassVar[str]
    async_hook_class: ClassVar[str]
    #: what a person calls one of these, for messages: "scenario run", "run", "task"
    noun: ClassVar[str] = "run"
    #: seconds over which concurrent waits of one event loop share list calls (``Shared``/``Gather``
    #: steps). The trigger sets it to its poll interval; 0 (in place, in a worker) reads each run alone.
    coalesce_window: float = 0.0

    def __init__(self, **options: Any) -> None:
        self._options = options

    def options(self) -> dict[str, Any]:
        return dict(self._options)

    @classmethod
    def path(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"

    def sync_hook(self, conn_id: str) -> SyncPlatformHook:
        return import_string(self.hook_class)(conn_id)  # type: ignore[no-any-return]

    def async_hook(self, conn_id: str) -> AsyncPlatformHook:
        return import_string(self.async_hook_class)(conn_id)  # type: ignore[no-any-return]

    # --- what each platform implements -------------------------------------------------
    def status(self, ref: Ref) -> Flow[JobStatus]:
        raise NotImplementedError

    def cancel(self, ref: Ref) -> Flow[Any]:
        raise NotImplementedError

    #: a detail only the run's own read gives (the step summary, the output tails): a final status
    #: taken from a listing lacks it, and ``settle`` reads the run for it
    read_detail: ClassVar[str | None] = None

    def settle(self, ref: Ref, status: JobStatus) -> Flow[JobStatus]:
        """The whole final status, in the worker, of a wait the triggerer ended from a listing.

        At scale the triggerer does not read every ended run (10,000 reads within two intervals
        saturate its one loop): a run it saw leave the listing ends the wait as :attr:`Phase.ENDED`,
        and the task, which resumes anyway, reads it here. A platform whose listing carries the
        outcome but not every detail (``read_detail``) gets the detail here the same way.
        """
        lacks_detail = self.read_detail is not None and status.phase.terminal and self.read_detail not in status.detail
        if status.phase is not Phase.ENDED and not lacks_detail:
            return status
        return (yield from self.read(ref))

    def read(self, ref: Ref) -> Flow[JobStatus]:
        """The run's own read, no listing involved: what a coalesced wait falls back to, and what
        ``settle`` does. Platforms whose ``status`` coalesces override it."""
        return (yield from self.status(ref))

    def log_tail(self, ref: Ref, lines: int) -> Flow[str]:
        """The last ``lines`` of the remote log; an empty string when there is none."""
        if False:  # pragma: no cover - makes this a generator
            yield
        return ""

    def failure_details(self, ref: Ref, status: JobStatus) -> Flow[str]:
        """The platform's own words on why the run failed."""
        if False:  # pragma: no cover
            yield
        return ""

    def url(self, target: Target, ref: Ref) -> str | None:
        return None

    def poll_key(self, ref: Ref) -> tuple[Any, ...] | None:
        """The ``Shared``/``Gather`` key ``status(ref)`` asks, if any: waits sleep until it is due."""
        return None

    def describe(self, ref: Ref) -> str:
        return f"{self.noun} " + " ".join(f"{k}={v}" for k, v in ref.items())


#: ended runs one triggerer loop reads itself per scope and window; the waits on the others end as
#: ``Phase.ENDED`` and their tasks read them (``RemoteJob.settle``). A few runs ending together
#: (a failure, a run deleted under us) are still told apart in the triggerer, within one poll
FINAL_READS = 8


def read_first(read: Callable[[Any], Flow[T]], items: Sequence[Hashable]) -> Flow[dict[Any, T | ProviderError]]:
    """The :class:`Gather` flow for final reads: the first ``FINAL_READS`` items read one by one,
    each with its own answer or its own error (one run deleted must not fail its neighbours); the
    others are left out, so their askers end as ``Phase.ENDED``."""
    found: dict[Any, T | ProviderError] = {}
    for item in items[:FINAL_READS]:
        try:
            found[item] = yield from read(item)
        except ProviderError as exc:
            found[item] = exc
    return found


def read_if_few(key: tuple[Any, ...], item: Hashable, window: float, read: Callable[[Any], Flow[T]]) -> Flow[T | None]:
    """``read(item)`` for a run a listing showed ended, if it is among the first ``FINAL_READS`` of
    ``key`` in this window (one :class:`Gather` batch, ``read_first``); None when it is left to the
    task (the caller ends its wait as ``Phase.ENDED``). The read's own error is raised here."""
    got = yield Gather(key, item, window, functools.partial(read_first, read))
    if isinstance(got, ProviderError):
        raise got
    return got  # type: ignore[no-any-return]


#: errors worth waiting through: the run is fine, the path to it hiccuped
TRANSIENT = (TransportError, SubmitOutcomeUnknown)


_NOT_FOUND_WORDS = re.compile(r"not found|non-existing|does not exist", re.IGNORECASE)


def _not_found_code(code: str | None) -> bool:
    # DSS NotFoundException (whatever the status), PaddleFlow RunNotFound / RecordNotFound
    return bool(code) and (code.endswith("NotFound") or code.endswith("NotFoundException"))  # type: ignore[union-attr]


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    if isinstance(exc, ApiError):
        if exc.permanent or _not_found_code(exc.code):
            return False  # the platform's own words say no retry can help (a GraphQL validation error, ...)
        return not isinstance(exc, AuthError | NotFoundError | BadRequestError)  # 5xx and 429 that outlived the transport's retries
    return False


def permanent_failure(job: RemoteJob, ref: Ref, exc: BaseException) -> str:
    """Why a wait ends at once: the run, the HTTP status, the platform's message, and the fix."""
    status = f" (HTTP {exc.status})" if isinstance(exc, ApiError) and exc.status else ""
    if isinstance(exc, AuthError):
        fix = (
            "the platform rejected the connection's credentials or they lack a permission (a revoked or expired token?): "
            "fix the connection, then clear the task; the remote run was not cancelled and may still be running"
        )
    elif isinstance(exc, NotFoundError) or (isinstance(exc, ApiError) and (_not_found_code(exc.code) or _NOT_FOUND_WORDS.search(exc.platform_message or ""))):
        fix = "the run no longer exists (deleted, or its project/experiment was removed): there is nothing left to wait for"
    elif isinstance(exc, ApiError) and exc.permanent:
        fix = "the platform refused the state query in a way no retry can fix: check the run id and the server version"
    else:
        fix = "the platform refused the state query: check the ids given to the task"
    return f"waiting on {job.describe(ref)} stopped at the first permanent error{status}: {exc} — {fix}"


def wait_flow(
    job: RemoteJob,
    ref: Ref,
    *,
    poll_interval: float,
    deadline: float | None,
    max_consecutive_errors: int = 5,
    stop_states: Sequence[str] = (),
) -> Flow[dict[str, Any]]:
    """Poll until the run is terminal (or in one of ``stop_states``), the deadline passes, or
    polling fails ``max_consecutive_errors`` times in a row.

    Returns an event: ``{"event": "done" | "timeout" | "error", "ref", "status", "message"}``.
    Deadlines are wall-clock so a triggerer restart does not reset them.
    """
    errors = 0
    last: JobStatus | None = None
    while True:
        try:
            last = yield from job.status(ref)
            errors = 0
        except Exception as exc:  # noqa: BLE001 - classified below
            if not is_transient(exc):
                status = last.to_json() if last else None
                return {"event": "error", "ref": ref, "status": status, "message": permanent_failure(job, ref, exc), "permanent": True}
            if errors + 1 >= max_consecutive_errors:
                message = f"polling {job.describe(ref)} failed after {errors + 1} consecutive failures: {exc}"
                return {"event": "error", "ref": ref, "status": last.to_json() if last else None, "message": message}
            errors += 1
            log.warning("polling %s failed (%s); %d of %d tolerated", job.describe(ref), exc, errors, max_consecutive_errors - 1)
        else:
            if last.phase is Phase.UNKNOWN:
                log.warning("%s is in state %r, which this provider does not know; still waiting", job.describe(ref), last.state)
            if last.phase.terminal or last.state in stop_states:
                return {"event": "done", "ref": ref, "status": last.to_json(), "message": f"{job.describe(ref)} is {last.state}"}
        now = yield Now()
        if deadline is not None and now >= deadline:
            state = last.state if last else "unknown"
            return {"event": "timeout", "ref": ref, "status": last.to_json() if last else None, "message": f"{job.describe(ref)} still {state} at the deadline"}
        sleep = poll_interval if deadline is None else max(0.0, min(poll_interval, deadline - now))
        yield Sleep(sleep, align=job.poll_key(ref))
