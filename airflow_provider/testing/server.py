"""Run an emulator app on loopback, and inject faults into it.

Every emulator is a FastAPI app wrapped in :class:`FaultInjector`, so tests, the demo and users
testing their own DAGs get the same knobs: latency, error bursts (429 with ``Retry-After``,
503, ...), connection resets, and a log of the requests received.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_PREFIX = "/_emulator"
#: ``fault_body(status, request headers) -> (body, extra headers)``
FaultBody = Callable[[int, dict[str, str]], tuple[bytes, list[tuple[bytes, bytes]]]]


class EmulatedReset(ConnectionResetError):
    """Raised mid-response to make uvicorn drop the connection."""


# an emulated reset is meant: no traceback in the log for it
logging.getLogger("uvicorn.error").addFilter(lambda record: not (record.exc_info and isinstance(record.exc_info[1], EmulatedReset)))


@dataclass
class Fault:
    kind: str  # "status" | "reset"
    status: int = 503
    retry_after: str | None = None
    method: str | None = None
    path_contains: str | None = None
    #: a regular expression searched in the path, for when a substring is ambiguous
    path_pattern: str | None = None
    #: a "status" fault that first lets the platform do the work, then answers the error (a gateway
    #: that forwarded the request and timed out: the worst case for a client that would resend)
    commit: bool = False
    #: a substring of the request body (GraphQL sends every operation to one path)
    body_contains: str | None = None
    #: matching requests to let through before this fault applies (e.g. fail a wait's third poll)
    skip: int = 0

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.body_contains and self.body_contains.encode() not in body:
            return False
        if self.path_pattern and not re.search(self.path_pattern, path):
            return False
        return not (self.path_contains and self.path_contains not in path)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None
    #: when it arrived (``time.time()``), to measure how fast a client reacted to an answer
    at: float = field(default_factory=time.time)


@dataclass
class Faults:
    """Knobs shared by every emulator. Safe to change from another thread while serving."""

    latency: float = 0.0
    queue: deque[Fault] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        retry_after: str | None = None,
        method: str | None = None,
        path_contains: str | None = None,
        path_pattern: str | None = None,
        commit: bool = False,
        body_contains: str | None = None,
        skip: int = 0,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``; with ``commit`` the platform
        handles the request first (the answer is lost, the work is done); ``skip`` matching requests
        pass untouched first."""
        with self.lock:
            self.queue.extend(
                Fault("status", status, retry_after, method, path_contains, path_pattern, commit, body_contains, skip if i == 0 else 0) for i in range(count)
            )

    def reset_next(
        self, count: int = 1, *, method: str | None = None, path_contains: str | None = None, path_pattern: str | None = None, body_contains: str | None = None
    ) -> None:
        """Process the request, then drop the connection instead of answering (the client sees a reset)."""
        with self.lock:
            self.queue.extend(
                Fault("reset", method=method, path_contains=path_contains, path_pattern=path_pattern, body_contains=body_contains) for _ in range(count)
            )

    def clear(self) -> None:
        with self.lock:
            self.queue.clear()
            self.latency = 0.0

    def take(self, method: str, path: str, body: bytes = b"") -> Fault | None:
        with self.lock:
            for fault in self.queue:
                if fault.matches(method, path, body):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    self.queue.remove(fault)
                    return fault
        return None

    def calls(self, method: str | None = None, path_contains: str = "") -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_contains in r.path]


class FaultInjector:
    """ASGI middleware: records requests, adds latency, answers faults, serves ``/_emulator/faults``."""

    def __init__(self, app: ASGIApp, faults: Faults, fault_body: FaultBody | None = None, headers: dict[str, str] | None = None) -> None:
        """``fault_body``: an emulated fault's answer in the platform's own error shape (default: a
        generic JSON message); ``headers``: sent with every answer, the emulated faults' included."""
        self.app = app
        self.faults = faults
        self.fault_body = fault_body
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        body = await _read_body(receive)
        if path.startswith(ADMIN_PREFIX):
            await self._admin(method, path, body, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}  # as HTTP and starlette
        record = RecordedRequest(method, path, scope.get("query_string", b"").decode(), headers, body)
        with self.faults.lock:
            self.faults.requests.append(record)
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(method, path, body)
        if fault is not None and (fault.kind == "reset" or fault.commit):
            # the worst case for a client: the server did the work, then the answer was lost
            await self.app(scope, _replay(body), _discard)
        if fault is not None and fault.kind == "reset":
            record.answered = 0
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
            raise EmulatedReset("emulated connection reset")
        if fault is not None:
            record.answered = fault.status
            hdrs = [(b"content-type", b"application/json"), *self.headers]
            if fault.retry_after is not None:
                hdrs.append((b"retry-after", fault.retry_after.encode()))
            if self.fault_body is not None:
                payload, extra = self.fault_body(fault.status, headers)
                hdrs.extend(extra)
            else:
                payload = json.dumps({"message": f"emulated fault {fault.status}", "errorType": "EmulatedFault"}).encode()
            await send({"type": "http.response.start", "status": fault.status, "headers": hdrs})
            await send({"type": "http.response.body", "body": payload})
            return

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.answered = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, _replay(body), recording_send)

    async def _admin(self, method: str, path: str, body: bytes, send: Send) -> None:
        answer: Any = {"ok": True}
        if path == f"{ADMIN_PREFIX}/faults" and method == "POST":
            spec = json.loads(body or b"{}")
            if "latency" in spec:
                self.faults.latency = float(spec["latency"])
            for item in spec.get("faults", []):
                add = self.faults.reset_next if item.pop("kind", "status") == "reset" else self.faults.fail_next
                add(int(item.pop("count", 1)), **item)
        elif path == f"{ADMIN_PREFIX}/faults" and method == "DELETE":
            self.faults.clear()
        elif path == f"{ADMIN_PREFIX}/requests/count":
            # cheap enough to ask every second while thousands of waits poll (benchmarks)
            with self.faults.lock:
                answer = {"count": len(self.faults.requests)}
        elif path == f"{ADMIN_PREFIX}/requests":
            answer = [{"method": r.method, "path": r.path, "query": r.query, "status": r.answered} for r in self.faults.calls()]
        else:
            answer = {"message": f"unknown emulator admin path {path}"}
        payload = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _discard(message: Message) -> None:
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class EmulatorServer:
    """Serve an ASGI app with uvicorn in a background thread on ``127.0.0.1:<port>`` (0: any free port)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True, name=f"emulator:{self.port}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread.start()
        deadline = time.time() + 15
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"emulator on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
