"""A recording reverse proxy, for comparing the requests two clients send for the same operation.

Point an official client at the proxy, run one method, then point a hook at it and run the mapped
method; the proxy forwards every request to the upstream (an emulator) and records what it saw::

    with serve_recorded("dataiku", "dataiku_default") as (emulator, proxy):
        with proxy.capture() as theirs:
            client.get_project("P").get_scenario("S").get_status()
        with proxy.capture() as ours:
            DataikuHook("dataiku_default").get_scenario_status("P", "S")
        assert_same_requests(theirs, ours)

Only the request's method, path, query, body, content type, the authorization *scheme* (never
the credential) and the headers a test names are recorded, with the upstream's answer status.

Equivalences :func:`compare_requests` always applies (they cannot change what a server does):

* JSON bodies are compared as parsed values: key order and whitespace do not matter;
* query parameters are compared as a multiset of decoded ``(name, value)`` pairs: their order
  and ``+``/``%20`` spelling do not matter;
* the content type is compared without parameters (``; charset=utf-8``), and only when a body
  is sent.

Equivalences a test must name, each with the reason it holds for that server:

* :class:`ServerDefault` ``(where, name, value)``: a query parameter or top-level body key that one
  side omits and the other sends with the value the server fills in when it is omitted;
* :class:`Generated` ``(pointer)``: a body value each client generates on its own (a fresh id,
  the current time); it must be present on both sides or on neither;
* :class:`BooleanCase`: query booleans spelled ``True``/``true`` (the server parses them
  case-insensitively);
* :class:`Header` ``(name)``: a header the server ignores (a JSON body without a content type).

Waits are compared with :func:`distinct` on both sides: how many looks a poll takes depends on
timing, what each look sends does not.

A client driven from another process (an SDK in its own venv) marks where each operation starts
with ``GET /_recorder/mark/<label>``: the proxy answers it itself (204, never forwarded), and
:func:`split_marks` cuts the recording at the marks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
from starlette.types import Message, Receive, Scope, Send

from airflow_provider.testing.server import EmulatedReset, EmulatorServer

MARK_PREFIX = "/_recorder/mark/"
#: always recorded; add platform headers (``x-pf-authorization``, ...) with ``headers=``
DEFAULT_HEADERS = ("content-type",)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "te", "upgrade"}
_MISSING = object()


@dataclass(frozen=True)
class Exchange:
    """One request as the upstream received it, and the status it answered (0: connection dropped)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes
    headers: dict[str, str]
    status: int
    #: when the proxy received it (``time.time()``), for tests of polling cadence
    at: float = 0.0

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None

    def params(self) -> dict[str, str]:
        return dict(self.query)

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query)
        body = self.body[:300].decode(errors="replace")
        return f"{self.method} {self.path}{'?' + query if query else ''} {body} -> {self.status}"


@dataclass(frozen=True)
class ServerDefault:
    """``where`` is ``"query"`` or ``"body"``; ``value`` is what the server assumes when ``name`` is absent."""

    where: str
    name: str
    value: Any
    why: str = ""


@dataclass(frozen=True)
class Generated:
    """A JSON pointer-ish dotted path (``metadata.created``) whose value each side makes up itself."""

    path: str
    why: str = ""


@dataclass(frozen=True)
class BooleanCase:
    why: str = ""


@dataclass(frozen=True)
class Header:
    name: str
    why: str = ""


Equivalence = ServerDefault | Generated | BooleanCase | Header


@dataclass
class Capture:
    """The exchanges recorded while a :meth:`RecordingProxy.capture` block ran (filled on exit)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges)

    def __len__(self) -> int:
        return len(self.exchanges)

    def __getitem__(self, index: int) -> Exchange:
        return self.exchanges[index]

    def only(self, method: str | None = None, path_contains: str = "") -> list[Exchange]:
        return [e for e in self.exchanges if (method is None or e.method == method) and path_contains in e.path]


class RecordingProxy:
    """ASGI app forwarding to ``upstream``; serve it with :meth:`serve` (127.0.0.1, port 0)."""

    def __init__(self, upstream: str, headers: Iterable[str] = ()) -> None:
        self.upstream = upstream.rstrip("/")
        self.relevant = tuple(dict.fromkeys(h.lower() for h in (*DEFAULT_HEADERS, *headers)))
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._clients: dict[int, httpx.AsyncClient] = {}
        self.server: EmulatorServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the proxy is not served: use RecordingProxy.serve() or recording_proxy()")
        return self.server.url

    def serve(self) -> RecordingProxy:
        self.server = EmulatorServer(self).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def clear(self) -> None:
        with self._lock:
            self.exchanges.clear()

    @contextlib.contextmanager
    def capture(self) -> Iterator[Capture]:
        with self._lock:
            start = len(self.exchanges)
        captured = Capture()
        try:
            yield captured
        finally:
            with self._lock:
                captured.exchanges.extend(self.exchanges[start:])

    def _client(self) -> httpx.AsyncClient:
        return loop_client(self._clients)

    def _record(self, scope: Scope, body: bytes, status: int, at: float) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "authorization":
                headers[name] = value.split(" ", 1)[0]  # the scheme only: credentials stay out of records
            elif name in self.relevant:
                headers[name] = value
        query = tuple(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        exchange = Exchange(scope["method"], scope.get("raw_path", scope["path"].encode()).decode("latin-1"), query, body, headers, status, at)
        with self._lock:
            self.exchanges.append(exchange)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        at = time.time()
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if scope["path"].startswith(MARK_PREFIX):
            self._record(scope, b"", 204, at)
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        target = self.upstream + raw_path.decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope.get("headers", []) if k.decode("latin-1").lower() not in _HOP_BY_HOP | {"host"}]
        try:
            answer = await self._client().request(scope["method"], target, headers=headers, content=body)
        except httpx.TransportError:
            self._record(scope, body, 0, at)
            # an answer cut short, as upstream did: the client must see a reset, not a proxy's 500
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
            raise EmulatedReset("upstream dropped the connection") from None
        self._record(scope, body, answer.status_code, at)
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        out.append((b"content-length", str(len(answer.content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer.content})


def loop_client(clients: dict[int, httpx.AsyncClient]) -> httpx.AsyncClient:
    """A proxy's upstream client for the running event loop (an httpx client is bound to its loop)."""
    loop_id = id(asyncio.get_running_loop())
    client = clients.get(loop_id)
    if client is None:
        # no retries, no decoding surprises: the proxy must not change what the client sees
        client = httpx.AsyncClient(timeout=httpx.Timeout(120.0), follow_redirects=False)
        clients[loop_id] = client
    return client


async def read_body(receive: Receive) -> bytes:
    """The whole body of an ASGI request."""
    chunks = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


@contextlib.contextmanager
def recording_proxy(upstream: str, headers: Iterable[str] = ()) -> Iterator[RecordingProxy]:
    """Serve a :class:`RecordingProxy` in front of ``upstream`` for the duration of the block."""
    proxy = RecordingProxy(upstream, headers).serve()
    try:
        yield proxy
    finally:
        proxy.stop()


@contextlib.contextmanager
def serve_recorded(platform: str, conn_id: str | None = None, headers: Iterable[str] = (), **knobs: Any) -> Iterator[tuple[Any, RecordingProxy]]:
    """Serve a platform emulator behind a recording proxy; ``conn_id`` (if given) points at the proxy."""
    import os

    from airflow_provider.testing import emulator_module, serve_emulator

    with serve_emulator(platform, None, **knobs) as (emulator, server), recording_proxy(server.url, headers) as proxy:
        if conn_id:
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(emulator_module(platform).connection(proxy.url))
        yield emulator, proxy


def compare_requests(theirs: Sequence[Exchange], ours: Sequence[Exchange], equivalences: Iterable[Equivalence] = ()) -> list[str]:
    """The differences between two request sequences, one line each (empty: same requests)."""
    allowed = tuple(equivalences)
    problems: list[str] = []
    if len(theirs) != len(ours):
        problems.append(
            f"{len(theirs)} requests against {len(ours)}:\n  theirs: "
            + "\n          ".join(map(str, theirs))
            + "\n  ours:   "
            + "\n          ".join(map(str, ours))
        )
    for i, (a, b) in enumerate(zip(theirs, ours, strict=False)):
        problems.extend(f"request {i} ({a.method} {a.path}): {p}" for p in _compare_one(a, b, allowed))
    return problems


def distinct(exchanges: Iterable[Exchange]) -> list[Exchange]:
    """Each different request once, in the order first sent (for polls, whose count is timing)."""
    seen: dict[tuple[Any, ...], Exchange] = {}
    for e in exchanges:
        seen.setdefault((e.method, e.path, tuple(sorted(e.query)), e.body), e)
    return list(seen.values())


def split_marks(exchanges: Iterable[Exchange]) -> dict[str, list[Exchange]]:
    """The requests after each ``/_recorder/mark/<label>`` up to the next mark, by label."""
    out: dict[str, list[Exchange]] = {}
    current: list[Exchange] | None = None
    for e in exchanges:
        if e.path.startswith(MARK_PREFIX):
            current = out.setdefault(unquote(e.path[len(MARK_PREFIX) :]), [])
        elif current is not None:
            current.append(e)
    return out


def assert_same_requests(theirs: Sequence[Exchange], ours: Sequence[Exchange], equivalences: Iterable[Equivalence] = ()) -> None:
    problems = compare_requests(theirs, ours, equivalences)
    assert not problems, "requests differ:\n" + "\n".join(problems)


def _compare_one(a: Exchange, b: Exchange, allowed: tuple[Equivalence, ...]) -> list[str]:
    problems = []
    if a.method != b.method:
        problems.append(f"method {a.method} != {b.method}")
    if a.path != b.path:
        problems.append(f"path {a.path} != {b.path}")
    qa, qb = _with_defaults(list(a.query), list(b.query), allowed)
    if any(isinstance(eq, BooleanCase) for eq in allowed):
        qa, qb = _bool_lower(qa), _bool_lower(qb)
    if sorted(qa) != sorted(qb):
        problems.append(f"query {sorted(qa)} != {sorted(qb)}")
    problems.extend(_compare_bodies(a, b, allowed))
    ignored = {eq.name.lower() for eq in allowed if isinstance(eq, Header)}
    for name in sorted((set(a.headers) | set(b.headers)) - ignored):
        va, vb = a.headers.get(name), b.headers.get(name)
        if name == "content-type":
            if not (a.body or b.body):
                continue
            va, vb = _media_type(va), _media_type(vb)
        if va != vb:
            problems.append(f"header {name}: {va!r} != {vb!r}")
    return problems


def _with_defaults(
    qa: list[tuple[str, str]], qb: list[tuple[str, str]], allowed: tuple[Equivalence, ...]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    for eq in allowed:
        if isinstance(eq, ServerDefault) and eq.where == "query":
            names_a, names_b = {k for k, _ in qa}, {k for k, _ in qb}
            pair = (eq.name, str(eq.value))
            if eq.name in names_a and eq.name not in names_b:
                qb = [*qb, pair]
            elif eq.name in names_b and eq.name not in names_a:
                qa = [*qa, pair]
    return qa, qb


def _bool_lower(query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v.lower() if v.lower() in ("true", "false") else v) for k, v in query]


def _compare_bodies(a: Exchange, b: Exchange, allowed: tuple[Equivalence, ...]) -> list[str]:
    if a.body == b.body:
        return []
    try:
        ja, jb = a.json(), b.json()
    except ValueError:
        return [f"body {a.body[:200]!r} != {b.body[:200]!r}"]
    for eq in allowed:
        if isinstance(eq, ServerDefault) and eq.where == "body" and isinstance(ja, dict) and isinstance(jb, dict):
            if eq.name in ja and eq.name not in jb:
                jb = {**jb, eq.name: eq.value}
            elif eq.name in jb and eq.name not in ja:
                ja = {**ja, eq.name: eq.value}
    problems = []
    for eq in allowed:
        if isinstance(eq, Generated):
            va, vb = _pop(ja, eq.path), _pop(jb, eq.path)
            if (va is _MISSING) != (vb is _MISSING):
                problems.append(f"generated {eq.path} sent by one side only")
    if ja != jb:
        problems.append("body differs: " + "; ".join(_json_diff(ja, jb, "")))
    return problems


def _pop(doc: Any, path: str) -> Any:
    *parents, leaf = path.split(".")
    for key in parents:
        if not isinstance(doc, dict) or key not in doc:
            return _MISSING
        doc = doc[key]
    if not isinstance(doc, dict):
        return _MISSING
    return doc.pop(leaf, _MISSING)


def _json_diff(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            here = f"{where}.{key}" if where else str(key)
            if key not in a:
                out.append(f"{here} only in ours ({b[key]!r})")
            elif key not in b:
                out.append(f"{here} only in theirs ({a[key]!r})")
            else:
                out.extend(_json_diff(a[key], b[key], here))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _json_diff(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where or 'body'}: {a!r} != {b!r}"]


def _media_type(value: str | None) -> str | None:
    return value.split(";", 1)[0].strip().lower() if value else value
