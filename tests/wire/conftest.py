"""Fixtures of the wire tests (the helpers are in ``wire_cases.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every async hook call (the async transport pools a client per loop)."""
    new = asyncio.new_event_loop()
    yield new
    new.close()
