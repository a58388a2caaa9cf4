"""The flow drivers: one description, run by the sync and the async driver alike."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider.common.errors import NotFoundError
from airflow_provider.common.flow import Call, Flow, Now, Sleep, run_async, run_sync


def paged(limit: int) -> Flow[list[int]]:
    items: list[int] = []
    marker = None
    while True:
        page = yield Call("GET", "/items", params={"marker": marker, "limit": limit})
        items.extend(page["items"])
        marker = page.get("next")
        if not marker:
            return items
        yield Sleep(0.5)


def maybe_missing() -> Flow[str]:
    try:
        yield Call("GET", "/missing")
    except NotFoundError:
        started = yield Now()
        return f"absent at {started}"
    return "present"


def fake_server(call: Call) -> Any:
    if call.path == "/missing":
        raise NotFoundError("no such thing", status=404)
    marker = call.params.get("marker") or 0
    nxt = marker + 2
    return {"items": [marker, marker + 1], "next": nxt if nxt < 6 else None}


def test_sync_driver_pages_sleeps_and_throws_into_flows() -> None:
    slept: list[float] = []
    assert run_sync(paged(2), fake_server, slept.append, lambda: 42.0) == [0, 1, 2, 3, 4, 5]
    assert slept == [0.5, 0.5]
    assert run_sync(maybe_missing(), fake_server, slept.append, lambda: 42.0) == "absent at 42.0"


async def test_async_driver_gives_the_same_answers() -> None:
    slept: list[float] = []

    async def execute(call: Call) -> Any:
        return fake_server(call)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    assert await run_async(paged(2), execute, sleep, lambda: 7.0) == [0, 1, 2, 3, 4, 5]
    assert slept == [0.5, 0.5]
    assert await run_async(maybe_missing(), execute, sleep, lambda: 7.0) == "absent at 7.0"


def test_uncaught_errors_propagate() -> None:
    def flow() -> Flow[None]:
        yield Call("GET", "/missing")

    with pytest.raises(NotFoundError):
        run_sync(flow(), fake_server, lambda s: None, lambda: 0.0)


def test_idempotency_follows_the_method_unless_said() -> None:
    assert Call("GET", "/").is_idempotent and Call("PUT", "/").is_idempotent and Call("DELETE", "/").is_idempotent
    assert not Call("POST", "/").is_idempotent
    assert Call("POST", "/abort", idempotent=True).is_idempotent


async def test_shared_values_one_computation_for_concurrent_askers() -> None:
    import asyncio

    from airflow_provider.common.flow import SharedValues

    store = SharedValues()
    computed = 0

    async def compute() -> int:
        nonlocal computed
        computed += 1
        await asyncio.sleep(0.05)
        return computed

    values = await asyncio.gather(*(store.get(("k",), 10, compute) for _ in range(50)))
    assert values == [1] * 50 and computed == 1
    assert await store.get(("k",), 10, compute) == 1  # young enough: reused
    assert await store.get(("k",), 0, compute) == 2  # too old for this asker: recomputed
    assert await store.get(("other",), 10, compute) == 3


async def test_shared_values_hand_failures_to_all_waiters_then_forget_them() -> None:
    import asyncio

    from airflow_provider.common.flow import SharedValues

    store = SharedValues()
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.02)
        if attempts == 1:
            raise NotFoundError("gone", status=404)
        return "ok"

    results = await asyncio.gather(*(store.get(("k",), 10, flaky) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, NotFoundError) for r in results) and attempts == 1
    assert await store.get(("k",), 10, flaky) == "ok" and attempts == 2


async def test_shared_value_outlives_a_cancelled_first_asker() -> None:
    """Marking one deferred task failed cancels its trigger; the listing it started for the whole
    project must still answer the other waits on it (a CancelledError would end their triggers)."""
    import asyncio

    from airflow_provider.common.flow import SharedValues

    store = SharedValues()

    async def listing() -> str:
        await asyncio.sleep(0.1)
        return "listed"

    first = asyncio.ensure_future(store.get(("k",), 10, listing))
    await asyncio.sleep(0.01)
    others = [asyncio.ensure_future(store.get(("k",), 10, listing)) for _ in range(3)]
    await asyncio.sleep(0.01)
    first.cancel()
    assert await asyncio.gather(*others) == ["listed"] * 3
    with pytest.raises(asyncio.CancelledError):
        await first
