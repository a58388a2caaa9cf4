"""Base hooks: resolve an Airflow connection into a :class:`Target` and drive flows over it.

A platform hook pair looks like::

    class DataikuCalls:                       # the method list, written once
        get_scenario_run = endpoint(scenarios.get_run)

    class DataikuHook(DataikuCalls, SyncPlatformHook): ...       # returns values
    class DataikuAsyncHook(DataikuCalls, AsyncPlatformHook): ...  # returns awaitables

so the sync and async hooks cannot drift apart.
"""

from __future__ import annotations

import asyncio
import functools
import time
import weakref
from collections.abc import Awaitable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from airflow.sdk import BaseHook

from airflow_provider.common.errors import ConfigError, ProviderError
from airflow_provider.common.flow import Call, Flow, Gather, Run, Shared, SharedValues, Sleep, batch_of, failed, run_async, run_sync
from airflow_provider.common.retry import RetryPolicy
from airflow_provider.common.session import SessionAuth, with_session
from airflow_provider.common.transport import (
    AsyncTransport,
    ErrorParser,
    SyncTransport,
    Target,
    default_error_parser,
)

if TYPE_CHECKING:
    from airflow.sdk import Connection

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_SHARED_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedValues] = weakref.WeakKeyDictionary()
#: a resolved connection is reused this long by every trigger of the loop (then looked up again,
#: so a changed password or host is picked up)
CONNECTION_TTL = 300.0


class _LoopConnection:
    """One connection as every trigger of one event loop uses it: the transport (hence the auth
    object and its session token), resolved at loop time ``born``."""

    def __init__(self, transport: AsyncTransport, born: float) -> None:
        self.transport = transport
        self.born = born


_CONNECTIONS_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], asyncio.Future[_LoopConnection]]] = weakref.WeakKeyDictionary()


def _forget_failed(known: dict[tuple[str, str], asyncio.Future[_LoopConnection]], key: tuple[str, str], fut: asyncio.Future[_LoopConnection]) -> None:
    if failed(fut) and known.get(key) is fut:
        del known[key]


def extra_of(conn: Connection) -> dict[str, Any]:
    """The connection extra, with UI-prefixed keys (``extra__<type>__name``) folded to ``name``.

    Parsed here, not with ``extra_dejson``: that logs and returns ``{}`` for an Extra that is not
    JSON, and every option in it would be silently lost.
    """
    import json

    text = conn.extra
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    if isinstance(text, dict):
        raw: Any = text
    else:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ConfigError(
                f"connection {conn.conn_id!r}: the Extra field is not valid JSON ({exc.args[0] if exc.args else exc}); "
                'write it as a JSON object, e.g. {"verify_ssl": true, "read_timeout": 30}'
            ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"connection {conn.conn_id!r}: the Extra field must be a JSON object ({{...}}), got a JSON {type(raw).__name__}")
    prefix = f"extra__{conn.conn_type}__"
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in raw.items()}


def flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def number(extra: Mapping[str, Any], key: str, default: float, conn_id: str) -> float:
    value = extra.get(key)
    if value in (None, ""):
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"connection {conn_id!r}: extra field {key!r} must be a number of seconds, got {value!r}") from None
    if result <= 0:
        raise ConfigError(f"connection {conn_id!r}: extra field {key!r} must be positive, got {value!r}")
    return result


def base_url(conn: Connection, *, platform: str, default_scheme: str = "https", default_port: int | None = None, default_path: str = "") -> str:
    """Build a base URL from host/port/schema, tolerating a full URL typed into the host field."""
    host = (conn.host or "").strip()
    if not host:
        raise ConfigError(f"connection {conn.conn_id!r}: the Host field is empty; set it to the {platform} server, e.g. https://{platform}.example.com")
    scheme = default_scheme
    path = ""
    if "://" in host:
        parts = urlsplit(host)
        scheme, host, path = parts.scheme, parts.hostname or "", parts.path
        port = parts.port or conn.port or default_port
    else:
        if "/" in host:
            host, _, rest = host.partition("/")
            path = "/" + rest
        port = conn.port or default_port
        schema = (conn.schema or "").strip().lower()
        if schema in ("http", "https"):
            scheme = schema
    extra = extra_of(conn)
    if "scheme" in extra:
        scheme = str(extra["scheme"])
    prefix = extra.get("path_prefix", None)
    path = (path.rstrip("/") or "") + ((prefix if prefix is not None else default_path) if not path.strip("/") else "")
    netloc = f"{host}:{port}" if port else host
    return f"{scheme}://{netloc}{path}".rstrip("/")


def common_target_options(conn: Connection) -> dict[str, Any]:
    """Options every platform reads from the connection extra: TLS, timeouts, retry budget."""
    extra = extra_of(conn)
    verify = flag(extra.get("verify_ssl", extra.get("verify")), True) and not flag(extra.get("insecure"), False)
    return {
        "verify": verify,
        "connect_timeout": number(extra, "connect_timeout", 10.0, conn.conn_id),
        "read_timeout": number(extra, "read_timeout", 60.0, conn.conn_id),
        "policy": RetryPolicy(
            max_attempts=int(number(extra, "retry_attempts", 6, conn.conn_id)),
            budget=number(extra, "retry_budget", 60.0, conn.conn_id),
        ),
    }


class _PlatformHookMixin:
    """What the sync and async hooks of a platform share: connection parsing and error parsing."""

    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = ""
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = ""
    #: how the platform's error bodies look
    parse_error: ClassVar[ErrorParser] = staticmethod(default_error_parser)

    conn_id: str

    @classmethod
    def build_target(cls, conn: Connection) -> Target:
        """Connection -> Target. Raise :class:`ConfigError` naming the field for bad input."""
        raise NotImplementedError

    @staticmethod
    def ping() -> Flow[Any]:
        """The cheapest authenticated call, used by ``test_connection``."""
        raise NotImplementedError

    def _target_for(self, conn: Connection) -> Target:
        if conn.conn_type and self.conn_type and conn.conn_type.replace("-", "_") != self.conn_type.replace("-", "_"):
            raise ConfigError(f"connection {conn.conn_id!r} has type {conn.conn_type!r}; {type(self).__name__} needs a {self.conn_type!r} connection")
        return self.build_target(conn)


class SyncPlatformHook(_PlatformHookMixin, BaseHook):
    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name
        self._transport: SyncTransport | None = None

    @property
    def target(self) -> Target:
        return self.transport.target

    @property
    def transport(self) -> SyncTransport:
        if self._transport is None:
            from airflow.sdk.log import mask_secret

            conn = self.get_connection(self.conn_id)
            target = self._target_for(conn)
            for secret in target.auth.secrets():
                mask_secret(secret)
            self._transport = SyncTransport(target, type(self).parse_error)
        return self._transport

    def drive(self, flow: Flow[T]) -> T:
        return run_sync(flow, self._execute, time.sleep, time.time)

    def _execute(self, call: Call) -> Any:
        transport = self.transport
        auth = transport.target.auth
        if isinstance(auth, SessionAuth) and not call.anonymous:
            from airflow.sdk.log import mask_secret

            return run_sync(with_session(call, auth), transport.execute, time.sleep, time.time, mask_secret)
        return transport.execute(call)

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.drive(self.ping())
        except ProviderError as exc:
            return False, str(exc)
        return True, f"Connected to {self.target.base_url}"

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class AsyncPlatformHook(_PlatformHookMixin):
    """Async twin, for triggers. Resolves the connection with ``aget_connection``: a sync lookup
    inside the triggerer's event loop fails on Airflow 3 (apache/airflow#63760)."""

    def __init__(self, conn_id: str | None = None) -> None:
        self.conn_id = conn_id or self.default_conn_name
        self._conn: _LoopConnection | None = None

    async def transport(self) -> AsyncTransport:
        return (await self._connection()).transport

    async def _connection(self) -> _LoopConnection:
        """The loop's shared view of this connection, resolved once (single-flight) per TTL.

        Thousands of triggers of one connection share one lookup, one set of masked secrets, one
        client and one session token (Airflow's masker recompiles its pattern on every new secret).
        """
        loop = asyncio.get_running_loop()
        if self._conn is not None and loop.time() - self._conn.born < CONNECTION_TTL:
            return self._conn
        known = _CONNECTIONS_BY_LOOP.setdefault(loop, {})
        key = (self.conn_type, self.conn_id)
        fut = known.get(key)
        if fut is not None and (not fut.done() or (not failed(fut) and loop.time() - fut.result().born < CONNECTION_TTL)):
            self._conn = await asyncio.shield(fut)
            return self._conn
        # a task of its own: the first asker being cancelled (its trigger stopped) must not cancel
        # the lookup the others wait on
        fut = known[key] = asyncio.ensure_future(self._resolve(loop.time()))
        fut.add_done_callback(functools.partial(_forget_failed, known, key))
        self._conn = await asyncio.shield(fut)
        return self._conn

    async def _resolve(self, born: float) -> _LoopConnection:
        from airflow.sdk.log import amask_secret

        conn = await BaseHook.aget_connection(self.conn_id)
        target = self._target_for(conn)
        for secret in target.auth.secrets():
            await amask_secret(secret)
        return _LoopConnection(AsyncTransport(target, type(self).parse_error, pool_key=(self.conn_id, target.base_url, target.verify)), born)

    def drive(self, flow: Flow[T]) -> Coroutine[Any, Any, T]:
        # the coroutine itself, not one that awaits it: one frame less per wait in the triggerer
        return run_async(flow, self._execute, asyncio.sleep, time.time, coalescer=self)

    # --- Coalescer: values and batches are per connection (two connections to one host may see different things)
    def _store(self) -> SharedValues:
        loop = asyncio.get_running_loop()
        store = _SHARED_BY_LOOP.get(loop)
        if store is None:
            store = _SHARED_BY_LOOP[loop] = SharedValues()
        return store

    def shared(self, step: Shared, run: Run) -> Awaitable[Any]:
        return self._store().get((self.conn_id, *step.key), step.max_age, functools.partial(run, step.flow))

    def gather(self, step: Gather, run: Run) -> Awaitable[Any]:
        return self._store().gather((self.conn_id, *step.key), step.item, step.window, batch_of(run, step.flow))

    def pace(self, step: Sleep) -> float:
        assert step.align is not None
        return self._store().pace((self.conn_id, *step.align), step.seconds)

    async def _execute(self, call: Call) -> Any:
        transport = (await self._connection()).transport
        auth = transport.target.auth
        if isinstance(auth, SessionAuth) and not call.anonymous:
            from airflow.sdk.log import amask_secret

            return await run_async(with_session(call, auth), transport.execute, asyncio.sleep, time.time, coalescer=self, mask=amask_secret)
        return await transport.execute(call)

    async def test_connection(self) -> tuple[bool, str]:
        try:
            await self.drive(self.ping())
        except ProviderError as exc:
            return False, str(exc)
        return True, "Connected"
