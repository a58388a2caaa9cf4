"""Shared fixtures. Airflow is configured here, before anything imports it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_provider.example_dags import DAGS_FOLDER
from airflow_provider.testing import airflow_env

ROOT = Path(__file__).resolve().parents[1]
# guard: a second import of this module (e.g. ``from conftest import ...``) must not move AIRFLOW_HOME
if not os.environ.get("AIRFLOW_PROVIDER_TEST_HOME"):
    _home = tempfile.mkdtemp(prefix="airflow-provider-tests-")
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
    os.environ["AIRFLOW_PROVIDER_TEST_HOME"] = _home
    airflow_env.configure(_home, DAGS_FOLDER)

import pytest  # noqa: E402

from airflow_provider.testing import serve_emulator as _serve  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> None:
    airflow_env.reset_db()


@pytest.fixture(scope="session")
def example_dags(airflow_db: None) -> dict:
    return airflow_env.load_dags(DAGS_FOLDER)


def serve_emulator(platform: str, conn_id: str, **knobs: Any) -> Iterator[tuple[Any, Any]]:
    """Generator form of :func:`airflow_provider.testing.serve_emulator`, for fixtures: ``yield from``."""
    with _serve(platform, conn_id, **knobs) as served:
        yield served
