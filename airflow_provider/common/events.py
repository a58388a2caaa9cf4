"""Event triggers for ``AssetWatcher``: "something happened on a platform" -> an asset event.

One base class, :class:`RemoteEventTrigger`; each platform's ``events.py`` supplies what to list
(``observe``, built from ``Shared`` steps so every watcher of one scope in a triggerer shares one
list call per interval) and how to name what it saw (:class:`Observation`).

Delivery (docs/ARCHITECTURE.md, "Event delivery"): the cursor lives in the watched asset's
``asset_state_store`` (it survives restarts and takeovers; kwargs only hold the configuration), is
re-read before every poll, and is advanced only at the next poll, at least ``commit_delay`` seconds
after the events were yielded, once Airflow has written them. So a crash loses nothing and may
repeat the events of one poll; every payload carries a ``dedup_key`` for the consumer
(:mod:`airflow_provider.common.event_consumer`) to drop repeats.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Flow
from airflow_provider.common.jobs import import_string

if TYPE_CHECKING:
    from airflow_provider.common.hook import AsyncPlatformHook
    from airflow_provider.common.transport import Target

log = logging.getLogger(__name__)

#: seconds between yielding an event and committing the cursor past it: the triggerer sends events
#: to its supervisor once a second, which writes them to the database within about a second more
COMMIT_DELAY = 3.0
#: cursors keep ids this long after the watermark, for runs that are listed late or share a timestamp
OVERLAP_S = 600.0
MAX_SEEN = 2000


@dataclass(frozen=True)
class Observation:
    """One remote thing in one state, as listed: ``key`` is unique per (run, state)."""

    run_id: str
    state: str
    #: when it reached that state, epoch seconds (None when the platform does not say)
    at: float | None
    #: the remote ids (JSON values only) that go into the payload
    ids: dict[str, Any] = field(default_factory=dict)
    #: what the platform calls the outcome, when it differs from ``state``
    outcome: str | None = None


def checked_choices(name: str, values: Any, allowed: Iterable[str], what: str = "") -> list[str] | None:
    """A filter that lists states: None (every state) or a list of ``allowed`` values, sorted so
    the watcher's key does not depend on the order; anything else names the field and the choices."""
    if values is None:
        return None
    choices = list(allowed)
    if isinstance(values, str) or any(v not in choices for v in values):
        raise ConfigError(f"{name} must be a list of {what}{', '.join(choices)}; got {values!r}")
    return sorted(values)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat()


def parse_time(value: Any) -> float | None:
    """ISO strings (with or without zone), epoch seconds or milliseconds -> epoch seconds."""
    import datetime as dt

    if value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        return float(value) / 1000.0 if value > 1e11 else float(value)
    text = str(value).strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(" ", "T")):
        try:
            parsed = dt.datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()
    return None


def first_cursor(observed: Iterable[Observation], now: float, replay_seconds: float) -> dict[str, Any]:
    """The cursor of a watcher that never ran: everything listed is history, except what ended
    within ``replay_seconds`` before now (0: start at now)."""
    observed = list(observed)
    since = now - replay_seconds if replay_seconds > 0 else None
    history = [o for o in observed if since is None or o.at is None or o.at <= since]
    stamps = [o.at for o in history if o.at is not None]
    watermark = since if since is not None else max(stamps, default=now)
    return {"watermark": watermark, "seen": sorted({key_of(o) for o in history})}


def key_of(o: Observation) -> str:
    return f"{o.run_id}:{o.state}"


def advance(cursor: dict[str, Any], observed: Iterable[Observation], overlap_s: float = OVERLAP_S) -> tuple[list[Observation], dict[str, Any]]:
    """(new observations, oldest first; the cursor past them).

    New means: not seen, and not older than the watermark minus the overlap (a run pushed out of
    the cursor's memory long ago is not news when a list shows it again). The cursor forgets ids
    that are both out of the listing and older than the overlap, so it stays small.
    """
    seen = set(cursor.get("seen") or [])
    watermark = float(cursor.get("watermark") or 0.0)
    observed = list(observed)
    new = [o for o in observed if key_of(o) not in seen and (o.at is None or o.at > watermark - overlap_s)]
    new.sort(key=lambda o: (o.at or 0.0, o.run_id))
    stamps = [o.at for o in new if o.at is not None]
    watermark = max([watermark, *stamps])
    listed = {key_of(o) for o in observed}
    recent = {key_of(o) for o in observed if o.at is None or o.at >= watermark - overlap_s}
    keep = (seen & listed) | recent | {key_of(o) for o in new}
    if len(keep) > MAX_SEEN:
        by_time = sorted(observed, key=lambda o: o.at or 0.0, reverse=True)
        keep = {key_of(o) for o in by_time if key_of(o) in keep}
        keep = set(list(keep)[:MAX_SEEN])
    return new, {"watermark": watermark, "seen": sorted(keep)}


def merge(stored: dict[str, Any] | None, mine: dict[str, Any]) -> dict[str, Any]:
    if not stored:
        return mine
    seen = sorted(set(stored.get("seen") or []) | set(mine.get("seen") or []))
    return {"watermark": max(float(stored.get("watermark") or 0.0), float(mine["watermark"])), "seen": seen[-MAX_SEEN:]}


class RemoteEventTrigger(BaseEventTrigger):
    """Watch a platform for things that happened (a run finished, a tag was added) and yield one
    event per new one. Never finishes: Airflow restarts a watcher that returns (reference §1.4-b).

    Subclasses set ``platform``, ``async_hook_class`` and ``filter_fields`` (their extra kwargs),
    and implement :meth:`scope` and :meth:`observe`.

    :param conn_id: the platform connection.
    :param poll_interval: seconds between list calls (shared by every watcher of the same scope).
    :param replay_seconds: on the very first start (no cursor yet), also deliver what ended in the
        last ``replay_seconds``; 0 (default) starts at "now". Later starts always resume the cursor.
    """

    platform: ClassVar[str]
    async_hook_class: ClassVar[str]
    filter_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, conn_id: str, poll_interval: float = 30.0, replay_seconds: float = 0.0, **filters: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow leaves it unannotated
        unknown = set(filters) - set(self.filter_fields)
        if unknown:
            raise ConfigError(f"{type(self).__name__} got unknown argument(s) {sorted(unknown)}; it takes {sorted(self.filter_fields)}")
        if float(poll_interval) <= 0:
            raise ConfigError(f"poll_interval must be positive seconds, got {poll_interval!r}")
        self.conn_id = conn_id
        self.poll_interval = float(poll_interval)
        self.replay_seconds = float(replay_seconds)
        self.filters = {name: filters.get(name) for name in self.filter_fields}
        self.validate()
        self._memory: dict[str, Any] = {}

    # --- what a platform implements ------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the argument on bad input (runs at DAG parse time)."""

    def scope(self) -> str:
        """What is watched, for the dedup key and the cursor name: ``PROJECT/SCENARIO``, ``tag/x``."""
        raise NotImplementedError

    def observe(self) -> Flow[list[Observation]]:
        """The matching things in their current state (filters applied). List through ``Shared``
        steps keyed by scope only, so watchers with other filters on the same scope share the call."""
        raise NotImplementedError

    def url(self, target: Target, o: Observation) -> str | None:
        return None

    # --- serialisation: ids and numbers only ---------------------------------------------
    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"conn_id": self.conn_id, "poll_interval": self.poll_interval, "replay_seconds": self.replay_seconds}
        kwargs.update({k: v for k, v in self.filters.items() if v is not None})
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def cursor_key(self) -> str:
        """Names the cursor by what is watched and how it is filtered, not by poll_interval or
        replay_seconds, so tuning those keeps the position."""
        ident = json.dumps({"conn": self.conn_id, **{k: v for k, v in self.filters.items() if v is not None}}, sort_keys=True)
        return f"events:{self.platform}:{self.scope()}:{hashlib.sha1(ident.encode()).hexdigest()[:12]}"

    def payload(self, target: Target | None, o: Observation) -> dict[str, Any]:
        scope = self.scope()
        return {
            "dedup_key": f"{self.platform}:{scope}:{o.run_id}:{o.state}",
            "platform": self.platform,
            "scope": scope,
            "run_id": o.run_id,
            "state": o.state,
            "outcome": o.outcome or o.state,
            "finished_at": iso(o.at),
            "url": self.url(target, o) if target is not None else None,
            **o.ids,
        }

    # --- the cursor in the asset state store ---------------------------------------------
    def _stores(self) -> list[Any]:
        store = self.asset_state_store
        if store is None:
            return []
        # one trigger row may watch several assets (identical watchers share a row): keep the
        # cursor in each, read the first
        many = [*getattr(store, "_by_name", {}).values(), *getattr(store, "_by_uri", {}).values()]
        return many or [store]

    async def load_cursor(self) -> dict[str, Any] | None:
        stores = self._stores()
        if not stores:
            return self._memory.get(self.cursor_key())
        value = await stores[0].aget(self.cursor_key(), default=None)
        return value if isinstance(value, dict) else None

    async def save_cursor(self, cursor: dict[str, Any]) -> None:
        self._memory[self.cursor_key()] = cursor
        for store in self._stores():
            await store.aset(self.cursor_key(), cursor)

    # --- the loop ------------------------------------------------------------------------
    def hook(self) -> AsyncPlatformHook:
        return import_string(self.async_hook_class)(self.conn_id)  # type: ignore[no-any-return]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.hook()
        pending: tuple[float, dict[str, Any]] | None = None
        failures = 0
        while True:
            try:
                if pending is not None:
                    yielded_at, cursor_after = pending
                    wait = yielded_at + COMMIT_DELAY - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    # merged with what is stored now: another owner (HA takeover) may have moved it meanwhile
                    await self.save_cursor(merge(await self.load_cursor(), cursor_after))
                    pending = None
                cursor = await self.load_cursor()  # every poll: another triggerer may have moved it
                observed = await hook.drive(self.observe())
                target = (await hook.transport()).target
                first = cursor is None
                if cursor is None:
                    cursor = first_cursor(observed, time.time(), self.replay_seconds)
                    await self.save_cursor(cursor)
                    log.info("%s: first start, watching %s from now (cursor %s)", self.platform, self.scope(), self.cursor_key())
                if not first or self.replay_seconds > 0:
                    new, cursor_after = advance(cursor, observed)
                    for o in new:
                        payload = self.payload(target, o)
                        log.info("event %s", payload["dedup_key"])
                        yield TriggerEvent(payload)
                    if new:
                        pending = (time.monotonic(), cursor_after)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - a watcher that raises is restarted in a loop: back off instead
                failures += 1
                log.warning("%s watcher on %s: poll failed (%s); retrying", self.platform, self.scope(), exc)
            backoff = min(self.poll_interval * (2 ** min(failures, 5)), max(self.poll_interval, 300.0)) if failures else self.poll_interval
            await asyncio.sleep(backoff)

    async def on_kill(self) -> None:
        """Airflow calls this on watcher removal *and* on redistribution (reference §1.4-e):
        there is nothing remote to cancel, and the cursor must stay."""
