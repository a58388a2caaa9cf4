"""The one retry policy of the transport (DESIGN.md, "Retry policy").

Pure decisions, no I/O and no clock, so both transports share it and tests need no fakes.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    #: total seconds of sleeping one request may spend on retries
    budget: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 0.25

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with jitter for the ``attempt``-th retry (1-based)."""
        delay = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        spread = delay * self.jitter
        return max(0.0, delay + (rng or random).uniform(-spread, spread))

    def delay_for_status(self, status: int, *, idempotent: bool, attempt: int, slept: float, retry_after: float | None) -> float | None:
        """Seconds to wait before resending after an HTTP error answer, or None to give up."""
        retryable = status in RETRY_STATUSES or (status == 500 and idempotent)
        if not retryable:
            return None
        delay = retry_after if retry_after is not None else self.backoff(attempt)
        return self._within_budget(delay, attempt, slept)

    def delay_for_transport_error(self, *, idempotent: bool, may_have_reached_server: bool, attempt: int, slept: float) -> float | None:
        """Seconds to wait after a connection-level failure, or None to give up.

        A request that never left (refused, DNS) is always safe to resend. One that may have
        reached the server (read timeout, reset after sending) is resent only when idempotent:
        resending a POST could start the remote work twice; the operator's re-attach lookup
        decides instead.
        """
        if may_have_reached_server and not idempotent:
            return None
        return self._within_budget(self.backoff(attempt), attempt, slept)

    def _within_budget(self, delay: float, attempt: int, slept: float) -> float | None:
        if attempt >= self.max_attempts or slept + delay > self.budget:
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
