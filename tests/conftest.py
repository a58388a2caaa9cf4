"""Shared fixtures. Airflow is configured here, before anything imports it."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from airflow_provider.testing import airflow_env

ROOT = Path(__file__).resolve().parents[1]
_home = tempfile.mkdtemp(prefix="airflow-provider-tests-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
airflow_env.configure(_home, ROOT / "example_dags")

import pytest  # noqa: E402

from airflow_provider.testing import emulator_module  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> None:
    airflow_env.reset_db()


@pytest.fixture(scope="session")
def example_dags(airflow_db: None) -> dict:
    return airflow_env.load_dags(ROOT / "example_dags")


def serve_emulator(platform: str, conn_id: str, **knobs):
    """Start a platform emulator on a free loopback port and register ``conn_id`` for it.

    Yields ``(emulator, server)``; use from a platform conftest fixture.
    """
    module = emulator_module(platform)
    emulator = module.create_app(**knobs)
    server = emulator.serve()
    airflow_env.set_connection(conn_id, module.connection(server.url))
    try:
        yield emulator, server
    finally:
        server.stop()
