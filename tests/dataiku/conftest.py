from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from airflow_provider.testing import serve_emulator

_ids = itertools.count(1)


@pytest.fixture(scope="session")
def dss() -> Iterator[Any]:
    """The DSS emulator, served for the whole session as connection ``dataiku_default``."""
    with serve_emulator("dataiku", "dataiku_default", run_duration=1.0, fire_delay=0.05) as served:
        yield served


@pytest.fixture
def dss_state(dss: Any) -> Any:
    emulator, _server = dss
    emulator.faults.clear()
    return emulator.state


@pytest.fixture
def new_scenario(dss_state: Any) -> Callable[..., Any]:
    """A fresh scenario in project TEST, so tests do not see each other's runs."""

    def make(**knobs: Any) -> Any:
        steps = knobs.pop(
            "steps", [{"id": "build_a", "name": "Build A", "type": "build_flowitem"}, {"id": "check_b", "name": "Check B", "type": "check_dataset"}]
        )
        return dss_state.scenarios.add_scenario("TEST", f"SC_{next(_ids)}", steps=steps, **knobs)

    return make


Call = Callable[..., Awaitable[Any]]


@pytest.fixture(params=["sync", "async"])
def dss_api(request: pytest.FixtureRequest, dss: Any) -> Call:
    """Call a hook method by name on the sync hook (in a thread) or the async hook."""
    from airflow_provider.dataiku.hook import DataikuAsyncHook, DataikuHook

    if request.param == "sync":
        hook: Any = DataikuHook()

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(getattr(hook, name), *args, **kwargs)

    else:
        ahook = DataikuAsyncHook()

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            return await getattr(ahook, name)(*args, **kwargs)

    call.kind = request.param  # type: ignore[attr-defined]
    return call
