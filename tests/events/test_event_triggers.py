"""Event triggers against the emulators: no history on first start, one event per remote run,
no re-fire, runs finishing while the watcher is down delivered after a restart, filters, payload."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider.aqueduct.events import AqueductExperimentTaggedTrigger, AqueductTaskFinishedTrigger
from airflow_provider.common.errors import ConfigError
from airflow_provider.common.events import RemoteEventTrigger
from airflow_provider.common.jobs import import_string
from airflow_provider.dataiku.events import DataikuScenarioRunFinishedTrigger
from airflow_provider.digitalhub.events import DigitalHubRunStateTrigger
from airflow_provider.paddleflow.events import PaddleFlowRunFinishedTrigger
from airflow_provider.testing import remote_events as remote


class Watch:
    """Runs a trigger in the background like the triggerer does, collecting payloads."""

    def __init__(self, trigger: RemoteEventTrigger, store: Any) -> None:
        path, kwargs = trigger.serialize()
        # the triggerer rebuilds the trigger from the kwargs stored as JSON
        self.trigger = import_string(path)(**json.loads(json.dumps(kwargs)))
        self.trigger.asset_state_store = store
        self.events: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for event in self.trigger.run():
            self.events.append(event.payload)

    async def until(self, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.events

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


async def _off_loop(fn: Callable[..., str], *args: Any, **kwargs: Any) -> str:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _settle(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def test_dss_scenario_finished_history_new_runs_no_refire_and_restart(emulators: dict, store: Any) -> None:
    dss_state = emulators["dataiku"][0].state
    dss_state.scenarios.add_scenario("EVT", "S1")
    old = await _off_loop(remote.dss_scenario_run, "EVT", "S1")
    await _settle(0.6)  # finished before the watcher ever ran: history
    trigger = DataikuScenarioRunFinishedTrigger(conn_id="dataiku_default", project_key="EVT", scenario_id="S1", poll_interval=0.2)
    watch = Watch(trigger, store)
    await _settle(0.5)
    new1 = await _off_loop(remote.dss_scenario_run, "EVT", "S1")
    events = await watch.until(1)
    await _settle(1.0)  # stays SUCCESS: must not fire again
    assert [e["run_id"] for e in watch.events] == [new1] and old != new1
    e = events[0]
    assert e["dedup_key"] == f"dataiku:EVT/S1:{new1}:SUCCESS" and e["outcome"] == "SUCCESS" and e["project_key"] == "EVT" and e["scenario_id"] == "S1"
    assert e["url"].endswith(f"/projects/EVT/scenarios/S1/runs/list/{new1}") and e["finished_at"].startswith("20")
    json.dumps(e)
    await watch.stop()
    # the watcher is down while two runs finish (DSS runs one at a time); a new instance resumes the cursor
    down = [await _off_loop(remote.dss_scenario_run, "EVT", "S1")]
    await _settle(0.6)
    down.append(await _off_loop(remote.dss_scenario_run, "EVT", "S1"))
    await _settle(0.6)
    watch2 = Watch(trigger, store)
    await watch2.until(2)
    await _settle(0.8)
    await watch2.stop()
    assert [e["run_id"] for e in watch2.events] == down


async def test_dss_project_scope_and_outcome_filter(emulators: dict, store: Any) -> None:
    scenarios = emulators["dataiku"][0].state.scenarios
    scenarios.add_scenario("EVP", "OK")
    scenarios.add_scenario("EVP", "BAD", outcome="FAILED")
    failed_only = Watch(DataikuScenarioRunFinishedTrigger(conn_id="dataiku_default", project_key="EVP", outcomes=["FAILED"], poll_interval=0.2), store)
    everything = Watch(DataikuScenarioRunFinishedTrigger(conn_id="dataiku_default", project_key="EVP", poll_interval=0.2), store)
    await _settle(0.5)
    ok = await _off_loop(remote.dss_scenario_run, "EVP", "OK")
    bad = await _off_loop(remote.dss_scenario_run, "EVP", "BAD")
    await everything.until(2)
    await failed_only.until(1)
    await _settle(0.6)
    await failed_only.stop()
    await everything.stop()
    assert sorted(e["run_id"] for e in everything.events) == sorted([ok, bad])
    assert [(e["run_id"], e["outcome"], e["scope"]) for e in failed_only.events] == [(bad, "FAILED", "EVP/*")]


async def test_digitalhub_state_with_function_filter(emulators: dict, store: Any) -> None:
    dh_state = emulators["digitalhub"][0].state
    train, score = (remote.digitalhub_function(dh_state, "evdh", f) for f in ("train", "score"))
    watch = Watch(DigitalHubRunStateTrigger(conn_id="digitalhub_default", project="evdh", function="train", poll_interval=0.2), store)
    errors = Watch(DigitalHubRunStateTrigger(conn_id="digitalhub_default", project="evdh", states=["ERROR"], poll_interval=0.2), store)
    await _settle(0.5)
    ok = await _off_loop(remote.digitalhub_run, "evdh", train)
    other = await _off_loop(remote.digitalhub_run, "evdh", score, fail=True)
    await watch.until(1)
    await errors.until(1)
    await _settle(1.0)
    await watch.stop()
    await errors.stop()
    assert [(e["run_id"], e["state"]) for e in watch.events] == [(ok, "COMPLETED")]
    assert [(e["run_id"], e["state"]) for e in errors.events] == [(other, "ERROR")]
    assert watch.events[0]["dedup_key"] == f"digitalhub:evdh:{ok}:COMPLETED" and watch.events[0]["url"].endswith(f"/#/evdh/runs/{ok}")


async def test_paddleflow_run_finished_name_filter(emulators: dict, store: Any) -> None:
    watch = Watch(PaddleFlowRunFinishedTrigger(conn_id="paddleflow_default", run_name="evtrain", states=["succeeded"], poll_interval=0.2), store)
    await _settle(0.5)
    mine = await _off_loop(remote.paddleflow_run, "evtrain")
    await _off_loop(remote.paddleflow_run, "someone_else")
    await watch.until(1)
    await _settle(1.0)
    await watch.stop()
    assert [(e["run_id"], e["state"], e["name"]) for e in watch.events] == [(mine, "succeeded", "evtrain")]
    assert watch.events[0]["dedup_key"] == f"paddleflow:runs:{mine}:succeeded"


async def test_aqueduct_tag_and_task(emulators: dict, store: Any) -> None:
    tag = f"ready{int(time.time() * 1000) % 100000}"
    tagged = Watch(AqueductExperimentTaggedTrigger(conn_id="aqueduct_default", tag=tag, poll_interval=0.2), store)
    tasks = Watch(AqueductTaskFinishedTrigger(conn_id="aqueduct_default", extension="demo", action="fail", poll_interval=0.2), store)
    await _settle(0.5)
    exp = await _off_loop(remote.aqueduct_tag, tag)
    await _off_loop(remote.aqueduct_task, "echo")
    failing = await _off_loop(remote.aqueduct_task, "fail", code=4)
    await tagged.until(1)
    await tasks.until(1)
    await _settle(1.0)
    await tagged.stop()
    await tasks.stop()
    assert [(e["run_id"], e["state"]) for e in tagged.events] == [(exp, "tagged")] and tagged.events[0]["dedup_key"] == f"aqueduct:tag/{tag}:{exp}:tagged"
    assert [(e["run_id"], e["state"], e["result_code"]) for e in tasks.events] == [(failing, "FAILURE", 4)]


async def test_replay_window_delivers_recent_history(emulators: dict, store: Any) -> None:
    emulators["dataiku"][0].state.scenarios.add_scenario("EVR", "S")
    past = await _off_loop(remote.dss_scenario_run, "EVR", "S")
    await _settle(0.6)
    watch = Watch(
        DataikuScenarioRunFinishedTrigger(conn_id="dataiku_default", project_key="EVR", scenario_id="S", poll_interval=0.2, replay_seconds=600), store
    )
    await watch.until(1)
    await _settle(0.6)
    await watch.stop()
    assert [e["run_id"] for e in watch.events] == [past]


async def test_poll_errors_are_survived(emulators: dict, store: Any) -> None:
    emulator = emulators["paddleflow"][0]
    watch = Watch(PaddleFlowRunFinishedTrigger(conn_id="paddleflow_default", run_name="everr", poll_interval=0.1), store)
    await _settle(0.4)
    emulator.faults.fail_next(6, 500)
    run = await _off_loop(remote.paddleflow_run, "everr")
    await watch.until(1, timeout=30)
    await watch.stop()
    emulator.faults.clear()
    assert [e["run_id"] for e in watch.events] == [run]


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ConfigError, match="outcomes"):
        DataikuScenarioRunFinishedTrigger(conn_id="c", project_key="P", outcomes=["DONE"])
    with pytest.raises(ConfigError, match="project_key"):
        DataikuScenarioRunFinishedTrigger(conn_id="c", project_key="")
    with pytest.raises(ConfigError, match="states"):
        DigitalHubRunStateTrigger(conn_id="c", project="p", states="COMPLETED")
    with pytest.raises(ConfigError, match="unknown argument"):
        PaddleFlowRunFinishedTrigger(conn_id="c", pipeline="x")
    with pytest.raises(ConfigError, match="tag"):
        AqueductExperimentTaggedTrigger(conn_id="c", tag="")


def test_kwargs_are_plain_json_and_cursor_key_ignores_tuning() -> None:
    a = DataikuScenarioRunFinishedTrigger(conn_id="c", project_key="P", scenario_id="S", poll_interval=5)
    b = DataikuScenarioRunFinishedTrigger(conn_id="c", project_key="P", scenario_id="S", poll_interval=9, replay_seconds=60)
    c = DataikuScenarioRunFinishedTrigger(conn_id="c", project_key="P", scenario_id="S", outcomes=["FAILED"])
    assert a.cursor_key() == b.cursor_key() != c.cursor_key()
    kwargs = a.serialize()[1]
    assert json.loads(json.dumps(kwargs)) == kwargs
    from airflow.sdk import Asset, AssetWatcher

    AssetWatcher(name="w", trigger=a)  # a BaseEventTrigger, accepted by Airflow
    Asset("x-test://a", watchers=[AssetWatcher(name="w", trigger=a)])
