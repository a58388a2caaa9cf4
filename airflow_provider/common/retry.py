"""The one retry policy of the transport (DESIGN.md, "Retry policy"; ARCHITECTURE.md, "The submit rule").

Pure decisions, no I/O and no clock, so both transports share it and tests need no fakes.

The submit rule: a request that is not idempotent (a POST that starts remote work) is resent
only when it certainly did not reach the platform's application: the connection was refused or
the name did not resolve, or the platform answered 429 (it rejected the request before doing
any work). After 500/502/503/504, a read timeout or a reset after sending, the work may have
been done; the transport raises :class:`~airflow_provider.common.errors.SubmitOutcomeUnknown`
and the operator looks for the run instead. Idempotent calls are resent after all of these.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from typing import Literal

#: answers after which an idempotent call is resent
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: answers that mean "rejected before any work was done": any call may be resent
REJECTED_BEFORE_WORK = frozenset({429})
#: answers after which a non-idempotent call may have been carried out (a gateway in front of the
#: platform answers 502/504 after forwarding it; a busy proxy's 503 may follow the same path)
OUTCOME_UNKNOWN_STATUSES = frozenset({500, 502, 503, 504})

#: how a request failed below HTTP: never connected / no answer in time / connection lost after sending
FailureKind = Literal["connect", "timeout", "reset"]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    #: total seconds of sleeping one request may spend on retries
    budget: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 0.25
    #: attempts while the connection is refused or the name does not resolve: a server that is down
    #: stays down for longer than a few seconds, and a wrong host or port never heals, so say so fast
    #: (waits tolerate a few failed polls; a submit is retried by the task's own retries)
    connect_attempts: int = 3
    connect_base_delay: float = 0.1
    #: attempts (idempotent calls only) when the server accepted the connection but did not answer
    #: within the read timeout: a silent server rarely answers the next request either
    timeout_attempts: int = 2
    timeout_delay: float = 0.25

    def backoff(self, attempt: int, rng: random.Random | None = None, base: float | None = None) -> float:
        """Exponential backoff with jitter for the ``attempt``-th retry (1-based)."""
        delay = min(self.max_delay, (self.base_delay if base is None else base) * 2.0 ** (attempt - 1))
        spread = delay * self.jitter
        return max(0.0, delay + (rng or random).uniform(-spread, spread))

    def delay_for_status(self, status: int, *, idempotent: bool, attempt: int, slept: float, retry_after: float | None) -> float | None:
        """Seconds to wait before resending after an HTTP error answer, or None to give up."""
        retryable = status in RETRY_STATUSES if idempotent else status in REJECTED_BEFORE_WORK
        if not retryable:
            return None
        delay = retry_after if retry_after is not None else self.backoff(attempt)
        return self._within_budget(delay, attempt, slept, self.max_attempts)

    @staticmethod
    def outcome_unknown(status: int | None, *, idempotent: bool, kind: FailureKind | None = None) -> bool:
        """Whether a failed non-idempotent request may nevertheless have done its work."""
        if idempotent:
            return False
        if kind is not None:
            return kind != "connect"
        return status in OUTCOME_UNKNOWN_STATUSES

    def delay_for_transport_error(
        self,
        *,
        idempotent: bool,
        may_have_reached_server: bool,
        attempt: int,
        slept: float,
        timed_out: bool = False,
    ) -> float | None:
        """Seconds to wait after a connection-level failure, or None to give up.

        A request that never left (refused, DNS) is always safe to resend, a few times. One that
        may have reached the server (read timeout, reset after sending) is resent only when
        idempotent: resending a POST could start the remote work twice; the operator's lookup
        decides instead.
        """
        if not may_have_reached_server:
            delay = self.backoff(attempt, base=self.connect_base_delay)
            return self._within_budget(delay, attempt, slept, min(self.connect_attempts, self.max_attempts))
        if not idempotent:
            return None
        if timed_out:
            return self._within_budget(min(self.timeout_delay, self.max_delay), attempt, slept, min(self.timeout_attempts, self.max_attempts))
        return self._within_budget(self.backoff(attempt), attempt, slept, self.max_attempts)

    def _within_budget(self, delay: float, attempt: int, slept: float, attempts: int) -> float | None:
        if attempt >= attempts or slept + delay > self.budget:
            return None
        return delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
