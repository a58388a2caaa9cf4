"""A fault-injecting reverse proxy: the gateway between a client and a platform that loses answers.

Every request is forwarded to the upstream (an emulator). A rule that matches the request then
decides what the client gets *after the upstream has done the work*:

* ``"502"`` / ``"504"``: a gateway error instead of the upstream's answer (a load balancer timing
  out, a proxy restarting);
* ``"reset"``: the connection is dropped without an answer;
* ``"hold"``: the upstream's answer is delivered only after ``hold`` seconds (a window in which a
  test can kill the client, e.g. a task process between its submit and its XCom push).

:meth:`FaultProxy.deny` makes the proxy answer every request itself with a status (401: a revoked
token) without forwarding, until :meth:`FaultProxy.allow`.

Without a matching rule the proxy is transparent. ``exchanges`` lists what went through, with the
upstream's status and what the client was answered (0: dropped), so a test can count submits.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from starlette.types import Receive, Scope, Send
from support.recorder import loop_client, read_body

from airflow_provider.testing.server import EmulatedReset, EmulatorServer

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "te", "upgrade", "host"}
ACTIONS = ("502", "504", "reset", "hold")


@dataclass
class Rule:
    action: str
    method: str | None = None
    path_pattern: str | None = None
    hold: float = 0.0
    #: a regular expression searched in the body (GraphQL sends every operation to one path)
    body_pattern: str | None = None

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.body_pattern and not re.search(self.body_pattern.encode(), body):
            return False
        return not (self.path_pattern and not re.search(self.path_pattern, path))


@dataclass
class ProxiedExchange:
    method: str
    path: str
    upstream_status: int
    answered: int
    action: str | None
    at: float = field(default_factory=time.time)
    #: the request body, so a test can tell whose submit it was
    body: bytes = b""


class FaultProxy:
    """ASGI reverse proxy in front of ``upstream``; serve it with :meth:`serve` (127.0.0.1, free port)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.exchanges: list[ProxiedExchange] = []
        self.lock = threading.Lock()
        self.held = threading.Condition(self.lock)
        self.holding: list[ProxiedExchange] = []
        self._clients: dict[int, httpx.AsyncClient] = {}
        self.server: EmulatorServer | None = None
        self.denying: int | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "serve() first"
        return self.server.url

    def serve(self) -> FaultProxy:
        self.server = EmulatorServer(self).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def after_commit(
        self, action: str, count: int = 1, *, method: str | None = "POST", path_pattern: str | None = None, body_pattern: str | None = None, hold: float = 0.0
    ) -> None:
        """The next ``count`` matching requests are forwarded, then answered with ``action``."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
        with self.lock:
            self.rules.extend(Rule(action, method, path_pattern, hold, body_pattern) for _ in range(count))

    def deny(self, status: int = 401) -> None:
        """Answer every request with ``status`` (and a JSON message) without forwarding it."""
        self.denying = status

    def allow(self) -> None:
        self.denying = None

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def count(self, method: str | None = None, path_pattern: str = "", upstream_ok: bool = True) -> int:
        """How many matching requests reached the upstream (and, by default, got a 2xx there)."""
        with self.lock:
            return sum(
                1
                for e in self.exchanges
                if (method is None or e.method == method) and re.search(path_pattern, e.path) and (not upstream_ok or 200 <= e.upstream_status < 300)
            )

    def wait_holding(self, timeout: float) -> ProxiedExchange:
        """Block until a request is being held (its upstream answer is in, the client's not yet)."""
        deadline = time.time() + timeout
        with self.held:
            while not self.holding:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"no request was held within {timeout} s")
                self.held.wait(left)
            return self.holding.pop(0)

    def _take(self, method: str, path: str, body: bytes) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path, body):
                    self.rules.remove(rule)
                    return rule
        return None

    def _client(self) -> httpx.AsyncClient:
        return loop_client(self._clients)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        body = await read_body(receive)
        if self.denying is not None:
            with self.lock:
                self.exchanges.append(ProxiedExchange(method, path, 0, self.denying, "deny"))
            message = b'{"message": "The token was revoked", "errorType": "Unauthorized", "code": "AccessDenied"}'
            await _respond(send, self.denying, [(b"content-type", b"application/json")], message)
            return
        headers = [(k.decode(), v.decode()) for k, v in scope.get("headers", []) if k.decode().lower() not in _HOP_BY_HOP]
        query = scope.get("query_string", b"").decode()
        raw_path = scope.get("raw_path") or path.encode()  # percent-encoding as the client sent it
        url = f"{self.upstream}{raw_path.decode()}" + (f"?{query}" if query else "")
        try:
            answer = await self._client().request(method, url, headers=headers, content=body)
        except httpx.TransportError:
            with self.lock:
                self.exchanges.append(ProxiedExchange(method, path, 0, 502, None))
            await _respond(send, 502, [(b"content-type", b"text/plain")], b"upstream unreachable")
            return
        rule = self._take(method, path, body)
        record = ProxiedExchange(method, path, answer.status_code, answer.status_code, rule.action if rule else None, body=body)
        with self.lock:
            self.exchanges.append(record)
        if rule is None or rule.action == "hold":
            if rule is not None:
                with self.held:
                    self.holding.append(record)
                    self.held.notify_all()
                await asyncio.sleep(rule.hold)
            out = [(k.encode(), v.encode()) for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP]
            await _respond(send, answer.status_code, out, answer.content)
            return
        if rule.action == "reset":
            record.answered = 0
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
            raise EmulatedReset("fault proxy: connection dropped after the upstream committed")
        record.answered = int(rule.action)
        text = b"<html><body><h1>502 Bad Gateway</h1></body></html>" if rule.action == "502" else b"<html><body><h1>504 Gateway Time-out</h1></body></html>"
        await _respond(send, record.answered, [(b"content-type", b"text/html")], text)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream).serve()
    try:
        yield proxy
    finally:
        proxy.stop()
