"""DSS waits in one triggerer loop: scenario lists and future lists shared by every wait, and the
emulator's scenario clock safe under concurrent requests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from typing import Any

from airflow_provider.common.jobs import FINAL_READS, JobStatus
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
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import DSSFutureJob

    emulator = dss[0]
    futures = [dss_state.core.add_future("admin", "Build template", 1.0 + 0.004 * i) for i in range(200)]
    mark = len(emulator.faults.requests)
    started = time.monotonic()
    fired = await run_all([_trigger(FUTURE_JOB, {"job_id": f.job_id, "what": "build"}, 0.5) for f in futures], timeout=30)
    elapsed = time.monotonic() - started
    assert all(f is not None and f.payload["event"] == "done" for f in fired)
    states = [f.payload["status"]["state"] for f in fired if f is not None]
    assert set(states) == {"DONE", "ENDED"}, "a few ended futures are read in the triggerer, the others are left to their tasks"
    gets = _gets(emulator, mark)
    listings = [p for p in gets if p.endswith("/futures/")]
    own = [p for p in gets if "/futures/job-" in p]
    windows = elapsed / 0.5 + 2
    assert len(listings) <= windows, f"{len(listings)} listings in {elapsed:.1f}s"
    # running futures are seen in the listing; of those that left it, FINAL_READS per window are read
    assert len(own) == states.count("DONE") <= FINAL_READS * windows, f"{len(own)} reads in {elapsed:.1f}s"
    # the task settles the rest when it resumes: one read each, in the worker
    job, hook = DSSFutureJob(), DataikuHook()
    ended = [f.payload for f in fired if f is not None and f.payload["status"]["state"] == "ENDED"]
    settled = [hook.drive(job.settle(e["ref"], JobStatus.from_json(e["status"]))) for e in ended[:20]]
    assert {s.state for s in settled} == {"DONE"}


async def test_a_future_the_listing_cannot_see_is_read_on_its_own(dss: Any, dss_state: Any) -> None:
    emulator = dss[0]
    # another user's future: not in this key's listing (allUsers=false), readable by id
    foreign = dss_state.core.add_future("bob", "Build template", 1.2)
    mark = len(emulator.faults.requests)
    [fired] = await run_all([_trigger(FUTURE_JOB, {"job_id": foreign.job_id}, 0.3)], timeout=20)
    assert fired is not None and fired.payload["event"] == "done"
    own = [p for p in _gets(emulator, mark) if p.endswith(foreign.job_id)]
    assert len(own) >= 3, "every poll read the future by id"


async def test_scenario_waits_list_per_project_and_leave_most_ended_runs_to_their_tasks(dss: Any, dss_state: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import ScenarioRunJob, scenario_run_ref

    emulator = dss[0]
    hook = DataikuHook()
    projects = [f"COAL{next(_ids)}" for _ in range(3)]
    # the last scenario of each project fails: its outcome must survive the hand-over to the task
    scenarios = [
        dss_state.scenarios.add_scenario(p, f"S{i}", duration=1.0 + 0.01 * i, outcome="FAILED" if i == 29 else "SUCCESS") for p in projects for i in range(30)
    ]
    fires = [(s, hook.run_scenario(s.project_key, s.id)) for s in scenarios]
    refs = [scenario_run_ref(hook.wait_for_scenario_run(s.project_key, s.id, f, poll_interval=0.05)) for s, f in fires]
    mark = len(emulator.faults.requests)
    started = time.monotonic()
    fired = await run_all([_trigger(SCENARIO_JOB, r, 0.5) for r in refs], timeout=30)
    elapsed = time.monotonic() - started
    assert all(f is not None and f.payload["event"] == "done" for f in fired)
    events = [f.payload for f in fired if f is not None]
    assert {e["status"]["state"] for e in events} <= {"SUCCESS", "FAILED", "ENDED"}
    assert any(e["status"]["state"] == "ENDED" for e in events)
    gets = _gets(emulator, mark)
    listings = [p for p in gets if p.endswith("/scenarios/")]
    run_reads = [p for p in gets if not p.endswith("/scenarios/")]
    windows = elapsed / 0.5 + 2
    assert len(listings) <= len(projects) * windows
    # each run read in the triggerer is one whose event carries its outcome, and at most
    # FINAL_READS per project and window are
    read = {e["ref"]["run_id"] for e in events if e["status"]["state"] != "ENDED"}
    assert sorted(run_reads) == sorted(
        f"/public/api/projects/{r['project_key']}/scenarios/{r['scenario_id']}/{r['run_id']}/" for r in refs if r["run_id"] in read
    )
    assert len(run_reads) <= len(projects) * FINAL_READS * windows
    # the task reads the others when it resumes, outcome included
    job = ScenarioRunJob()
    outcomes = {e["ref"]["scenario_id"]: hook.drive(job.settle(e["ref"], JobStatus.from_json(e["status"]))).state for e in events}
    assert outcomes == {f"S{i}": "FAILED" if i == 29 else "SUCCESS" for i in range(30)}


async def test_a_run_deleted_under_its_wait_fails_that_wait_alone(dss: Any, dss_state: Any) -> None:
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import scenario_run_ref

    hook = DataikuHook()
    project = f"COAL{next(_ids)}"
    scenarios = [dss_state.scenarios.add_scenario(project, f"S{i}", duration=60) for i in range(3)]
    fires = [(s, hook.run_scenario(s.project_key, s.id)) for s in scenarios]
    refs = [scenario_run_ref(hook.wait_for_scenario_run(s.project_key, s.id, f, poll_interval=0.05)) for s, f in fires]
    waiting = asyncio.ensure_future(run_all([_trigger(SCENARIO_JOB, r, 0.3) for r in refs], timeout=20))
    await asyncio.sleep(0.8)
    with getattr(dss_state, "lock", None) or contextlib.nullcontext():
        gone = scenarios[0].runs.pop()  # deleted by someone else: the listing shows S0 not running
        gone.future.done_at = time.time()
        for s in scenarios[1:]:
            s.runs[-1].duration = time.time() - s.runs[-1].start
    fired = await waiting
    events = {f.payload["ref"]["scenario_id"]: f.payload for f in fired if f is not None}
    assert events["S0"]["event"] == "error" and events["S0"].get("permanent"), events["S0"]
    assert "no longer exists" in events["S0"]["message"]
    assert [events[f"S{i}"]["status"]["state"] for i in (1, 2)] == ["SUCCESS", "SUCCESS"]


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
