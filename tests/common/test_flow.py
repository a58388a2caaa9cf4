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
