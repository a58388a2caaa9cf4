"""1,000 watchers over 10 scopes in one triggerer loop make at most 10 list requests per poll interval."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_provider.aqueduct.events import AqueductExperimentTaggedTrigger
from airflow_provider.common.events import RemoteEventTrigger
from airflow_provider.dataiku.events import DataikuScenarioRunFinishedTrigger
from airflow_provider.digitalhub.events import DigitalHubRunStateTrigger
from airflow_provider.paddleflow.events import PaddleFlowRunFinishedTrigger

INTERVAL = 1.0


class CountingStore:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.reads = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        return self.data.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.data[key] = value


def _watchers(dss_state: Any) -> list[RemoteEventTrigger]:
    """10 scopes (3 DSS scenarios, 3 DigitalHub projects, 2 PaddleFlow users, 2 Aqueduct tags), 100 watchers each
    with differing filters, so they are distinct triggers that only share the scope."""
    out: list[RemoteEventTrigger] = []
    outcome_sets = [["SUCCESS"], ["FAILED"], ["WARNING"], ["ABORTED"], ["FAILED", "SUCCESS"], None]
    for s in range(3):
        dss_state.scenarios.add_scenario("COAL", f"S{s}")
        out += [DataikuScenarioRunFinishedTrigger(conn_id="dataiku_default", project_key="COAL", scenario_id=f"S{s}",
                                                  outcomes=outcome_sets[i % 6], poll_interval=INTERVAL + i * 1e-4) for i in range(100)]  # fmt: skip
    for p in range(3):
        out += [
            DigitalHubRunStateTrigger(conn_id="digitalhub_default", project="demo" if p == 0 else f"coal{p}", function=f"f{i}", poll_interval=INTERVAL)
            for i in range(100)
        ]
    for u in ("root", "coaluser"):
        out += [PaddleFlowRunFinishedTrigger(conn_id="paddleflow_default", username=u, run_name=f"r{i}", poll_interval=INTERVAL) for i in range(100)]
    for t in ("coal-a", "coal-b"):
        out += [AqueductExperimentTaggedTrigger(conn_id="aqueduct_default", tag=t, poll_interval=INTERVAL + i * 1e-4) for i in range(100)]
    return out


async def test_thousand_watchers_ten_scopes_at_most_ten_requests_per_interval(emulators: dict) -> None:
    dss_state = emulators["dataiku"][0].state
    watchers = _watchers(dss_state)
    assert len(watchers) == 1000
    assert len({(type(w).__name__, w.scope()) for w in watchers}) == 10
    assert len({repr(w.serialize()) for w in watchers}) == 1000  # distinct triggers, not one trigger 1000 times
    store = CountingStore()
    faults = [emulators[p][0].faults for p in ("dataiku", "digitalhub", "paddleflow", "aqueduct")]

    def requests() -> int:
        return sum(len(f.requests) for f in faults)

    async def drive(trigger: RemoteEventTrigger) -> None:
        trigger.asset_state_store = store
        async for _ in trigger.run():
            pass

    tasks = [asyncio.ensure_future(drive(w)) for w in watchers]
    try:
        await asyncio.sleep(3 * INTERVAL)  # warm-up: connection lookups and PaddleFlow logins happen once per hook
        reads_before, counts = store.reads, []
        for _ in range(5):
            start = requests()
            t0 = time.monotonic()
            await asyncio.sleep(INTERVAL - (time.monotonic() - t0))
            counts.append(requests() - start)
        polls = store.reads - reads_before
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(f"requests per {INTERVAL:.0f}s interval: {counts}; watcher polls in those 5 intervals: {polls}")
    assert polls >= 1000 * 3, f"the watchers did not all poll (only {polls} polls)"
    assert max(counts) <= 10, counts
    assert sum(counts) >= 10 * 3  # and they did poll the platforms
