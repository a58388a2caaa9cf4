"""Every DSS scenario/future hook method, sync and async, over real HTTP against the emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest

from airflow_provider.common.errors import NotFoundError, ProviderError
from airflow_provider.dataiku.api.scenarios import ScenarioRunCancelled


async def _run_to_end(dss_api: Any, scenario: Any, params: dict | None = None) -> Any:
    fire = await dss_api("run_scenario", "TEST", scenario.id, params or {})
    run = await dss_api("wait_for_scenario_run", "TEST", scenario.id, fire, poll_interval=0.05)
    return await dss_api("wait_for_scenario_run_completion", run, no_fail=True, poll_interval=0.1)


async def test_list_create_delete_scenarios(dss_api: Any, dss_state: Any) -> None:
    dss_state.scenarios.add_project("TEST")
    new_id = await dss_api("create_scenario", "TEST", f"Created {dss_api.kind}", "step_based", {"params": {"steps": []}})
    ids = [s.id for s in await dss_api("list_scenarios", "TEST")]
    assert new_id in ids
    await dss_api("delete_scenario", "TEST", new_id)
    assert new_id not in [s.id for s in await dss_api("list_scenarios", "TEST")]
    with pytest.raises(NotFoundError, match="Scenario not found"):
        await dss_api("get_scenario_status", "TEST", new_id)


async def test_run_and_wait_and_run_readers(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=0.4)
    run = await dss_api("run_scenario_and_wait", "TEST", sc.id, {"k": "v"}, poll_interval=0.1)
    assert run.outcome == "SUCCESS" and not run.running and run.trigger_params == {"k": "v"}
    assert run.trigger["type"] == "manual" and run.end_time is not None and run.duration > 0.3
    assert run.get_info()["runId"] == run.id

    same = await dss_api("get_scenario_run", "TEST", sc.id, run.id)
    assert same.run_id == run.id and same.outcome == "SUCCESS"
    details = await dss_api("get_scenario_run_details", "TEST", sc.id, run.id)
    assert [s.outcome for s in details.steps] == ["SUCCESS", "SUCCESS"]
    assert details.last_step.step["id"] == "check_b" and details.steps[0].job_ids and details.first_error_details is None

    last = await dss_api("get_last_runs", "TEST", sc.id, limit=5, only_finished_runs=True)
    assert [r.run_id for r in last] == [run.run_id]
    assert (await dss_api("get_last_finished_run", "TEST", sc.id)).run_id == run.run_id
    assert (await dss_api("get_last_successful_run", "TEST", sc.id)).run_id == run.run_id
    assert await dss_api("get_current_run", "TEST", sc.id) is None
    today = dt.date.today()
    by_date = await dss_api("get_runs_by_date", "TEST", sc.id, today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    assert [r.run_id for r in by_date] == [run.run_id]
    assert await dss_api("get_runs_by_date", "TEST", sc.id, "2001-01-01", "2001-01-02") == []


async def test_failed_run_details_log_and_error(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=0.3, outcome="FAILED", error="Job failed: table orders is missing")
    run = await _run_to_end(dss_api, sc)
    assert run.outcome == "FAILED"
    details = await dss_api("get_scenario_run_details", "TEST", sc.id, run.run_id)
    assert details.first_error_details["message"] == "Job failed: table orders is missing"
    assert details.steps[-1].first_error_details["code"] == "ERR_RECIPE_PYTHON_EXCEPTION"
    log = await dss_api("get_scenario_run_log", "TEST", sc.id, run.run_id)
    assert "[ERROR]" in log and "table orders is missing" in log
    step_log = await dss_api("get_scenario_run_log", "TEST", sc.id, run.run_id, step_id="build_a")
    assert "Build A" in step_log and "Check B" not in step_log
    with pytest.raises(ProviderError, match="no successful run"):
        await dss_api("get_last_successful_run", "TEST", sc.id)
    with pytest.raises(ProviderError, match="ended FAILED"):
        await dss_api("wait_for_scenario_run_completion", run, no_fail=False)


async def test_reports_of_test_scenarios(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=0.2, marked_as_test=True, outcome="FAILED")
    run = await _run_to_end(dss_api, sc)
    report = await dss_api("get_scenario_run_report", "TEST", sc.id, run.run_id)
    assert report.startswith(b"<?xml") and b'failures="1"' in report
    step = await dss_api("get_step_run_report", "TEST", sc.id, run.run_id, "build_a")
    assert b'tests="1"' in step and b"Build A" in step
    status = await dss_api("get_testing_status", "TEST")
    assert status.nb_total_ran_scenarios >= 1 and status.nb_scenarios_per_outcome.get("FAILED", 0) >= 1
    assert sc.id in [s.id for s in await dss_api("list_test_scenarios", "TEST")]


async def test_abort_current_run(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=30)
    fire = await dss_api("run_scenario", "TEST", sc.id)
    run = await dss_api("wait_for_scenario_run", "TEST", sc.id, fire, poll_interval=0.05)
    current = await dss_api("get_current_run", "TEST", sc.id)
    assert current.run_id == run.run_id and (await dss_api("get_scenario_status", "TEST", sc.id)).running
    await dss_api("abort_scenario", "TEST", sc.id)
    done = await dss_api("get_scenario_run", "TEST", sc.id, run.run_id)
    assert done.outcome == "ABORTED"
    await dss_api("abort_scenario", "TEST", sc.id)  # a no-op when nothing runs, as in DSS


async def test_trigger_fire_readers_and_cancellation(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=30)
    fire = await dss_api("run_scenario", "TEST", sc.id)
    assert fire.trigger_id == "manual" and not fire.is_cancelled()
    again = await dss_api("get_trigger_fire", "TEST", sc.id, fire.trigger_id, fire.run_id)
    assert again.run_id == fire.run_id
    run = await dss_api("wait_for_scenario_run", "TEST", sc.id, fire, poll_interval=0.05)
    found = await dss_api("get_run_for_trigger", "TEST", sc.id, fire.trigger_id, fire.run_id)
    assert found.run_id == run.run_id
    # a second fire while the scenario runs is cancelled by DSS
    second = await dss_api("run_scenario", "TEST", sc.id)
    assert await dss_api("wait_for_scenario_run", "TEST", sc.id, second, no_fail=True, poll_interval=0.05) is None
    with pytest.raises(ScenarioRunCancelled, match="already running"):
        await dss_api("wait_for_scenario_run", "TEST", sc.id, second, poll_interval=0.05)
    assert (await dss_api("get_trigger_fire", "TEST", sc.id, "manual", second.run_id)).cancelled
    await dss_api("abort_scenario", "TEST", sc.id)


async def test_status_settings_triggers_and_save(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario()
    status = await dss_api("get_scenario_status", "TEST", sc.id)
    assert status.running is False and status.next_run is None
    settings = await dss_api("get_scenario_settings", "TEST", sc.id)
    assert [s["id"] for s in settings.raw_steps] == ["build_a", "check_b"] and settings.code is None
    assert settings.effective_run_as == "admin" and settings.run_as is None
    settings.active = True
    settings.run_as = "svc_airflow"
    settings.add_periodic_trigger(every_minutes=15)
    settings.add_hourly_trigger(minute_of_hour=5)
    settings.add_daily_trigger(hour=3, days=["Monday"])
    settings.add_monthly_trigger(day=2, run_on="LAST_WEEK")
    settings.raw_reporters.append({"type": "email", "name": "mail"})
    await dss_api("save_scenario_settings", settings)
    saved = await dss_api("get_scenario_settings", "TEST", sc.id)
    assert saved.active and saved.effective_run_as == "svc_airflow"
    assert [t["params"]["frequency"] for t in saved.raw_triggers] == ["Minutely", "Hourly", "Weekly", "Monthly"]
    assert saved.raw_reporters[0]["name"] == "mail"
    assert (await dss_api("get_scenario_status", "TEST", sc.id)).next_run is not None
    with pytest.raises(ValueError, match="run_on"):
        saved.add_monthly_trigger(run_on="SOMETIMES")


async def test_python_scenario_settings_and_deprecated_calls(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario(type="custom_python")
    settings = await dss_api("get_scenario_settings", "TEST", sc.id)
    assert settings.is_python and "Scenario()" in settings.code
    settings.code = "print('hello')\n"
    await dss_api("save_scenario_settings", settings)
    assert await dss_api("get_scenario_payload", "TEST", sc.id) == "print('hello')\n"
    await dss_api("set_scenario_payload", "TEST", sc.id, "print('bye')\n")
    assert (await dss_api("get_scenario_settings", "TEST", sc.id)).code == "print('bye')\n"
    light = await dss_api("get_scenario_definition", "TEST", sc.id)
    assert light["running"] is False
    await dss_api("set_scenario_definition", "TEST", sc.id, {"shortDesc": "new desc", "params": {"ignored": 1}})
    full = await dss_api("get_scenario_definition", "TEST", sc.id, with_status=False)
    assert full["shortDesc"] == "new desc" and "ignored" not in full["params"]
    await dss_api("set_scenario_definition", "TEST", sc.id, {**full, "description": "full"}, with_status=False)
    assert (await dss_api("get_scenario_definition", "TEST", sc.id, with_status=False))["description"] == "full"
    assert await dss_api("list_scenario_discussions", "TEST", sc.id) == []


async def test_average_duration(dss_api: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=0.2)
    assert await dss_api("get_average_duration", "TEST", sc.id, limit=2) is None
    for _ in range(2):
        await _run_to_end(dss_api, sc)
    average = await dss_api("get_average_duration", "TEST", sc.id, limit=2)
    assert 0.15 <= average <= 0.5


async def test_futures_poll_list_abort(dss_api: Any, new_scenario: Any, dss_state: Any) -> None:
    sc = new_scenario(duration=30)
    fire = await dss_api("run_scenario", "TEST", sc.id)
    run = await dss_api("wait_for_scenario_run", "TEST", sc.id, fire, poll_interval=0.05)
    running = await dss_api("list_running_scenarios", all_users=True)
    future = next(f for f in running if f.payload and f.payload.get("scenarioId") == sc.id)
    assert future.job_id == run.future_id and future.alive and not future.has_result
    assert run.future_id not in [f.job_id for f in await dss_api("list_futures", all_users=True)]
    state = await dss_api("get_future", run.future_id, peek=True)
    assert state.alive
    await dss_api("abort_future", run.future_id)
    assert (await dss_api("get_scenario_run", "TEST", sc.id, run.run_id)).outcome == "ABORTED"

    job = dss_state.core.add_future("admin", "Build something", 0.3, on_done=lambda: {"built": True})
    assert job.job_id in [f.job_id for f in await dss_api("list_futures")]
    assert await dss_api("wait_for_future", {"jobId": job.job_id, "hasResult": False}, poll_interval=0.05) == {"built": True}
    assert await dss_api("wait_for_future", {"hasResult": True, "result": 7}) == 7
    slow = dss_state.core.add_future("admin", "Slow", 30)
    await dss_api("abort_future", slow.job_id)
    with pytest.raises(ProviderError, match="aborted"):
        await dss_api("wait_for_future", {"jobId": slow.job_id, "hasResult": False}, poll_interval=0.05)


async def test_auth_info_and_test_connection(dss_api: Any) -> None:
    info = await dss_api("get_auth_info")
    assert info["authIdentifier"] == "admin"


def test_test_connection_reports_success_and_wrong_key(dss: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.testing.dataiku import connection

    ok, message = DataikuHook().test_connection()
    assert ok and "Connected" in message
    monkeypatch.setenv("AIRFLOW_CONN_DSS_BADKEY", __import__("json").dumps(connection(dss[1].url, api_key="wrong-key-123")))
    ok, message = DataikuHook("dss_badkey").test_connection()
    assert not ok and "Unknown API Key" in message and "HTTP 401" in message and "wrong-key-123" not in message


async def test_both_prefixes_and_bearer_auth(dss: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from airflow_provider.dataiku.hook import DataikuAsyncHook, DataikuHook
    from airflow_provider.testing.dataiku import DEMO_API_KEY

    conn = {"conn_type": "dataiku", "host": dss[1].url, "password": DEMO_API_KEY, "extra": {"path_prefix": "/dip/publicapi", "auth": "bearer"}}
    monkeypatch.setenv("AIRFLOW_CONN_DSS_DIP", json.dumps(conn))
    hook = DataikuHook("dss_dip")
    assert hook.target.base_url.endswith("/dip/publicapi")
    assert any(s.id == "BUILD_ORDERS" for s in hook.list_scenarios("DEMO"))
    assert (await DataikuAsyncHook("dss_dip").get_auth_info())["authIdentifier"] == "admin"
    requests = dss[0].faults.calls(path_contains="/dip/publicapi/auth/info")
    assert requests and requests[-1].headers["authorization"] == f"Bearer {DEMO_API_KEY}"


async def test_async_hooks_share_one_client_per_connection(dss: Any) -> None:
    from airflow_provider.common.transport import CLIENT_POOL
    from airflow_provider.dataiku.hook import DataikuAsyncHook

    hooks = [DataikuAsyncHook() for _ in range(20)]
    await asyncio.gather(*(h.get_scenario_status("DEMO", "BUILD_ORDERS") for h in hooks))
    assert CLIENT_POOL.size() == 1
    await CLIENT_POOL.aclose_all()


def test_wait_for_scenario_run_times_out_clearly(dss_state: Any, new_scenario: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook

    sc = new_scenario()
    dss_state.scenarios.fire_delay = 60  # the fire never turns into a run in time
    try:
        hook = DataikuHook()
        fire = hook.run_scenario("TEST", sc.id)
        started = time.time()
        with pytest.raises(ProviderError, match="no run started within 1s"):
            hook.wait_for_scenario_run("TEST", sc.id, fire, timeout=1, poll_interval=0.1)
        assert time.time() - started < 5
    finally:
        dss_state.scenarios.fire_delay = 0.05
