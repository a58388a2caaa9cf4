"""pytest plugin (entry point ``pytest11``): one fixture per platform emulator, for testing your DAGs offline.

Installed with the provider; nothing happens until a test asks for a fixture::

    import pytest

    @pytest.mark.emulator("dataiku", run_duration=0.2)      # knobs for the dataiku_emulator fixture
    def test_my_dag(dataiku_emulator):
        dataiku_emulator.state.scenarios.add_scenario("PROJ", "NIGHTLY")
        dataiku_emulator.faults.fail_next(2, 503)           # the provider retries these
        dag_run = my_dag.test()
        assert dag_run.state == "success"

Each fixture (``dataiku_emulator``, ``digitalhub_emulator``, ``aqueduct_emulator``,
``paddleflow_emulator``) serves a fresh emulator on ``127.0.0.1`` port 0 for one test, sets
``AIRFLOW_CONN_<PLATFORM>_DEFAULT`` (or the marker's ``conn_id``) to a connection that points at it,
and on teardown stops the server and restores the variable. The marker's other keyword arguments
are the emulator's knobs (``create_app`` parameters, e.g. ``demo=True`` to seed the data the
example DAGs use).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

MARKER = "emulator"


@dataclass
class ServedEmulator:
    """A running emulator: ``state`` (the platform's data to seed and inspect), ``faults`` (latency,
    error bursts, resets, recorded requests), ``url``, and the Airflow connection pointing at it."""

    platform: str
    url: str
    conn_id: str
    connection: dict[str, Any]
    state: Any
    faults: Any
    app: Any


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(platform, conn_id=None, **knobs): knobs for that platform's emulator fixture (e.g. demo=True, run_duration=0.5)",
    )


def _marker_options(request: pytest.FixtureRequest, platform: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    # closest marker last, so a function's marker overrides its module's or class's
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args and marker.args[0] != platform:
            continue
        if len(marker.args) > 1:
            raise pytest.UsageError(f"@pytest.mark.{MARKER}({platform!r}, ...): knobs go in keyword arguments")
        options.update(marker.kwargs)
    return options


def _serve(request: pytest.FixtureRequest, platform: str) -> Iterator[ServedEmulator]:
    from airflow_provider.testing import emulator_module

    options = _marker_options(request, platform)
    conn_id = options.pop("conn_id", None) or f"{platform}_default"
    module = emulator_module(platform)
    emulator = module.create_app(**options)
    server = emulator.serve(0)
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    before = os.environ.get(variable)
    connection = module.connection(server.url)
    os.environ[variable] = json.dumps(connection)
    try:
        yield ServedEmulator(platform, server.url, conn_id, connection, emulator.state, emulator.faults, emulator.app)
    finally:
        server.stop()
        if before is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = before


@pytest.fixture
def dataiku_emulator(request: pytest.FixtureRequest) -> Iterator[ServedEmulator]:
    """A Dataiku DSS emulator as connection ``dataiku_default``; knobs: ``demo``, ``run_duration``, ``fire_delay``."""
    yield from _serve(request, "dataiku")


@pytest.fixture
def digitalhub_emulator(request: pytest.FixtureRequest) -> Iterator[ServedEmulator]:
    """A DHCore emulator as connection ``digitalhub_default``; knobs: ``demo``, ``auth``, run timings."""
    yield from _serve(request, "digitalhub")


@pytest.fixture
def aqueduct_emulator(request: pytest.FixtureRequest) -> Iterator[ServedEmulator]:
    """An Aqueduct emulator as connection ``aqueduct_default``; knobs: ``demo``, ``generation`` (``released``/``tasks``)."""
    yield from _serve(request, "aqueduct")


@pytest.fixture
def paddleflow_emulator(request: pytest.FixtureRequest) -> Iterator[ServedEmulator]:
    """A PaddleFlow emulator as connection ``paddleflow_default``; knobs: ``demo``, run timings."""
    yield from _serve(request, "paddleflow")
