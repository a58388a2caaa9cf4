"""HTTP execution of :class:`~airflow_provider.common.flow.Call` descriptions.

``SyncTransport`` uses ``requests``; ``AsyncTransport`` uses ``httpx`` with one pooled client per
event loop and connection, because the triggerer runs thousands of waits in one process and a
client per poll would cost a TLS handshake each time. Both share request building, answer
interpretation and the retry decisions; only the act of sending differs.
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import logging
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider.common.errors import ApiError, ConfigError, SubmitOutcomeUnknown, TransportError, api_error_for
from airflow_provider.common.flow import Call, Reply
from airflow_provider.common.retry import FailureKind, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    import httpx
    import requests

log = logging.getLogger(__name__)

#: (status, headers, body) -> (platform code, message, request id, details)
ErrorParser = Callable[[int, Mapping[str, str], bytes], tuple[str | None, str, str | None, Any]]


class Auth:
    """Credentials as request headers. ``repr`` never shows them."""

    def headers(self) -> dict[str, str]:
        return {}

    def secrets(self) -> list[str]:
        """Values to register with Airflow's secret masker."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


class NoAuth(Auth):
    pass


class BasicAuth(Auth):
    def __init__(self, username: str, password: str) -> None:
        self._value = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self._secrets = [s for s in (password, self._value) if s]
        # an API key sent as the username (DSS) is the secret itself
        if username and not password:
            self._secrets.insert(0, username)

    def headers(self) -> dict[str, str]:
        return {"Authorization": self._value}

    def secrets(self) -> list[str]:
        return list(self._secrets)


class HeaderAuth(Auth):
    """A token in a header: ``Authorization: Bearer X`` or a platform header such as ``x-pf-authorization``."""

    def __init__(self, token: str, header: str = "Authorization", scheme: str | None = "Bearer") -> None:
        self.token = token
        self._header = header
        self._scheme = scheme

    def headers(self) -> dict[str, str]:
        return {self._header: f"{self._scheme} {self.token}" if self._scheme else self.token}

    def secrets(self) -> list[str]:
        return [self.token]


@dataclass(frozen=True)
class Target:
    """Where and how to talk to one platform instance, resolved from an Airflow connection."""

    platform: str
    base_url: str
    auth: Auth = field(default_factory=NoAuth, repr=False, compare=False)
    verify: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = "airflow-provider"

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def quote_segment(value: object) -> str:
    """A path segment, percent-encoded (the official clients do not, and break on ``&``, ``#``, ``/``)."""
    return quote(str(value), safe="")


def _param_value(value: Any) -> Any:
    # Go and Spring parse lowercase booleans; DSS accepts either case.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _header_value(name: str, value: str, platform: str) -> Any:
    """A header value both clients send the same way: HTTP carries Latin-1 bytes (servers decode header
    bytes as Latin-1), so a non-ASCII value goes as those bytes; ``requests`` would do that for a str,
    ``httpx`` would refuse it. A value outside Latin-1 cannot travel in a header at all."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise ConfigError(
            f"{platform} takes {name!r} in an HTTP header, which carries only Latin-1 characters; {value!r} has others: "
            "rename it (letters with accents such as é work, CJK and emoji do not)"
        ) from None


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    params: dict[str, Any]
    headers: dict[str, Any]
    content: bytes | None
    files: Mapping[str, tuple[str, bytes, str]] | None
    timeout: tuple[float, float]


def prepare(target: Target, call: Call, auth: Auth | None = None) -> PreparedRequest:
    headers = {"User-Agent": target.user_agent, "Accept": "application/json", **target.extra_headers}
    if not call.anonymous:
        headers.update((auth or target.auth).headers())
    content = call.content
    if call.json is not None:
        content = jsonlib.dumps(call.json).encode()
        headers["Content-Type"] = "application/json"
    if call.headers:
        headers.update({k: _header_value(k, v, target.platform) for k, v in call.headers.items()})
    params = {k: _param_value(v) for k, v in (call.params or {}).items() if v is not None}
    read_timeout = call.read_timeout if call.read_timeout is not None else target.read_timeout
    return PreparedRequest(
        method=call.method.upper(),
        url=target.url(call.path),
        params=params,
        headers=headers,
        content=content,
        files=call.files,
        timeout=(target.connect_timeout, read_timeout),
    )


def interpret(target: Target, call: Call, req: PreparedRequest, status: int, headers: Mapping[str, str], body: bytes, parse_error: ErrorParser) -> Any:
    """Turn an answer into the value the flow asked for, or raise an :class:`ApiError`."""
    if status >= 400:
        code, message, request_id, details = parse_error(status, headers, body)
        raise api_error_for(status)(
            message,
            status=status,
            code=code,
            request_id=request_id,
            method=req.method,
            url=req.url,
            details=details,
            retry_after=parse_retry_after(headers.get("retry-after"), time.time()),
        )
    if call.expect == "reply":
        return Reply(status=status, headers=dict(headers), body=body)
    if call.expect == "none":
        return None
    if call.expect == "bytes":
        return body
    if call.expect == "text":
        return body.decode("utf-8", errors="replace")
    if not body.strip():
        return None
    try:
        return jsonlib.loads(body)
    except ValueError as exc:
        snippet = body[:200].decode("utf-8", errors="replace")
        raise ApiError(f"expected JSON from {target.platform}, got: {snippet!r}", status=status, method=req.method, url=req.url) from exc


def default_error_parser(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str, str | None, Any]:
    try:
        data = jsonlib.loads(body)
    except ValueError:
        return None, body[:500].decode("utf-8", errors="replace").strip(), None, None
    if isinstance(data, dict):
        message = data.get("message") or data.get("detail") or data.get("error") or str(data)
        return data.get("code"), str(message), None, data
    return None, str(data), None, data


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _unreachable(target: Target, req: PreparedRequest, reason: str, kind: FailureKind, attempts: int) -> TransportError:
    resent = f"resent {_times(attempts - 1)}" if attempts > 1 else "not resent"
    if kind == "connect":
        hint = f"tried {_times(attempts)}; check the host, port and scheme of the {target.platform} connection"
    elif kind == "timeout":
        hint = f"no answer within read_timeout {req.timeout[1]:g} s ({resent}); the server accepted the connection but is silent: check it, or raise read_timeout in the connection extra"
    else:
        hint = f"the connection was lost after sending ({resent}); check the server and any proxy in front of it"
    return TransportError(f"cannot reach {target.platform} at {req.url} ({reason}): {hint}", may_have_reached_server=kind != "connect")


def _outcome_unknown(target: Target, call: Call, req: PreparedRequest, reason: str, status: int | None, cause: ApiError | None) -> SubmitOutcomeUnknown:
    what = f"answered HTTP {status}" if status is not None else reason
    detail = f": {cause.platform_message}" if cause is not None and cause.platform_message else ""
    rid = f" (request id {cause.request_id})" if cause is not None and cause.request_id else ""
    return SubmitOutcomeUnknown(
        f"{req.method} {req.url} {what}{detail}{rid} after the request was sent: it may have reached the server and "
        f"done its work, so it was not resent (it is not idempotent); look for the {target.platform} run before starting another",
        method=req.method,
        url=req.url,
        status=status,
        request_id=cause.request_id if cause is not None else None,
        reason=reason,
        call=call,
        cause=cause,
    )


def tls_failure(exc: BaseException) -> str | None:
    """``"certificate"`` or ``"handshake"`` when ``exc`` is a failed TLS handshake, else None. Nothing of
    the request reached the server then, and resending cannot help."""
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return "certificate"
        if isinstance(current, ssl.SSLError) or type(current).__name__ == "SSLError" or "[SSL" in str(current):
            return "handshake"
        current = current.__cause__ or current.__context__ or (current.args[0] if current.args and isinstance(current.args[0], BaseException) else None)
    return None


def _tls_error(target: Target, req: PreparedRequest, kind: str) -> TransportError:
    where = req.url.split("/", 3)[2] if "://" in req.url else req.url
    if kind == "certificate":
        text = (f"TLS certificate of {target.platform} at {where} could not be verified: give the CA bundle to the system, "
                "or set verify_ssl false in the connection extra for a test server")  # fmt: skip
    else:
        text = (f"scheme mismatch: the TLS handshake with {target.platform} at {where} failed, so the server does not speak https there "
                f"(the connection uses {req.url.split(':', 1)[0]}; without a scheme in Host it defaults to https); "
                "write http://host:port in Host if the server is plain http. Nothing was sent")  # fmt: skip
    return TransportError(text, may_have_reached_server=False)


class Attempts:
    """The retry bookkeeping of one request, shared by both transports (only sending differs)."""

    def __init__(self, target: Target, call: Call, req: PreparedRequest, parse_error: ErrorParser) -> None:
        self.target, self.call, self.req, self.parse_error = target, call, req, parse_error
        self.attempt = 0
        self.slept = 0.0

    def failed_to_send(self, exc: Exception, kind: FailureKind) -> float:
        """Seconds to wait before resending, or raise a clear :class:`TransportError` (or
        :class:`SubmitOutcomeUnknown` when a non-idempotent request may have been carried out)."""
        tls = tls_failure(exc)
        if tls is not None:
            raise _tls_error(self.target, self.req, tls) from None
        self.attempt += 1
        idempotent = self.call.is_idempotent
        delay = self.target.policy.delay_for_transport_error(
            idempotent=idempotent, may_have_reached_server=kind != "connect", attempt=self.attempt, slept=self.slept, timed_out=kind == "timeout"
        )
        if delay is None:
            reason = type(exc).__name__
            if RetryPolicy.outcome_unknown(None, idempotent=idempotent, kind=kind):
                raise _outcome_unknown(self.target, self.call, self.req, reason, None, None) from None
            raise _unreachable(self.target, self.req, reason, kind, self.attempt) from None
        log.warning("%s %s failed (%s); retry %d in %.1fs", self.req.method, self.req.url, type(exc).__name__, self.attempt, delay)
        self.slept += delay
        return delay

    def answered(self, status: int, headers: Mapping[str, str], body: bytes) -> tuple[bool, Any]:
        """``(True, value)``, or ``(False, seconds to wait before resending)``, or raise the ApiError."""
        self.attempt += 1
        try:
            return True, interpret(self.target, self.call, self.req, status, headers, body, self.parse_error)
        except ApiError as err:
            if err.status in self.call.final_statuses:
                raise
            idempotent = self.call.is_idempotent
            delay = self.target.policy.delay_for_status(err.status, idempotent=idempotent, attempt=self.attempt, slept=self.slept, retry_after=err.retry_after)
            if delay is None:
                if RetryPolicy.outcome_unknown(err.status, idempotent=idempotent):
                    raise _outcome_unknown(self.target, self.call, self.req, f"HTTP {err.status}", err.status, err) from None
                raise err.after_resends(self.attempt - 1) from None
            log.warning("%s %s answered %d; retry %d in %.1fs", self.req.method, self.req.url, err.status, self.attempt, delay)
            self.slept += delay
            return False, delay


class SyncTransport:
    def __init__(self, target: Target, parse_error: ErrorParser = default_error_parser, sleep: Callable[[float], None] = time.sleep) -> None:
        import requests

        self.target = target
        self.parse_error = parse_error
        self._sleep = sleep
        self.session: requests.Session = requests.Session()
        self.session.verify = target.verify

    def close(self) -> None:
        self.session.close()

    def execute(self, call: Call, auth: Auth | None = None) -> Any:
        import requests

        req = prepare(self.target, call, auth)
        attempts = Attempts(self.target, call, req, self.parse_error)
        while True:
            try:
                resp = self._send(req)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                delay = attempts.failed_to_send(exc, _failure_kind_requests(exc))
            else:
                done, value = attempts.answered(resp.status_code, resp.headers, resp.content)
                if done:
                    return value
                delay = value
            self._sleep(delay)

    def _send(self, req: PreparedRequest) -> requests.Response:
        files = {k: (n, b, t) for k, (n, b, t) in req.files.items()} if req.files else None
        return self.session.request(
            req.method,
            req.url,
            params=req.params,
            headers=req.headers,
            data=req.content,
            files=files,
            timeout=req.timeout,
            allow_redirects=True,
        )


def _failure_kind_requests(exc: Exception) -> FailureKind:
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return "connect"
    if isinstance(exc, requests.ReadTimeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "reset"
    text = repr(exc)
    # NewConnectionError / NameResolutionError: the socket never connected
    if "NewConnectionError" in text or "NameResolutionError" in text or "Connection refused" in text:
        return "connect"
    return "reset"


def _failure_kind_httpx(exc: Exception) -> FailureKind:
    import httpx

    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "connect"
    if isinstance(exc, httpx.ReadTimeout):
        return "timeout"
    return "reset"


#: connections per (event loop, connection); also the number of requests in flight at once
POOL_CONNECTIONS = 16
#: idle connections are kept this long: longer than any poll interval, so polls reuse them
KEEPALIVE_SECONDS = 120.0


class _ClientPool:
    """One ``httpx.AsyncClient`` per (event loop, key): shared by every trigger of a connection.

    Each client comes with a semaphore sized to its pool: requests beyond it wait here, not in
    httpcore's pool, whose bookkeeping costs grow with queued requests x connections (thousands of
    waits finishing together saturated the loop there).
    """

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], tuple[httpx.AsyncClient, asyncio.Semaphore]]] = (
            weakref.WeakKeyDictionary()
        )

    def entry(self, key: tuple[Any, ...], verify: bool) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        import httpx

        loop = asyncio.get_running_loop()
        clients = self._by_loop.setdefault(loop, {})
        entry = clients.get(key)
        if entry is None or entry[0].is_closed:
            limits = httpx.Limits(max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_CONNECTIONS, keepalive_expiry=KEEPALIVE_SECONDS)
            entry = clients[key] = (httpx.AsyncClient(verify=verify, limits=limits), asyncio.Semaphore(POOL_CONNECTIONS))
        return entry

    def get(self, key: tuple[Any, ...], verify: bool) -> httpx.AsyncClient:
        return self.entry(key, verify)[0]

    def size(self) -> int:
        try:
            return len(self._by_loop.get(asyncio.get_running_loop(), {}))
        except RuntimeError:
            return 0

    async def aclose_all(self) -> None:
        for client, _ in self._by_loop.pop(asyncio.get_running_loop(), {}).values():
            await client.aclose()


CLIENT_POOL = _ClientPool()


class AsyncTransport:
    def __init__(self, target: Target, parse_error: ErrorParser = default_error_parser, pool_key: tuple[Any, ...] | None = None) -> None:
        self.target = target
        self.parse_error = parse_error
        self._pool_key = pool_key or (target.platform, target.base_url, target.verify)

    @property
    def client(self) -> httpx.AsyncClient:
        return CLIENT_POOL.get(self._pool_key, self.target.verify)

    async def execute(self, call: Call, auth: Auth | None = None) -> Any:
        import httpx

        req = prepare(self.target, call, auth)
        attempts = Attempts(self.target, call, req, self.parse_error)
        while True:
            try:
                resp = await self._send(req)
            except httpx.TransportError as exc:
                delay = attempts.failed_to_send(exc, _failure_kind_httpx(exc))
            else:
                done, value = attempts.answered(resp.status_code, resp.headers, resp.content)
                if done:
                    return value
                delay = value
            await asyncio.sleep(delay)

    async def _send(self, req: PreparedRequest) -> httpx.Response:
        import httpx

        files = {k: (n, b, t) for k, (n, b, t) in req.files.items()} if req.files else None
        timeout = httpx.Timeout(req.timeout[1], connect=req.timeout[0])
        client, in_flight = CLIENT_POOL.entry(self._pool_key, self.target.verify)
        async with in_flight:
            return await client.request(
                req.method,
                req.url,
                params=req.params,
                headers=req.headers,
                content=req.content if not files else None,
                data=None,
                files=files,
                timeout=timeout,
                follow_redirects=True,
            )
