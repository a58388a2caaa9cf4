"""DSS waits in one triggerer loop: scenario lists and future lists shared by every wait, and the
emulator's scenario clock safe under concurrent requests."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from airflow_provider.common.trigger import RemoteJobTrigger
from airflow_provider.testing.triggers import run_all

FUTURE_JOB = "airflow_provider.dataiku.jobs.DSSFutureJob"
SCENARIO_JOB = "airflow_provider.dataiku.jobs.ScenarioRunJob"
_ids = itertools.count(1)


def _trigger(job_class: str, ref: dict[str, Any], interval: float) -> RemoteJobTrigger:
    return RemoteJobTrigger(job_class=job_class, conn_id="dataiku_default", ref=ref, poll_interval=interval, deadline=time.time() + 60)


def _gets(emulator: Any, since: int) -> list[str]:
    return [r.path for r in emulator.faults.requests[since:] if r.method == "GET"]


async def test_future_waits_share_one_listing_per_interval(dss: Any, dss_state: Any) -> None:
    emulator = dss[0]
    futures = [dss_state.core.add_future("admin", "Build template", 1.0 + 0.004 * i) for i in range(200)]
    mark = len(emulator.faults.requests)
    started = time.monotonic()
    fired = await run_all([_trigger(FUTURE_JOB, {"job_id": f.job_id, "what": "build"}, 0.5) for f in futures], timeout=30)
    elapsed = time.monotonic() - started
    assert all(f is not None and f.payload["event"] == "done" and f.payload["status"]["state"] == "DONE" for f in fired)
    gets = _gets(emulator, mark)
    listings = [p for p in gets if p.endswith("/futures/")]
    own = [p for p in gets if "/futures/job-" in p]
    assert len(listings) <= elapsed / 0.5 + 2, f"{len(listings)} listings in {elapsed:.1f}s"
    # running futures are seen in the listing; each is read on its own once, for its outcome
    assert sorted(own) == sorted(f"/public/api/futures/{f.job_id}" for f in futures)


async def test_a_future_the_listing_cannot_see_is_read_on_its_own(dss: Any, dss_state: Any) -> None:
    emulator = dss[0]
    # another user's future: not in this key's listing (allUsers=false), readable by id
    foreign = dss_state.core.add_future("bob", "Build template", 1.2)
    mark = len(emulator.faults.requests)
    [fired] = await run_all([_trigger(FUTURE_JOB, {"job_id": foreign.job_id}, 0.3)], timeout=20)
    assert fired is not None and fired.payload["event"] == "done"
    own = [p for p in _gets(emulator, mark) if p.endswith(foreign.job_id)]
    assert len(own) >= 3, "every poll read the future by id"


async def test_scenario_waits_list_per_project_and_read_each_ended_run_once(dss: Any, dss_state: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import scenario_run_ref

    emulator = dss[0]
    hook = DataikuHook()
    projects = [f"COAL{next(_ids)}" for _ in range(3)]
    scenarios = [dss_state.scenarios.add_scenario(p, f"S{i}", duration=1.0 + 0.01 * i) for p in projects for i in range(30)]
    fires = [(s, hook.run_scenario(s.project_key, s.id)) for s in scenarios]
    refs = [scenario_run_ref(hook.wait_for_scenario_run(s.project_key, s.id, f, poll_interval=0.05)) for s, f in fires]
    mark = len(emulator.faults.requests)
    started = time.monotonic()
    fired = await run_all([_trigger(SCENARIO_JOB, r, 0.5) for r in refs], timeout=30)
    elapsed = time.monotonic() - started
    assert all(f is not None and f.payload["event"] == "done" and f.payload["status"]["state"] == "SUCCESS" for f in fired)
    gets = _gets(emulator, mark)
    listings = [p for p in gets if p.endswith("/scenarios/")]
    run_reads = [p for p in gets if not p.endswith("/scenarios/")]
    assert len(listings) <= len(projects) * (elapsed / 0.5 + 2)
    assert sorted(run_reads) == sorted(f"/public/api/projects/{r['project_key']}/scenarios/{r['scenario_id']}/{r['run_id']}/" for r in refs)


def test_concurrent_ticks_turn_two_fires_into_one_run(dss_state: Any) -> None:
    part = dss_state.scenarios
    for _ in range(20):  # a race shows up only sometimes: try it many times
        scenario = part.add_scenario("TICK", f"T{next(_ids)}", duration=30)
        now = time.time()
        part.fire(scenario, {}, now - 1)
        part.fire(scenario, {}, now - 1)
        barrier = threading.Barrier(8)

        def tick(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            part.tick(time.time())

        threads = [threading.Thread(target=tick) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(scenario.runs) == 1, "DSS runs a scenario once at a time: the second fire is cancelled"
        assert sorted(f.cancelled for f in scenario.fires) == [False, True]
