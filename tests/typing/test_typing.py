"""mypy sees each hook method's real signature: values on the sync hook, awaitables on the async one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHECK = Path(__file__).with_name("check_hook_signatures.py")


@pytest.fixture(scope="module")
def mypy_output() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--warn-unused-ignores", str(CHECK)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_sync_hook_returns_the_model(mypy_output: str) -> None:
    assert 'Revealed type is "def (project_key: str, scenario_id: str, run_id: str) -> airflow_provider.dataiku.models.ScenarioRun"' in mypy_output


def test_async_hook_returns_an_awaitable(mypy_output: str) -> None:
    assert "-> typing.Awaitable[airflow_provider.dataiku.models.ScenarioRun]" in mypy_output


def test_flow_docstring_is_the_method_docstring() -> None:
    from airflow_provider.dataiku.api import scenarios
    from airflow_provider.dataiku.hook import DataikuAsyncHook, DataikuHook

    assert DataikuHook.get_scenario_run.__doc__ == scenarios.get_run.__doc__
    assert DataikuAsyncHook("x").get_scenario_run.__name__ == "get_run"
