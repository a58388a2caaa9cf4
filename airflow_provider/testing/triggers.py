"""Run many triggers in one event loop the way Airflow's triggerer does, for tests and benchmarks.

The triggerer stores ``serialize()`` in the metadata DB and re-creates each trigger from its
classpath and kwargs before running it; :func:`recreate` does the same, so what is measured is what
the triggerer runs.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def recreate(trigger: Any) -> Any:
    """A fresh trigger from ``serialize()``, through JSON as the metadata DB keeps it."""
    path, kwargs = trigger.serialize()
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))


@dataclass(frozen=True)
class Fired:
    """One trigger's first event and the wall-clock time it was yielded."""

    at: float
    payload: Any


async def first_event(trigger: Any) -> Fired:
    async for event in trigger.run():
        return Fired(time.time(), event.payload)
    raise AssertionError(f"{trigger!r} ended without an event")


async def run_all(triggers: Sequence[Any], timeout: float) -> list[Fired | None]:
    """Run every trigger (re-created first) concurrently; ``None`` for those without an event by ``timeout``."""
    tasks = [asyncio.ensure_future(first_event(recreate(t))) for t in triggers]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return [t.result() if t in done and t.exception() is None else None for t in tasks]
