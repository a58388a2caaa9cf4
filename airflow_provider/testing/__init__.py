"""Emulators of the four platforms, for tests, the demo, and users testing their DAGs offline.

Each platform module ``airflow_provider.testing.<platform>`` exposes:

* ``create_app(**knobs) -> Emulator``: a stateful FastAPI app (wrapped in the fault injector)
  seeded with demo data, and its state object for tests to inspect and steer;
* ``connection(url) -> dict``: an Airflow connection (JSON form) pointing at a served emulator.

Run one on its own with ``python -m airflow_provider.testing <platform> [--port N]``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider.testing.server import EmulatorServer, Faults

PLATFORMS = ("dataiku", "digitalhub", "aqueduct", "paddleflow")


@dataclass
class Emulator:
    """An emulator app with its handles: ``state`` (the platform's data) and ``faults`` (the knobs)."""

    app: Any
    state: Any
    faults: Faults

    def serve(self, port: int = 0) -> EmulatorServer:
        return EmulatorServer(self.app, port=port).start()


@contextlib.contextmanager
def serve_emulator(platform: str, conn_id: str | None = None, **knobs: Any) -> Iterator[tuple[Emulator, EmulatorServer]]:
    """Serve a platform emulator on a free loopback port and point ``conn_id`` at it.

    For your own DAG tests: ``with serve_emulator("dataiku", "dataiku_default") as (emulator, server): ...``
    (the connection is set as an ``AIRFLOW_CONN_*`` environment variable).
    """
    import json
    import os

    module = emulator_module(platform)
    emulator = module.create_app(**knobs)
    server = emulator.serve()
    if conn_id:
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(module.connection(server.url))
    try:
        yield emulator, server
    finally:
        server.stop()


def available() -> list[str]:
    found = []
    for platform in PLATFORMS:
        try:
            importlib.import_module(f"airflow_provider.testing.{platform}")
        except ModuleNotFoundError:
            continue
        found.append(platform)
    return found


def emulator_module(platform: str) -> Any:
    if platform not in PLATFORMS:
        raise SystemExit(f"unknown platform {platform!r}: choose one of {', '.join(PLATFORMS)}")
    return importlib.import_module(f"airflow_provider.testing.{platform}")
