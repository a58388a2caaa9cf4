from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider.testing import serve_emulator


@pytest.fixture(scope="session")
def emulators() -> Iterator[dict[str, Any]]:
    """All four emulators, as the ``<platform>_default`` connections; runs last about half a second."""
    with (
        serve_emulator("dataiku", "dataiku_default", run_duration=0.4, fire_delay=0.05) as dss,
        serve_emulator("digitalhub", "digitalhub_default", run_duration=0.4, pending_after=0.1) as dh,
        serve_emulator("paddleflow", "paddleflow_default", run_duration=0.4, pending_after=0.1) as pf,
        serve_emulator("aqueduct", "aqueduct_default", generation="tasks") as aq,
    ):
        yield {"dataiku": dss, "digitalhub": dh, "paddleflow": pf, "aqueduct": aq}


class MemoryStore:
    """Stands in for the triggerer's ``asset_state_store`` (aget/aset, JSON round trip)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        import json

        return json.loads(self.data[key]) if key in self.data else default

    async def aset(self, key: str, value: Any) -> None:
        import json

        self.writes += 1
        self.data[key] = json.dumps(value)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(autouse=True)
def fast_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.common import events

    monkeypatch.setattr(events, "COMMIT_DELAY", 0.2)
