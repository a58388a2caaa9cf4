"""DigitalHub waits in one triggerer loop share one newest-first run listing per project and interval."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider.common.trigger import RemoteJobTrigger
from airflow_provider.testing.triggers import run_all

JOB = "airflow_provider.digitalhub.jobs.DigitalHubRunJob"


def _projects(dh_state: Any, prefix: str, count: int) -> list[tuple[str, str]]:
    out = []
    for i in range(count):
        project = f"{prefix}-{i}"
        dh_state.add_project(project)
        task = dh_state.add_task(project, dh_state.add_function(project, "f"))
        out.append((project, f"python+job://{project}/{task['id']}"))
    return out


def _start(project: str, task: str, duration: float) -> dict[str, Any]:
    from airflow_provider.digitalhub.hook import DigitalHubHook
    from airflow_provider.digitalhub.jobs import run_ref

    return run_ref(DigitalHubHook().new_run(project, "python+job:run", task=task, parameters={"duration": duration}))


def _trigger(ref: dict[str, Any], interval: float) -> RemoteJobTrigger:
    return RemoteJobTrigger(job_class=JOB, conn_id="digitalhub_default", ref=ref, poll_interval=interval, deadline=time.time() + 60)


async def test_waits_share_one_listing_per_project_and_interval(dhcore: Any, dh_state: Any) -> None:
    emulator = dhcore[0]
    scopes, per_scope, interval = 3, 70, 0.5
    refs = [_start(p, t, 1.2 + 0.01 * i) for p, t in _projects(dh_state, "coal", scopes) for i in range(per_scope)]
    mark = len(emulator.faults.requests)
    started = time.monotonic()
    fired = await run_all([_trigger(r, interval) for r in refs], timeout=30)
    elapsed = time.monotonic() - started
    assert all(f is not None and f.payload["event"] == "done" and f.payload["status"]["state"] == "COMPLETED" for f in fired)
    gets = [r for r in emulator.faults.requests[mark:] if r.method == "GET"]
    listings = [r for r in gets if r.path.endswith("/runs")]
    own_reads = [r for r in gets if not r.path.endswith("/runs")]
    # the final state and message come with the listing: not one wait read its run on its own
    assert own_reads == []
    assert len(listings) <= scopes * (elapsed / interval + 2), f"{len(listings)} listings in {elapsed:.1f}s for {scopes} projects"
    assert all("sort=created%2CDESC" in r.query or "sort=created,DESC" in r.query for r in listings)


async def test_a_run_beyond_the_page_window_is_read_on_its_own(dhcore: Any, dh_state: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.digitalhub.api import runs

    monkeypatch.setattr(runs, "FIND_PAGE_SIZE", 5)
    monkeypatch.setattr(runs, "FIND_MAX_PAGES", 1)
    emulator = dhcore[0]
    [(project, task)] = _projects(dh_state, "window", 1)
    old = _start(project, task, 0.5)
    newer = [_start(project, task, 0.5) for _ in range(8)]  # push the old run off the one-page window
    mark = len(emulator.faults.requests)
    fired = await run_all([_trigger(r, 0.3) for r in [old, *newer[-3:]]], timeout=20)
    assert all(f is not None and f.payload["event"] == "done" for f in fired)
    own_reads = {r.path.rsplit("/", 1)[-1] for r in emulator.faults.requests[mark:] if r.method == "GET" and not r.path.endswith("/runs")}
    assert own_reads == {old["run_id"]}, "only the run the listing cannot see is read on its own"


def test_a_listing_page_with_unexpected_types_is_read_the_lenient_way() -> None:
    from airflow_provider.common.errors import ApiError
    from airflow_provider.common.flow import run_sync
    from airflow_provider.digitalhub.api import runs

    page = b'{"content": [{"id": "r1", "kind": "python+job:run", "status": {"state": "COMPLETED"}, "spec": {"x": 1}}, {"id": "r2", "status": null}], "totalPages": 1}'
    found = run_sync(runs.find_runs("p", ["r1", "r2"]), lambda call: page, lambda s: None, lambda: 0.0)
    assert (found["r1"].status, found["r1"].project, found["r1"].kind) == ({"state": "COMPLETED"}, "p", "python+job:run")
    assert found["r2"].status == {}
    # a proxy's HTML page is an answer without JSON, named as such
    with pytest.raises(ApiError, match="expected JSON from digitalhub"):
        run_sync(runs.find_runs("p", ["r1"]), lambda call: b"<html>bad gateway</html>", lambda s: None, lambda: 0.0)
