"""The provider's small exception hierarchy.

Every error keeps what a person needs to act on it (HTTP status, the platform's own
error code and message, the request id) and never the credentials that were sent.
They derive from ``AirflowException`` so Airflow treats them as task failures.
"""

from __future__ import annotations

from typing import Any

try:  # airflow.sdk is the Airflow 3 home; keep the module importable without it for unit tools
    from airflow.sdk.exceptions import AirflowException as _Base
except ImportError:  # pragma: no cover
    _Base = Exception  # type: ignore[misc,assignment]


class ProviderError(_Base):
    """Base of everything this provider raises on purpose."""


class ConfigError(ProviderError):
    """A connection or an operator argument is wrong; the message names the field and the fix."""


class TransportError(ProviderError):
    """The platform could not be reached (DNS, refused, reset, timeout)."""

    def __init__(self, message: str, *, may_have_reached_server: bool = False) -> None:
        super().__init__(message)
        self.may_have_reached_server = may_have_reached_server


class ApiError(ProviderError):
    """The platform answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.platform_message = message
        self.request_id = request_id
        self.method = method
        self.url = url
        self.details = details
        self.retry_after = retry_after
        #: how many times the transport resent the request before this answer (0: sent once)
        self.resent = 0
        #: the platform said no retry can fix this (set by platforms whose errors say so beyond the status)
        self.permanent = False
        super().__init__(self._render())

    def after_resends(self, resent: int) -> ApiError:
        """Record how often the request was resent, so the message says so truthfully."""
        self.resent = resent
        self.args = (self._render(),)
        return self

    def _render(self) -> str:
        parts = [f"{self.method} {self.url} -> HTTP {self.status}".strip()]
        if self.code:
            parts.append(f"[{self.code}]")
        parts.append(self.platform_message or "(no message)")
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        if self.resent:
            parts.append(f"(resent {self.resent} time{'s' if self.resent > 1 else ''})")
        return " ".join(parts)


class AuthError(ApiError):
    """401/403: the credentials are wrong or lack a permission. Never retried."""


class NotFoundError(ApiError):
    """404: the object does not exist (or the platform hides it)."""


class BadRequestError(ApiError):
    """400/409/422: the request itself is wrong."""


class RateLimitedError(ApiError):
    """429 after the retry budget was spent."""


class ServerError(ApiError):
    """5xx after the retry budget was spent."""


class SubmitOutcomeUnknown(ProviderError):
    """A request that is not safe to resend (it starts remote work) was sent, and no definite answer
    came back: a 500/502/503/504, a read timeout, or the connection lost after sending. The platform
    may have done the work, so the transport did not resend it; the operator looks for the run by its
    identity tag before it would ever submit again.

    Keeps the call, the HTTP status (None when there was no answer) and the request id.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        request_id: str | None = None,
        reason: str = "",
        call: Any = None,
        cause: ApiError | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.status = status
        self.request_id = request_id
        self.reason = reason
        self.call = call
        self.cause = cause


class RemoteJobFailed(ProviderError):
    """The remote run ended in a failed, cancelled or timed-out state."""


def api_error_for(status: int) -> type[ApiError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return BadRequestError
