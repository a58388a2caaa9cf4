"""The submit rule on the wire, for both transports: which failures resend a GET and a POST.

A tiny HTTP server answers each path's first request with the fault named in the path
(``/status/502``, ``/reset``, ``/silent``) and later ones with 200, and counts what it received.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider.common.errors import ApiError, ServerError, SubmitOutcomeUnknown, TransportError
from airflow_provider.common.flow import Call
from airflow_provider.common.retry import RetryPolicy
from airflow_provider.common.transport import AsyncTransport, SyncTransport, Target, default_error_parser

READ_TIMEOUT = 0.5


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        return None

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        with self.server.lock:
            self.server.hits[(self.command, self.path)] += 1
            first = self.server.hits[(self.command, self.path)] == 1
        parts = self.path.strip("/").split("/")
        if (first and parts[0] == "status") or parts[0] == "always":
            body = b'{"message": "emulated"}'
            self.send_response(int(parts[1]))
            self.send_header("content-type", "application/json")
            self.send_header("x-request-id", "req-42")
            if parts[1] == "429":
                self.send_header("retry-after", "0.2")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if first and parts[0] == "reset":
            # the request was read (the work done), then the connection dies without an answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if parts[0] == "silent":
            time.sleep(READ_TIMEOUT * 3)
            self.close_connection = True
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.hits: Counter[tuple[str, str]] = Counter()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _parse_error(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str, str | None, Any]:
    code, message, _, details = default_error_parser(status, headers, body)
    return code, message, headers.get("x-request-id"), details


def _target(url: str) -> Target:
    return Target(platform="Test", base_url=url, connect_timeout=1.0, read_timeout=READ_TIMEOUT, policy=RetryPolicy(base_delay=0.05))


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _send(mode: str, url: str, method: str, path: str) -> Any:
    call = Call(method, path, json={"x": 1} if method == "POST" else None)
    if mode == "sync":
        transport = SyncTransport(_target(url), _parse_error)
        try:
            return transport.execute(call)
        finally:
            transport.close()

    async def go() -> Any:
        return await AsyncTransport(_target(url), _parse_error, pool_key=("submit-rule", url, mode)).execute(call)

    return asyncio.run(go())


MODES = ["sync", "async"]
_seq = iter(range(1_000_000))


def _path(kind: str) -> str:
    # a fresh path per test, so the server's "first request" is this test's
    return f"/{kind}/{next(_seq)}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_get_is_resent_after_any_retryable_status(server: _Server, mode: str, status: int) -> None:
    path = f"/status/{status}/{next(_seq)}"
    assert _send(mode, f"http://127.0.0.1:{server.server_port}", "GET", path) == {"ok": True}
    assert server.hits[("GET", path)] == 2


@pytest.mark.parametrize("mode", MODES)
def test_post_is_resent_after_429(server: _Server, mode: str) -> None:
    path = f"/status/429/{next(_seq)}"
    assert _send(mode, f"http://127.0.0.1:{server.server_port}", "POST", path) == {"ok": True}
    assert server.hits[("POST", path)] == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_is_not_resent_after_5xx(server: _Server, mode: str, status: int) -> None:
    path = f"/status/{status}/{next(_seq)}"
    with pytest.raises(SubmitOutcomeUnknown) as caught:
        _send(mode, f"http://127.0.0.1:{server.server_port}", "POST", path)
    err = caught.value
    assert server.hits[("POST", path)] == 1
    assert (err.status, err.request_id, err.method) == (status, "req-42", "POST")
    assert isinstance(err.call, Call) and err.call.path == path
    assert isinstance(err.cause, ServerError)
    assert f"HTTP {status}" in str(err) and "not resent" in str(err) and "req-42" in str(err)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_reset_after_send(server: _Server, mode: str, method: str) -> None:
    path = _path("reset")
    url = f"http://127.0.0.1:{server.server_port}"
    if method == "GET":
        assert _send(mode, url, method, path) == {"ok": True}
        assert server.hits[(method, path)] == 2
        return
    with pytest.raises(SubmitOutcomeUnknown) as caught:
        _send(mode, url, method, path)
    assert server.hits[(method, path)] == 1
    assert caught.value.status is None and "not resent" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_read_timeout(server: _Server, mode: str, method: str) -> None:
    path = _path("silent")
    url = f"http://127.0.0.1:{server.server_port}"
    started = time.monotonic()
    expected = TransportError if method == "GET" else SubmitOutcomeUnknown
    with pytest.raises(expected) as caught:
        _send(mode, url, method, path)
    elapsed = time.monotonic() - started
    sends = 2 if method == "GET" else 1
    assert server.hits[(method, path)] == sends
    assert elapsed <= 2 * READ_TIMEOUT + 1, f"a silent host took {elapsed:.1f}s"
    text = str(caught.value)
    assert ("resent once" in text) if method == "GET" else ("not resent" in text)
    assert "resent 5" not in text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_refused_connection_fails_fast_and_says_so(mode: str, method: str) -> None:
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        _send(mode, f"http://127.0.0.1:{_closed_port()}", method, "/anything")
    elapsed = time.monotonic() - started
    assert elapsed <= 3, f"a refused connection took {elapsed:.1f}s"
    assert not isinstance(caught.value, SubmitOutcomeUnknown) and not caught.value.may_have_reached_server
    assert "tried 3 times" in str(caught.value) and "check the host, port" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_resends_are_counted_in_the_final_error(server: _Server, mode: str) -> None:
    """A GET that keeps getting 503 says how often it was resent; a POST's 404 is final and says nothing of resends."""
    url = f"http://127.0.0.1:{server.server_port}"
    path = _path("always/503")
    with pytest.raises(ServerError) as caught:
        _send(mode, url, "GET", path)
    assert server.hits[("GET", path)] == 6
    assert "(resent 5 times)" in str(caught.value)
    path = _path("always/404")
    with pytest.raises(ApiError) as missing:
        _send(mode, url, "POST", path)
    assert server.hits[("POST", path)] == 1 and missing.value.status == 404 and "resent" not in str(missing.value)
