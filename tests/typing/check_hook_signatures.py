"""Checked by mypy (tests/typing/test_typing.py): the hooks show the endpoints' real signatures."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import assert_type, reveal_type

from airflow_provider.dataiku.hook import DataikuAsyncHook, DataikuHook
from airflow_provider.dataiku.models import ScenarioRun


def sync_face(hook: DataikuHook) -> None:
    run = hook.get_scenario_run("PROJ", "SCEN", "run-1")
    assert_type(run, ScenarioRun)
    reveal_type(hook.get_scenario_run)


async def async_face(hook: DataikuAsyncHook) -> None:
    pending = hook.get_scenario_run("PROJ", "SCEN", "run-1")
    assert_type(pending, Awaitable[ScenarioRun])
    run = await pending
    assert_type(run, ScenarioRun)
    reveal_type(hook.get_scenario_run)


def wrong_arguments(hook: DataikuHook) -> None:
    hook.get_scenario_run("PROJ")  # type: ignore[call-arg]
    hook.get_scenario_run(1, "SCEN", "run-1")  # type: ignore[arg-type]
