"""RemoteJobTrigger with DSS scenario runs: serialization, deadlines, transient faults, on_kill."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider.common.jobs import import_string
from airflow_provider.common.trigger import RemoteJobTrigger
from airflow_provider.testing.dataiku import DEMO_API_KEY


@pytest.fixture
def noretry_conn(dss: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection whose transport does not retry: every fault reaches the wait loop."""
    conn = {"conn_type": "dataiku", "host": dss[1].url, "password": DEMO_API_KEY, "extra": {"retry_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_DSS_NORETRY", json.dumps(conn))
    return "dss_noretry"


def _start(scenario: Any) -> dict[str, str]:
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import scenario_run_ref

    hook = DataikuHook()
    fire = hook.run_scenario("TEST", scenario.id)
    return scenario_run_ref(hook.wait_for_scenario_run("TEST", scenario.id, fire, poll_interval=0.05))


def _trigger(ref: dict, **kwargs: Any) -> RemoteJobTrigger:
    defaults = {"job_class": "airflow_provider.dataiku.jobs.ScenarioRunJob", "conn_id": "dataiku_default", "ref": ref, "poll_interval": 0.1}
    return RemoteJobTrigger(**{**defaults, **kwargs})


def _recreate(trigger: RemoteJobTrigger) -> RemoteJobTrigger:
    path, kwargs = trigger.serialize()
    json.dumps(kwargs)  # what the metadata DB stores
    return import_string(path)(**json.loads(json.dumps(kwargs)))


async def _event(trigger: RemoteJobTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("trigger yielded nothing")


def test_serialize_round_trip_holds_ids_and_numbers_only() -> None:
    ref = {"project_key": "P", "scenario_id": "S", "run_id": "R"}
    trigger = _trigger(ref, deadline=1234.5, job_options={"warning_is_success": False}, stop_states=["X"], max_consecutive_errors=3)
    again = _recreate(trigger)
    assert again.serialize() == trigger.serialize()
    text = json.dumps(trigger.serialize()[1])
    assert DEMO_API_KEY not in text and "password" not in text
    assert again.job().warning_is_success is False


def test_trigger_refuses_foreign_job_classes() -> None:
    with pytest.raises(ValueError, match="not part of airflow_provider"):
        _trigger({}, job_class="os.system").job()


async def test_success_event(new_scenario: Any) -> None:
    sc = new_scenario(duration=0.5)
    event = await _event(_trigger(_start(sc)))
    assert event["event"] == "done" and event["status"]["state"] == "SUCCESS"


async def test_deadline_survives_recreating_the_trigger(new_scenario: Any) -> None:
    sc = new_scenario(duration=30)
    ref = _start(sc)
    trigger = _trigger(ref, deadline=time.time() + 0.8)
    time.sleep(1.0)  # the triggerer restarts; the deadline passed meanwhile
    started = time.monotonic()
    event = await _event(_recreate(trigger))
    assert event["event"] == "timeout" and "at the deadline" in event["message"]
    assert time.monotonic() - started < 1.0, "a re-created trigger must not restart the clock"


async def test_burst_of_503_and_resets_while_waiting_is_tolerated(new_scenario: Any, dss: Any, noretry_conn: str) -> None:
    sc = new_scenario(duration=1.5)
    ref = _start(sc)
    faults = dss[0].faults
    faults.fail_next(2, 503, path_contains=f"/{ref['run_id']}/")
    faults.reset_next(2, path_contains=f"/{ref['run_id']}/")
    event = await _event(_trigger(ref, conn_id=noretry_conn, max_consecutive_errors=5))
    assert event["event"] == "done" and event["status"]["state"] == "SUCCESS"
    answers = [c.answered for c in faults.calls("GET", f"/{ref['run_id']}/")]
    assert answers[:4] == [503, 503, 0, 0]


async def test_too_many_consecutive_failures_end_the_wait_without_cancelling(new_scenario: Any, dss: Any, noretry_conn: str) -> None:
    sc = new_scenario(duration=30)
    ref = _start(sc)
    dss[0].faults.fail_next(3, 503, path_contains=f"/{ref['run_id']}/")
    event = await _event(_trigger(ref, conn_id=noretry_conn, max_consecutive_errors=3))
    assert event["event"] == "error" and "after 3 consecutive failures" in event["message"]
    assert sc.runs[0].aborted_at is None  # the remote work is left alone


async def test_unknown_outcome_keeps_waiting(new_scenario: Any) -> None:
    sc = new_scenario(duration=0.2, outcome="SKIPPED_BY_NEW_DSS")
    event = await _event(_trigger(_start(sc), deadline=time.time() + 1.0))
    assert event["event"] == "timeout" and "SKIPPED_BY_NEW_DSS" in event["message"]


async def test_definite_4xx_ends_the_wait_at_once(new_scenario: Any) -> None:
    started = time.monotonic()
    event = await _event(_trigger({"project_key": "TEST", "scenario_id": "NOPE", "run_id": "R"}, max_consecutive_errors=10))
    assert event["event"] == "error" and "Scenario not found" in event["message"]
    assert time.monotonic() - started < 2


async def test_in_a_triggerer_a_permanent_error_ends_the_task_there(new_scenario: Any, caplog: pytest.LogCaptureFixture) -> None:
    from airflow.triggers.base import TaskFailedEvent

    ref = {"project_key": "TEST", "scenario_id": "NOPE", "run_id": "R"}
    trigger = _trigger(ref, max_consecutive_errors=10)
    trigger.task_instance = SimpleNamespace(task_id="wait")  # what a real triggerer sets (dag.test() does not)
    events = [e async for e in trigger.run()]
    assert len(events) == 1 and isinstance(events[0], TaskFailedEvent)
    assert any("Scenario not found" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records), "the task log must say why"
    soft = _trigger(ref, max_consecutive_errors=10, fail_in_triggerer=False)
    soft.task_instance = SimpleNamespace(task_id="wait")
    [event] = [e async for e in soft.run()]
    assert not isinstance(event, TaskFailedEvent) and event.payload["event"] == "error" and event.payload["permanent"]


class _Comms:
    """Stands in for the triggerer's supervisor channel: answers GetTaskStates with one state."""

    def __init__(self, state: str | None) -> None:
        self.state = state
        self.asked: list[Any] = []

    async def asend(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import TaskStatesResult

        self.asked.append(msg)
        return TaskStatesResult(task_states={msg.run_ids[0]: {msg.task_ids[0]: self.state}})


def _deferred_trigger(ref: dict, state: str | None, monkeypatch: pytest.MonkeyPatch) -> tuple[RemoteJobTrigger, _Comms]:
    import types

    from airflow.sdk.execution_time import task_runner

    comms = _Comms(state)
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)
    trigger = _trigger(ref)
    trigger.task_instance = types.SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, try_number=1)  # type: ignore[assignment]
    return trigger, comms


async def test_the_first_wait_in_a_triggerer_asks_its_supervisor_once(new_scenario: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow builds the supervisor's execution API on its first request: a wait's start pays that, not on_kill."""
    import asyncio

    from airflow_provider.common import trigger as trigger_module

    monkeypatch.setattr(trigger_module, "_WARMED", False)
    ref = _start(new_scenario(duration=0.3))
    first, comms = _deferred_trigger(ref, "deferred", monkeypatch)
    second = _trigger(ref)
    second.task_instance = first.task_instance
    assert (await _event(first))["event"] == "done" and (await _event(second))["event"] == "done"
    await asyncio.sleep(0)
    from airflow.sdk.execution_time.comms import GetTaskStates

    asked = [m for m in comms.asked if isinstance(m, GetTaskStates)]
    assert [(m.dag_id, m.task_ids, m.run_ids) for m in asked] == [("d", ["t"], ["r"])]


@pytest.mark.parametrize("state", ["failed", "success", None, "skipped"])
async def test_on_kill_cancels_when_a_person_stopped_the_task(new_scenario: Any, monkeypatch: pytest.MonkeyPatch, state: str | None) -> None:
    sc = new_scenario(duration=30)
    trigger, comms = _deferred_trigger(_start(sc), state, monkeypatch)
    await trigger.cleanup()
    assert sc.runs[0].aborted_at is None
    await trigger.on_kill()
    assert sc.runs[0].aborted_at is not None
    assert comms.asked[0].dag_id == "d" and comms.asked[0].task_ids == ["t"] and comms.asked[0].run_ids == ["r"]


@contextlib.contextmanager
def _slow(dss: Any, latency: float) -> Iterator[None]:
    dss[0].faults.latency = latency
    try:
        yield
    finally:
        dss[0].faults.latency = 0.0


async def _abort_lands(sc: Any, seconds: float = 5.0) -> None:
    """Wait until the scenario's run was aborted (the caller asserts it)."""
    import asyncio

    for _ in range(int(seconds / 0.1)):
        if sc.runs[0].aborted_at is not None:
            return
        await asyncio.sleep(0.1)


async def test_on_kill_survives_the_triggerers_repeated_cancels(new_scenario: Any, dss: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 3.3.2 cancels the trigger's task again at every sync (~1 s) while on_kill runs: a
    slow platform must still get its abort."""
    import asyncio

    sc = new_scenario(duration=30)
    trigger, _ = _deferred_trigger(_start(sc), "failed", monkeypatch)
    with _slow(dss, 0.3):  # every request takes 0.3 s: status, current run, abort
        killing = asyncio.ensure_future(trigger.on_kill())
        for _ in range(3):  # what the triggerer does while on_kill is still running
            await asyncio.sleep(0.1)
            killing.cancel("__airflow_user_action__")
        with pytest.raises(asyncio.CancelledError):
            await killing
        assert sc.runs[0].aborted_at is None, "too fast to show anything: the abort must still be in flight here"
        await _abort_lands(sc)
    assert sc.runs[0].aborted_at is not None, "the abort was lost with the cancelled on_kill"


async def test_on_kill_lets_the_trigger_end_while_a_slow_abort_goes_on(new_scenario: Any, dss: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.common.trigger import ON_KILL_GRACE

    sc = new_scenario(duration=30)
    trigger, _ = _deferred_trigger(_start(sc), "failed", monkeypatch)
    with _slow(dss, 0.6):
        started = time.monotonic()
        await trigger.on_kill()
        assert time.monotonic() - started < ON_KILL_GRACE + 0.5
        assert sc.runs[0].aborted_at is None
        await _abort_lands(sc)
    assert sc.runs[0].aborted_at is not None


@pytest.mark.parametrize("state", ["deferred", "scheduled", "queued", "running", "up_for_retry"])
async def test_on_kill_leaves_the_run_alone_when_the_trigger_only_moved(new_scenario: Any, monkeypatch: pytest.MonkeyPatch, state: str) -> None:
    """Redistribution to another triggerer (the task is still deferred) or an event another triggerer delivered."""
    sc = new_scenario(duration=30)
    trigger, _ = _deferred_trigger(_start(sc), state, monkeypatch)
    await trigger.on_kill()
    assert sc.runs[0].aborted_at is None


async def test_on_kill_without_a_readable_task_state_does_not_cancel(new_scenario: Any) -> None:
    sc = new_scenario(duration=30)
    await _trigger(_start(sc)).on_kill()  # no task instance, no supervisor channel: never cancel on a guess
    assert sc.runs[0].aborted_at is None


async def test_on_kill_does_not_abort_a_run_that_already_ended(new_scenario: Any, dss: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = new_scenario(duration=0.2)
    trigger, _ = _deferred_trigger(_start(sc), "success", monkeypatch)
    time.sleep(0.5)
    before = len(dss[0].faults.calls("POST"))
    await trigger.on_kill()
    assert sc.runs[0].aborted_at is None and len(dss[0].faults.calls("POST")) == before


async def test_coalesced_waits_share_one_list_call_per_interval(new_scenario: Any, dss: Any) -> None:
    """30 waits on 30 scenarios of one project: the triggerer asks DSS for the project's scenario
    list about once per poll interval, instead of 30 run-detail reads per interval."""
    import asyncio

    project = f"COAL{time.time_ns() % 10**6}"
    scenarios = [dss[0].state.scenarios.add_scenario(project, f"S{i}", duration=1.2) for i in range(30)]
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import scenario_run_ref

    hook = DataikuHook()
    refs = [scenario_run_ref(hook.wait_for_scenario_run(project, s.id, hook.run_scenario(project, s.id), poll_interval=0.02)) for s in scenarios]

    def list_calls_now() -> list[Any]:
        return [c for c in dss[0].faults.calls("GET", f"/projects/{project}/") if c.path.endswith(f"/projects/{project}/scenarios/")]

    before_list = len(list_calls_now())
    triggers = [_trigger(ref, poll_interval=0.2, job_options={"coalesce_window": 0.2}) for ref in refs]
    events = await asyncio.gather(*(_event(t) for t in triggers))
    assert all(e["event"] == "done" and e["status"]["state"] in ("SUCCESS", "ENDED") for e in events)
    calls = dss[0].faults.calls("GET", f"/projects/{project}/")
    list_calls = list_calls_now()[before_list:]
    detail_calls = [c for c in calls if c.path.count("/") > 6 and c.path.endswith("/") and "get-" not in c.path]
    # ~1.3 s of waiting at 0.2 s: about 7 list calls, and one detail read per run whose event
    # carries its outcome (the others are read by their tasks)
    assert 3 <= len(list_calls) <= 12, len(list_calls)
    assert len(detail_calls) == sum(e["status"]["state"] == "SUCCESS" for e in events) >= 1, len(detail_calls)
