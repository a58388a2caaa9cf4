from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from airflow_provider.testing import serve_emulator


@pytest.fixture(scope="session")
def aq_released() -> Iterator[Any]:
    with serve_emulator("aqueduct", "aqueduct_released", generation="released") as served:
        yield served


@pytest.fixture(scope="session")
def aq_tasks() -> Iterator[Any]:
    with serve_emulator("aqueduct", "aqueduct_default", generation="tasks") as served:
        yield served


@pytest.fixture(params=["released", "tasks"])
def generation(request: pytest.FixtureRequest, aq_released: Any, aq_tasks: Any) -> tuple[str, str, Any]:
    """(generation, conn id, emulator) for each server generation."""
    return (request.param, "aqueduct_released", aq_released[0]) if request.param == "released" else (request.param, "aqueduct_default", aq_tasks[0])


@pytest.fixture(params=["sync", "async"])
def aq_api(request: pytest.FixtureRequest, generation: tuple[str, str, Any]) -> Callable[..., Awaitable[Any]]:
    from airflow_provider.aqueduct.hook import AqueductAsyncHook, AqueductHook

    conn_id = generation[1]
    if request.param == "sync":
        hook: Any = AqueductHook(conn_id)

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(getattr(hook, name), *args, **kwargs)

    else:
        ahook = AqueductAsyncHook(conn_id)

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await getattr(ahook, name)(*args, **kwargs)

    call.generation = generation[0]  # type: ignore[attr-defined]
    call.kind = request.param  # type: ignore[attr-defined]
    return call
