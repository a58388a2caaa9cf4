"""Emulators of the four platforms, for tests, the demo, and users testing their DAGs offline.

Each platform module ``airflow_provider.testing.<platform>`` exposes:

* ``create_app(**knobs) -> Emulator``: a stateful FastAPI app (wrapped in the fault injector)
  seeded with demo data, and its state object for tests to inspect and steer;
* ``connection(url) -> dict``: an Airflow connection (JSON form) pointing at a served emulator.

Run one on its own with ``python -m airflow_provider.testing <platform> [--port N]``.
"""

from __future__ import annotations

import importlib
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
