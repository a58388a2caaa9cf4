"""The consumer side of event delivery: handle each remote event exactly once.

Airflow may deliver a watcher's event twice (a triggerer killed between writing the event and the
watcher's cursor commit) and, in 3.3.2, may leave an event out of the DAG run it triggered (events
landing while the run is being created wait for the next one). So a consumer task should not loop
over ``triggering_asset_events``; it should ask for what is new::

    from airflow_provider.common.event_consumer import unprocessed_events

    @task(inlets=[SCENARIO_DONE])          # inlets: the task may read the asset's events and state
    def consume(inlet_events=None, asset_state_store=None):
        for payload in unprocessed_events(SCENARIO_DONE, inlet_events, asset_state_store):
            handle(payload)                # marked processed once this body finished

Use ``max_active_runs=1`` on the consumer DAG: the check-then-mark of two concurrent runs could
otherwise both take an event. The processed keys live in the asset's state store (per consumer
``state_key``), so they survive retries and new DAG runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

#: events re-read before the last processed one: equal or skewed timestamps are not missed
OVERLAP = dt.timedelta(minutes=10)
KEEP_KEYS = 5000
PAGE = 500


def dedup_key(extra: dict[str, Any] | None) -> str | None:
    """The event's dedup key: a watcher's payload key, or one built from a run operator's extra."""
    extra = extra or {}
    payload = extra.get("payload")
    if isinstance(payload, dict) and payload.get("dedup_key"):
        return str(payload["dedup_key"])
    if extra.get("platform") and extra.get("run_id"):
        return f"{extra['platform']}:{extra['run_id']}:{extra.get('outcome')}"
    return None


def unprocessed_events(asset: Any, inlet_events: Any, asset_state_store: Any, *, state_key: str = "processed_remote_events") -> Iterator[dict[str, Any]]:
    """Yield the payload of every event of ``asset`` this consumer has not processed yet, oldest
    first; each is marked processed (and the mark saved) when the caller asks for the next one."""
    store = asset_state_store[asset]
    state = store.get(state_key) or {}
    done = list(state.get("done") or [])
    done_set = set(done)
    after = state.get("after")
    accessor = inlet_events[asset]
    since = (dt.datetime.fromisoformat(after) - OVERLAP).isoformat() if after else None
    while True:
        query = accessor.after(since) if since else accessor
        events = list(query.ascending(True).limit(PAGE))
        for event in events:
            key = dedup_key(event.extra)
            if key is None or key in done_set:
                continue
            extra = dict(event.extra or {})
            payload = dict(extra.get("payload") or extra)
            payload.setdefault("dedup_key", key)
            payload["asset_event_timestamp"] = event.timestamp.isoformat()
            yield payload
            done.append(key)
            done_set.add(key)
            done = done[-KEEP_KEYS:]
            newest = max(filter(None, [after, event.timestamp.isoformat()]))
            after = newest
            store.set(state_key, {"after": after, "done": done})
        if len(events) < PAGE:
            return
        since = events[-1].timestamp.isoformat()
        accessor = inlet_events[asset]
