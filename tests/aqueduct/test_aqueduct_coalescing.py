"""Aqueduct task waits in one triggerer loop: one batched GraphQL query per server and interval."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from airflow_provider.common.jobs import JobStatus
from airflow_provider.common.trigger import RemoteJobTrigger
from airflow_provider.testing.triggers import run_all

JOB = "airflow_provider.aqueduct.jobs.AqueductTaskJob"


def _start(count: int, seconds: float) -> list[dict[str, Any]]:
    from airflow_provider.aqueduct.hook import AqueductHook

    hook = AqueductHook("aqueduct_default")
    exp = hook.create_experiment(f"coalescing {uuid.uuid4().hex[:8]}", "waits at scale")
    params = [["experiment", exp.eid], ["seconds", str(seconds)]]
    return [{"task_id": hook.execute_extension("demo", "sleep", params, experiment_uuid=exp.uuid).uuid, "experiment_eid": exp.eid} for _ in range(count)]


def _trigger(ref: dict[str, Any], interval: float) -> RemoteJobTrigger:
    return RemoteJobTrigger(job_class=JOB, conn_id="aqueduct_default", ref=ref, poll_interval=interval, deadline=time.time() + 60)


def _graphql(emulator: Any, since: int) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in emulator.faults.requests[since:] if r.method == "POST" and r.path == "/api/graphql"]


async def test_waits_share_one_batched_query_per_interval(aq_tasks: Any) -> None:
    from airflow_provider.aqueduct.hook import AqueductHook
    from airflow_provider.aqueduct.jobs import AqueductTaskJob

    emulator = aq_tasks[0]
    refs = _start(150, 1.0)
    mark = len(emulator.faults.requests)
    started = time.monotonic()
    fired = await run_all([_trigger(r, 0.5) for r in refs], timeout=30)
    elapsed = time.monotonic() - started
    assert all(f is not None and f.payload["event"] == "done" and f.payload["status"]["state"] == "SUCCESS" for f in fired)
    queries = _graphql(emulator, mark)
    single = [q for q in queries if "GetTaskQuery" in q["query"]]
    batches = [q for q in queries if "BatchTasks" in q["query"]]
    assert single == [], "no wait read its task on its own"
    # one state batch per interval (150 tasks fit one), the final state included: nothing more
    assert len(batches) <= elapsed / 0.5 + 2, f"{len(batches)} batched queries in {elapsed:.1f}s"
    assert max(len(q["variables"]) for q in batches) > 100, "many tasks per request"
    assert all("stdOut" not in q["query"] for q in batches), "the triggerer reads no output"
    # the output is read by the task when it resumes
    event = fired[0].payload if fired[0] is not None else {}
    settled = AqueductHook("aqueduct_default").drive(AqueductTaskJob().settle(event["ref"], JobStatus.from_json(event["status"])))
    assert (settled.state, settled.detail["stdout_tail"]) == ("SUCCESS", "slept 1.0")


async def test_a_task_the_batch_cannot_return_is_read_on_its_own(aq_tasks: Any) -> None:
    emulator = aq_tasks[0]
    [ok] = _start(1, 0.3)
    missing = {"task_id": str(uuid.uuid4())}  # unknown to the server: its alias errors, the others answer
    mark = len(emulator.faults.requests)
    fired = await run_all([_trigger(ok, 0.3), _trigger(missing, 0.3)], timeout=20)
    assert fired[0] is not None and fired[0].payload["event"] == "done"
    assert fired[1] is not None and fired[1].payload["event"] == "error" and "non-existing task" in fired[1].payload["message"]
    single = [q for q in _graphql(emulator, mark) if "GetTaskQuery" in q["query"]]
    assert single and {q["variables"]["taskId"] for q in single} == {missing["task_id"]}
