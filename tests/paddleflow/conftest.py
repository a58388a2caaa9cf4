from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from airflow_provider.testing import serve_emulator


@pytest.fixture(scope="session")
def pf() -> Iterator[Any]:
    with serve_emulator("paddleflow", "paddleflow_default", run_duration=0.8, pending_after=0.1) as served:
        yield served


@pytest.fixture
def pf_state(pf: Any) -> Any:
    pf[0].faults.clear()
    return pf[0].state


@pytest.fixture(params=["sync", "async"])
def pf_api(request: pytest.FixtureRequest, pf: Any) -> Callable[..., Awaitable[Any]]:
    from airflow_provider.paddleflow.hook import PaddleFlowAsyncHook, PaddleFlowHook

    if request.param == "sync":
        hook: Any = PaddleFlowHook()

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(getattr(hook, name), *args, **kwargs)

    else:
        ahook = PaddleFlowAsyncHook()

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await getattr(ahook, name)(*args, **kwargs)

    call.kind = request.param  # type: ignore[attr-defined]
    return call
