"""DSS scenario endpoints (seed 001; wire: reference/dataiku.md §2.1-2.5), one flow each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_provider.common.errors import ProviderError
from airflow_provider.common.flow import Call, Flow, Now, Sleep
from airflow_provider.common.transport import quote_segment as q
from airflow_provider.dataiku.api.settings import ScenarioSettings
from airflow_provider.dataiku.models import (
    ScenarioListItem,
    ScenarioRun,
    ScenarioRunDetails,
    ScenarioStatus,
    TestingStatus,
    TriggerFire,
)


class ScenarioRunCancelled(ProviderError):
    """The trigger fire was cancelled: DSS does this when the scenario is already running."""


def _scenario(project_key: str, scenario_id: str) -> str:
    return f"/projects/{q(project_key)}/scenarios/{q(scenario_id)}"


def _date(value: dt.date | str) -> str:
    return value.strftime("%Y-%m-%d") if isinstance(value, dt.date) else str(value)


# --- project level -----------------------------------------------------------------------
def _list(project_key: str) -> Call:
    return Call("GET", f"/projects/{q(project_key)}/scenarios/")


def list_scenarios(project_key: str) -> Flow[list[ScenarioListItem]]:
    data = yield _list(project_key)
    return [ScenarioListItem.model_validate(item) for item in data or []]


def run_starts(project_key: str) -> Flow[dict[str, int]]:
    """A project's scenario listing as id -> start of its current run (0: not running).

    Thousands of waits share it, each looks its own scenario up, so it keeps two fields of each
    item, read straight from the answer: models with every listed field, for 10,000 waits each
    window, were most of the triggerer's CPU and memory while it waited.
    """
    data = yield _list(project_key)
    return {str(item["id"]): int(item.get("start") or 0) if item.get("running") else 0 for item in data or [] if item.get("id")}


def list_test_scenarios(project_key: str) -> Flow[list[ScenarioListItem]]:
    items = yield from list_scenarios(project_key)
    return [item for item in items if item.marked_as_test]


def create_scenario(project_key: str, name: str, type: str = "step_based", definition: dict[str, Any] | None = None) -> Flow[str]:
    body = {**(definition or {"params": {}}), "type": type, "name": name}
    data = yield Call("POST", f"/projects/{q(project_key)}/scenarios/", json=body)
    return str(data["id"])


def get_testing_status(project_key: str, bundle_id: str | None = None) -> Flow[TestingStatus]:
    data = yield Call("GET", f"/projects/{q(project_key)}/scenarios/testing-status", params={"bundleId": bundle_id})
    return TestingStatus.model_validate(data or {})


# --- a scenario --------------------------------------------------------------------------
def run(project_key: str, scenario_id: str, params: dict[str, Any] | None = None) -> Flow[TriggerFire]:
    # not idempotent: a resent POST would fire the scenario twice (the operator re-attaches instead)
    data = yield Call("POST", f"{_scenario(project_key, scenario_id)}/run", json=params or {})
    return TriggerFire.model_validate(data)


def abort(project_key: str, scenario_id: str) -> Flow[Any]:
    # aborting is safe to repeat: DSS does nothing when the scenario is not running
    return (yield Call("POST", f"{_scenario(project_key, scenario_id)}/abort", idempotent=True))


def get_last_runs(project_key: str, scenario_id: str, limit: int = 10, only_finished_runs: bool = False) -> Flow[list[ScenarioRun]]:
    data = yield Call("GET", f"{_scenario(project_key, scenario_id)}/get-last-runs", params={"limit": limit, "onlyFinishedRuns": only_finished_runs})
    return [ScenarioRun.model_validate(item) for item in data or []]


def get_runs_by_date(project_key: str, scenario_id: str, from_date: dt.date | str, to_date: dt.date | str | None = None) -> Flow[list[ScenarioRun]]:
    # the client's default is today (exclusive, so today's runs are left out); it freezes "today" at
    # import time, while here it is computed per call
    until = to_date if to_date is not None else dt.date.today()
    data = yield Call("GET", f"{_scenario(project_key, scenario_id)}/get-runs-by-date", params={"fromDate": _date(from_date), "toDate": _date(until)})
    return [ScenarioRun.model_validate(item) for item in data or []]


def get_last_finished_run(project_key: str, scenario_id: str) -> Flow[ScenarioRun]:
    runs = yield from get_last_runs(project_key, scenario_id, limit=10, only_finished_runs=False)
    for run_ in runs:
        if not run_.running:
            return run_
    raise ProviderError(f"scenario {project_key}.{scenario_id} has no completed run")


def get_last_successful_run(project_key: str, scenario_id: str) -> Flow[ScenarioRun]:
    runs = yield from get_last_runs(project_key, scenario_id, limit=10, only_finished_runs=True)
    # unlike the official client, check the outcome: "finished" includes FAILED and ABORTED
    for run_ in runs:
        if run_.outcome in ("SUCCESS", "WARNING"):
            return run_
    raise ProviderError(f"scenario {project_key}.{scenario_id} has no successful run among its last 10")


def get_current_run(project_key: str, scenario_id: str) -> Flow[ScenarioRun | None]:
    runs = yield from get_last_runs(project_key, scenario_id, limit=1, only_finished_runs=False)
    return runs[0] if runs and runs[0].running else None


def get_run_details(project_key: str, scenario_id: str, run_id: str) -> Flow[ScenarioRunDetails]:
    data = yield Call("GET", f"{_scenario(project_key, scenario_id)}/{q(run_id)}/")
    return ScenarioRunDetails.model_validate(data or {})


def get_run(project_key: str, scenario_id: str, run_id: str) -> Flow[ScenarioRun]:
    details = yield from get_run_details(project_key, scenario_id, run_id)
    return details.scenario_run


def get_status(project_key: str, scenario_id: str) -> Flow[ScenarioStatus]:
    data = yield Call("GET", f"{_scenario(project_key, scenario_id)}/light")
    return ScenarioStatus.model_validate(data or {})


def get_settings(project_key: str, scenario_id: str) -> Flow[ScenarioSettings]:
    data = yield Call("GET", _scenario(project_key, scenario_id))
    script = None
    if data.get("type", "step_based") != "step_based":
        script = yield from _read_payload(project_key, scenario_id)
    return ScenarioSettings(project_key, scenario_id, data, script)


def save_settings(settings: ScenarioSettings) -> Flow[None]:
    yield Call("PUT", _scenario(settings.project_key, settings.scenario_id), json=settings.data)
    if settings.is_python and settings.code is not None:
        yield Call("PUT", f"{_scenario(settings.project_key, settings.scenario_id)}/payload", json={"script": settings.code})


def get_average_duration(project_key: str, scenario_id: str, limit: int = 3) -> Flow[float | None]:
    runs = yield from get_last_runs(project_key, scenario_id, limit=limit, only_finished_runs=True)
    done = [r for r in runs if r.outcome in ("SUCCESS", "WARNING") and r.end]
    if len(done) < limit:
        return None
    return sum((r.end - r.start) / 1000 for r in done[:limit]) / limit


def delete(project_key: str, scenario_id: str) -> Flow[Any]:
    return (yield Call("DELETE", _scenario(project_key, scenario_id)))


def list_discussions(project_key: str, scenario_id: str) -> Flow[list[dict[str, Any]]]:
    data = yield Call("GET", f"/projects/{q(project_key)}/discussions/SCENARIO/{q(scenario_id)}/")
    return list(data or [])


def get_definition(project_key: str, scenario_id: str, with_status: bool = True) -> Flow[dict[str, Any]]:
    """Deprecated in DSS (use get_settings/get_status); kept for users porting old code."""
    data = yield Call("GET", _scenario(project_key, scenario_id) + ("/light" if with_status else ""))
    return dict(data or {})


def set_definition(project_key: str, scenario_id: str, definition: dict[str, Any], with_status: bool = True) -> Flow[Any]:
    return (yield Call("PUT", _scenario(project_key, scenario_id) + ("/light" if with_status else ""), json=definition))


def _read_payload(project_key: str, scenario_id: str, body: dict[str, Any] | None = None) -> Flow[str]:
    data = yield Call("GET", f"{_scenario(project_key, scenario_id)}/payload", json=body)
    return str((data or {}).get("script", ""))


def get_payload(project_key: str, scenario_id: str, extension: str = "py") -> Flow[str]:
    """A Python scenario's script, read as the client's ``get_settings`` reads it: a GET without a
    body (proxies and some servers drop or refuse a body on a GET). Only another ``extension`` than
    DSS's default ``py`` is sent, in the body the deprecated ``get_payload`` uses."""
    return (yield from _read_payload(project_key, scenario_id, None if extension == "py" else {"extension": extension}))


def set_payload(project_key: str, scenario_id: str, script: str, extension: str = "py") -> Flow[Any]:
    return (yield Call("PUT", f"{_scenario(project_key, scenario_id)}/payload", json={"script": script, "extension": extension}))


# --- trigger fires and runs ---------------------------------------------------------------
def get_trigger_fire(project_key: str, scenario_id: str, trigger_id: str, trigger_run_id: str) -> Flow[TriggerFire]:
    # DSS's odd path order: scenarios/trigger/<scenarioId>/<triggerId>
    data = yield Call("GET", f"/projects/{q(project_key)}/scenarios/trigger/{q(scenario_id)}/{q(trigger_id)}", params={"triggerRunId": trigger_run_id})
    return TriggerFire.model_validate(data)


def get_run_for_trigger(project_key: str, scenario_id: str, trigger_id: str, trigger_run_id: str) -> Flow[ScenarioRun | None]:
    data = yield Call("GET", f"{_scenario(project_key, scenario_id)}/get-run-for-trigger", params={"triggerId": trigger_id, "triggerRunId": trigger_run_id})
    if not data or "scenarioRun" not in data:
        return None
    return ScenarioRun.model_validate(data["scenarioRun"])


def wait_for_scenario_run(
    project_key: str, scenario_id: str, fire: TriggerFire, no_fail: bool = False, timeout: float | None = 300.0, poll_interval: float = 1.0
) -> Flow[ScenarioRun | None]:
    """Wait until the fire has started a run, or was cancelled (then raise, or None with ``no_fail``)."""
    started = yield Now()
    checks = 0
    while True:
        checks += 1
        run_ = yield from get_run_for_trigger(project_key, scenario_id, fire.trigger_id, fire.run_id)
        if run_ is not None:
            return run_
        # the fire's own state is only worth a request every few checks (as the official client does)
        if checks % 5 == 0 or checks == 2:
            fire = yield from get_trigger_fire(project_key, scenario_id, fire.trigger_id, fire.run_id)
        if fire.cancelled:
            if no_fail:
                return None
            raise ScenarioRunCancelled(f"scenario {project_key}.{scenario_id}: DSS cancelled the trigger fire (the scenario was probably already running)")
        now = yield Now()
        if timeout is not None and now - started > timeout:
            raise ProviderError(f"scenario {project_key}.{scenario_id}: no run started within {timeout:.0f}s of the trigger fire")
        yield Sleep(min(poll_interval, 0.2 * checks))


def wait_for_completion(run_: ScenarioRun, no_fail: bool = False, poll_interval: float = 2.0, timeout: float | None = None) -> Flow[ScenarioRun]:
    """Refresh the run until it ends: the first look at once (as the client), then every ``poll_interval``."""
    started = yield Now()
    while run_.running:
        run_ = yield from get_run(run_.scenario.project_key, run_.scenario.id, run_.run_id)
        if not run_.running:
            break
        now = yield Now()
        if timeout is not None and now - started > timeout:
            raise ProviderError(f"scenario run {run_.run_id} still running after {timeout:.0f}s")
        yield Sleep(poll_interval)
    return _outcome(run_, no_fail)


def _outcome(run_: ScenarioRun, no_fail: bool) -> ScenarioRun:
    if not no_fail and run_.outcome != "SUCCESS":
        raise ProviderError(f"scenario run {run_.run_id} ended {run_.outcome}")
    return run_


def run_and_wait(
    project_key: str, scenario_id: str, params: dict[str, Any] | None = None, no_fail: bool = False, poll_interval: float = 2.0
) -> Flow[ScenarioRun]:
    """Fire, wait for the run, then follow it through its trigger fire as the client's waiter does."""
    fire = yield from run(project_key, scenario_id, params)
    run_ = yield from wait_for_scenario_run(project_key, scenario_id, fire, no_fail=False)
    assert run_ is not None  # no_fail=False raises instead of returning None
    while run_.running:
        yield Sleep(poll_interval)
        found = yield from get_run_for_trigger(project_key, scenario_id, fire.trigger_id, fire.run_id)
        run_ = found or run_
    return _outcome(run_, no_fail)


def get_run_report(project_key: str, scenario_id: str, run_id: str) -> Flow[bytes]:
    """JUnit XML of a run of a scenario marked as a test."""
    report: bytes = yield Call("GET", f"{_scenario(project_key, scenario_id)}/{q(run_id)}/scenario-run-report", expect="bytes")
    return report


def get_step_run_report(project_key: str, scenario_id: str, run_id: str, step_id: str) -> Flow[bytes]:
    report: bytes = yield Call("GET", f"{_scenario(project_key, scenario_id)}/{q(run_id)}/step-run-report", params={"stepId": step_id}, expect="bytes")
    return report


def get_run_log(project_key: str, scenario_id: str, run_id: str, step_id: str | None = None) -> Flow[str]:
    text: str = yield Call("GET", f"{_scenario(project_key, scenario_id)}/{q(run_id)}/log", params={"stepId": step_id}, expect="text")
    return text
