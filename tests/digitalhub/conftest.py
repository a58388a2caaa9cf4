from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from airflow_provider.testing import serve_emulator


@pytest.fixture(scope="session")
def dhcore() -> Iterator[Any]:
    """The DHCore emulator for the session, as connection ``digitalhub_default`` (basic auth)."""
    with serve_emulator("digitalhub", "digitalhub_default", run_duration=0.8, pending_after=0.2) as served:
        yield served


@pytest.fixture
def dh_state(dhcore: Any) -> Any:
    dhcore[0].faults.clear()
    return dhcore[0].state


@pytest.fixture(params=["sync", "async"])
def dh_api(request: pytest.FixtureRequest, dhcore: Any) -> Callable[..., Awaitable[Any]]:
    from airflow_provider.digitalhub.hook import DigitalHubAsyncHook, DigitalHubHook

    if request.param == "sync":
        hook: Any = DigitalHubHook()

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(getattr(hook, name), *args, **kwargs)

    else:
        ahook = DigitalHubAsyncHook()

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await getattr(ahook, name)(*args, **kwargs)

    call.kind = request.param  # type: ignore[attr-defined]
    return call
