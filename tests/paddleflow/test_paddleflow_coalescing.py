"""PaddleFlow waits in one triggerer loop: one login per connection, runFilter listings shared by every wait."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider.common.jobs import JobStatus
from airflow_provider.common.trigger import RemoteJobTrigger
from airflow_provider.testing.triggers import run_all

JOB = "airflow_provider.paddleflow.jobs.PaddleFlowRunJob"
TIMED_YAML = """name: timed
docker_env: python:3.9-slim
entry_points:
  work:
    command: sleep {{duration}}
    parameters:
      duration: 1
"""


def _start(count: int, duration: float) -> list[dict[str, Any]]:
    from airflow_provider.paddleflow.hook import PaddleFlowHook

    hook = PaddleFlowHook()
    return [{"run_id": hook.create_run(run_yaml_raw=TIMED_YAML, param={"duration": duration})} for _ in range(count)]


def _trigger(ref: dict[str, Any], interval: float, conn_id: str = "paddleflow_default") -> RemoteJobTrigger:
    return RemoteJobTrigger(job_class=JOB, conn_id=conn_id, ref=ref, poll_interval=interval, deadline=time.time() + 60)


def _own_reads(emulator: Any, since: int) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in emulator.faults.requests[since:] if r.method == "GET" and "/run/" in r.path]


def _listings(emulator: Any, since: int) -> list[Any]:
    return [r for r in emulator.faults.requests[since:] if r.method == "GET" and r.path.endswith("/run")]


async def test_a_thousand_triggers_log_in_once_and_share_listings(pf: Any, pf_state: Any) -> None:
    from airflow_provider.paddleflow.hook import PaddleFlowHook
    from airflow_provider.paddleflow.jobs import PaddleFlowRunJob

    emulator = pf[0]
    refs = _start(100, 1.0)
    triggers = [_trigger(refs[i % len(refs)], 0.5) for i in range(1000)]
    mark = len(emulator.faults.requests)
    logins = pf_state.logins
    started = time.monotonic()
    fired = await run_all(triggers, timeout=30)
    elapsed = time.monotonic() - started
    assert all(f is not None and f.payload["event"] == "done" and f.payload["status"]["state"] == "succeeded" for f in fired)
    assert pf_state.logins - logins == 1, "1,000 triggers of one connection log in once"
    # running and ended alike: only listings; the step summary, only in the run itself, is read by
    # the task when it resumes
    assert _own_reads(emulator, mark) == []
    assert len(_listings(emulator, mark)) <= elapsed / 0.5 + 2
    event = fired[0].payload if fired[0] is not None else {}
    assert "jobs" not in event["status"]["detail"]
    settled = PaddleFlowHook().drive(PaddleFlowRunJob().settle(event["ref"], JobStatus.from_json(event["status"])))
    assert settled.state == "succeeded" and settled.detail["jobs"], settled
    assert _own_reads(emulator, mark) == [event["ref"]["run_id"]]


async def test_a_rejected_token_is_renewed_once_for_everyone(pf: Any, pf_state: Any) -> None:
    import asyncio

    refs = _start(20, 1.5)
    logins = pf_state.logins
    waiting = asyncio.ensure_future(run_all([_trigger(refs[i % 20], 0.3) for i in range(300)], timeout=30))
    await asyncio.sleep(0.8)
    pf_state.invalidate_tokens()
    fired = await waiting
    assert all(f is not None and f.payload["event"] == "done" for f in fired)
    assert pf_state.logins - logins == 2, "one login, then one renewal after the server dropped the token"


async def test_a_run_the_listing_cannot_see_is_read_on_its_own(pf: Any, pf_state: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.testing.paddleflow import connection

    # a non-root user's listing is forced to its own runs: root's run is invisible to it, readable by id
    pf_state.users["watcher"] = "watcher-pw"
    monkeypatch.setenv("AIRFLOW_CONN_PF_WATCHER", json.dumps(connection(pf[1].url, "watcher", "watcher-pw")))
    [ref] = _start(1, 1.5)
    emulator = pf[0]
    mark = len(emulator.faults.requests)
    [fired] = await run_all([_trigger(ref, 0.3, "pf_watcher")], timeout=20)
    assert fired is not None and fired.payload["event"] == "done"
    listings = _listings(emulator, mark)
    assert listings and all(ref["run_id"] in r.query for r in listings)
    assert _own_reads(emulator, mark).count(ref["run_id"]) >= 2, "every poll read the run by id"
