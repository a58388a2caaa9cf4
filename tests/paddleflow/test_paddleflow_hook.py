"""PaddleFlow hook methods (runs, logs, pipelines, schedules), sync and async, over HTTP against the emulator."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from airflow_provider.common.errors import ApiError, ConfigError
from airflow_provider.testing.paddleflow import DEMO_YAML, FLAKY_YAML


async def _final(pf_api: Any, run_id: str) -> dict[str, Any]:
    for _ in range(100):
        run = await pf_api("show_run", run_id)
        if run["status"] in ("succeeded", "failed", "terminated", "skipped"):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError("run never finished")


async def test_run_from_raw_yaml_wire_format_and_lifecycle(pf_api: Any, pf: Any) -> None:
    run_id = await pf_api("create_run", run_yaml_raw=DEMO_YAML, run_name="wire_check", param={"who": "x", "train.epoch": 5}, desc="d", docker_env="python:3.11",
                          failure_options={"strategy": "continue"}, disabled=["train"])  # fmt: skip
    assert run_id.startswith("run-")
    (post,) = pf[0].faults.calls("POST", "/api/paddleflow/v1/run")[-1:]
    body = json.loads(post.body)
    assert base64.b64decode(body["runYamlRaw"]).decode() == DEMO_YAML and body["name"] == "wire_check" and body["disabled"] == "train"
    assert body["failureOptions"] == {"strategy": "continue"} and body["dockerEnv"] == "python:3.11" and body["parameters"]["train.epoch"] == 5
    assert post.headers["x-pf-authorization"] and not post.headers["x-pf-authorization"].startswith("Bearer")
    run = await _final(pf_api, run_id)
    assert run["status"] == "succeeded" and list(run["runtime"]) == ["prepare"] and run["dockerEnv"] == "python:3.11"
    listed = await pf_api("list_run", run_id=run_id)
    assert [r["runID"] for r in listed["runList"]] == [run_id] and listed["runList"][0]["status"] == "succeeded"
    await pf_api("delete_run", run_id)
    with pytest.raises(ApiError, match="RunNotFound") as missing:
        await pf_api("show_run", run_id)
    assert missing.value.status == 404 and missing.value.request_id


async def test_failed_run_logs_retry_and_stop_rules(pf_api: Any) -> None:
    run_id = await pf_api("create_run", run_yaml_raw=FLAKY_YAML, run_name=f"flaky_{pf_api.kind}")
    run = await _final(pf_api, run_id)
    assert run["status"] == "failed" and run["runtime"]["unstable"][0]["status"] == "failed"
    tail = await pf_api("log_tail", run_id, run["runtime"]["unstable"][0]["jobID"], 5)
    assert "RuntimeError: step unstable exited with status 1" in tail and len(tail.splitlines()) == 6
    page = await pf_api("show_log", run_id, page_size=10, page_no=2, log_file_position="begin")
    assert page["runLog"][0]["taskList"][0]["logInfo"]["logContent"].splitlines()[0].endswith("line 11")
    with pytest.raises(ApiError, match="ActionNotAllowed") as finished:
        await pf_api("stop_run", run_id)
    assert finished.value.status == 403
    new_id = await pf_api("retry_run", run_id)
    assert new_id != run_id and (await _final(pf_api, new_id))["status"] == "succeeded"
    with pytest.raises(ApiError, match="no need to retry"):
        await pf_api("retry_run", new_id)
    long_id = await pf_api("create_run", run_yaml_raw=DEMO_YAML)
    await asyncio.sleep(0.2)
    await pf_api("stop_run", long_id, force=True)
    assert (await _final(pf_api, long_id))["status"] == "terminated"
    with pytest.raises(ConfigError, match=r"page_size must be 1\.\.100"):
        await pf_api("show_log", run_id, page_size=500)


async def test_list_pages_walk_all(pf_api: Any) -> None:
    ids = [await pf_api("create_run", run_yaml_raw=DEMO_YAML, run_name=f"paged_{pf_api.kind}") for _ in range(5)]
    first = await pf_api("list_run", run_name=f"paged_{pf_api.kind}", max_keys=2)
    everything = await pf_api("list_run", run_name=f"paged_{pf_api.kind}", max_keys=2, all_pages=True)
    assert len(first["runList"]) <= 2 and first["isTruncated"]
    assert [r["runID"] for r in everything["runList"]] == ids


async def test_pipelines_and_versions(pf_api: Any) -> None:
    yaml_v1 = DEMO_YAML.replace("demo_pipeline", f"ppl_{pf_api.kind}")
    created = await pf_api("create_pipeline", yaml_raw=yaml_v1, desc="v1")
    assert created["pipelineVersionID"] == "1" and created["name"] == f"ppl_{pf_api.kind}"
    with pytest.raises(ApiError, match="DuplicatedName"):
        await pf_api("create_pipeline", yaml_raw=yaml_v1)
    updated = await pf_api("update_pipeline", created["pipelineID"], yaml_raw=yaml_v1.replace("epoch: 3", "epoch: 4"))
    assert updated["pipelineVersionID"] == "2"
    shown = await pf_api("show_pipeline", created["pipelineID"])
    assert [v["pipelineVersionID"] for v in shown["pplVersions"]["pplVersionList"]] == ["1", "2"]
    version = await pf_api("show_pipeline_version", created["pipelineID"], "2")
    assert "epoch: 4" in version["pipelineVersion"]["pipelineYaml"]
    assert created["pipelineID"] in [p["pipelineID"] for p in (await pf_api("list_pipeline", all_pages=True))["pipelineList"]]
    run_id = await pf_api("create_run", pipeline_id=created["pipelineID"], pipeline_version_id="2")
    assert (await pf_api("show_run", run_id))["source"] == f"{created['pipelineID']}-2"
    await pf_api("delete_pipeline_version", created["pipelineID"], "1")
    with pytest.raises(ApiError, match="only one pipeline version left"):
        await pf_api("delete_pipeline_version", created["pipelineID"], "2")
    await pf_api("delete_pipeline", created["pipelineID"])
    with pytest.raises(ApiError, match="PipelineNotFound"):
        await pf_api("show_pipeline", created["pipelineID"])


async def test_schedules_fire_runs_when_time_advances(pf_api: Any, pf_state: Any) -> None:
    ppl = await pf_api("create_pipeline", yaml_raw=DEMO_YAML.replace("demo_pipeline", f"sched_{pf_api.kind}"))
    schedule_id = await pf_api("create_schedule", f"every_minute_{pf_api.kind}", ppl["pipelineID"], "1", "@every 60s", concurrency=1, concurrency_policy="skip")
    pf_state.advance(180)  # three fire times
    shown = await pf_api("show_schedule", schedule_id)
    statuses = sorted(r["status"] for r in shown["runs"]["runList"])
    assert len(statuses) == 3 and statuses.count("skipped") == 2, statuses  # concurrency 1 + skip policy
    assert schedule_id in [s["scheduleID"] for s in (await pf_api("list_schedule", ppl_filter=ppl["pipelineID"]))["scheduleList"]]
    with pytest.raises(ApiError, match="only final schedules can be deleted"):
        await pf_api("delete_schedule", schedule_id)
    with pytest.raises(ApiError, match="running schedules"):
        await pf_api("delete_pipeline", ppl["pipelineID"])
    await pf_api("stop_schedule", schedule_id)
    assert (await pf_api("show_schedule", schedule_id))["status"] == "terminated"
    await pf_api("delete_schedule", schedule_id)
    with pytest.raises(ApiError, match="ScheduleNotFound"):
        await pf_api("show_schedule", schedule_id)
    with pytest.raises(ConfigError, match="concurrency_policy"):
        await pf_api("create_schedule", "x_y", ppl["pipelineID"], "1", "@daily", concurrency_policy="queue")


async def test_relogin_once_when_the_token_is_rejected(pf_api: Any, pf_state: Any, pf: Any) -> None:
    await pf_api("list_run", max_keys=1)
    pf_state.invalidate_tokens()  # e.g. the password changed
    logins = len(pf[0].faults.calls("POST", "/login"))
    assert (await pf_api("list_run", max_keys=1))["runList"] is not None
    assert len(pf[0].faults.calls("POST", "/login")) == logins + 1


async def test_bad_input(pf_api: Any) -> None:
    with pytest.raises(ConfigError, match=r"malformed at line 4, column 1: expected .,. or .]."):
        await pf_api("create_run", run_yaml_raw="name: x\nentry_points:\n  a: [unclosed\n")
    with pytest.raises(ApiError, match=r"param\[nope\] not exist"):
        await pf_api("create_run", run_yaml_raw=DEMO_YAML, param={"nope": 1})
    with pytest.raises(ApiError, match="PipelineNotFound"):
        await pf_api("create_run", pipeline_id="ppl-999999")
    with pytest.raises(ConfigError, match="needs run_yaml_raw, or pipeline_id"):
        await pf_api("create_run")
