"""PaddleFlow administration, storage and tracking hook methods, sync and async, against the emulator."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from airflow_provider.common.errors import ApiError, ConfigError
from airflow_provider.testing.paddleflow import DEMO_YAML


async def test_users_and_password_change_revokes_tokens(pf_api: Any, pf: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.paddleflow.hook import PaddleFlowHook
    from airflow_provider.testing.paddleflow import connection

    name = f"alice{pf_api.kind}"
    assert (await pf_api("add_user", name, "secret1pw"))["username"] == name
    with pytest.raises(ApiError, match="password must be at least 6"):
        await pf_api("add_user", f"bob{pf_api.kind}", "short")
    assert name in [u["name"] for u in (await pf_api("list_user", all_pages=True))["userList"]]
    monkeypatch.setenv("AIRFLOW_CONN_PF_ALICE", json.dumps(connection(pf[1].url, login=name, password="secret1pw")))
    alice = PaddleFlowHook("pf_alice")
    alice.list_run(max_keys=1)
    await pf_api("update_password", name, "secret2pw")
    with pytest.raises(ApiError, match="Username or password not correct"):
        alice.list_run(max_keys=1)  # the token was revoked; re-login with the old password fails clearly
    await pf_api("del_user", name)
    assert name not in [u["name"] for u in (await pf_api("list_user"))["userList"]]


async def test_clusters_queues_grants_flavours(pf_api: Any) -> None:
    cluster = f"c-{pf_api.kind}"
    created = await pf_api("create_cluster", cluster, "https://k8s:6443", "Kubernetes", credential="apiVersion: v1\n", namespace_list=["default"])
    assert created["clusterName"] == cluster and base64.b64decode(created["credential"]).decode() == "apiVersion: v1\n"
    assert (await pf_api("update_cluster", cluster, description="gpu pool"))["description"] == "gpu pool"
    assert base64.b64decode((await pf_api("update_cluster", cluster, credential=b"apiVersion: v2\n"))["credential"]) == b"apiVersion: v2\n"
    assert cluster in [c["clusterName"] for c in (await pf_api("list_cluster", cluster_names=[cluster]))["clusterList"]]
    assert (await pf_api("show_cluster", cluster))["endpoint"] == "https://k8s:6443"
    assert cluster in await pf_api("list_cluster_resource", [cluster])
    with pytest.raises(ConfigError, match="cluster_type must be one of"):
        await pf_api("create_cluster", "x", "https://k", "Mesos")

    queue = f"q{pf_api.kind}"
    assert (await pf_api("create_queue", queue, "default", cluster, "8", "16Gi", {"nvidia.com/gpu": "2"}))["name"] == queue
    shown = await pf_api("show_queue", queue)
    assert shown["maxResources"]["memory"] == "16Gi" and shown["status"] == "open"  # "mem" in, "memory" out
    assert (await pf_api("update_queue", queue, max_cpu="16", max_mem="32Gi"))["maxResources"]["cpu"] == "16"
    assert queue in [q["name"] for q in (await pf_api("list_queue", all_pages=True))["queueList"]]
    grant = await pf_api("grant_queue", "root", queue)
    assert grant["grantID"] and queue in [g["resourceID"] for g in (await pf_api("show_queue_grant", "root"))["grantList"]]
    await pf_api("ungrant_queue", "root", queue)
    assert queue not in [g["resourceID"] for g in (await pf_api("show_queue_grant", "root"))["grantList"]]
    with pytest.raises(ConfigError, match=r"no way to close a queue.*del_queue"):
        await pf_api("stop_queue", queue)
    assert (await pf_api("show_queue", queue))["status"] == "open"
    await pf_api("del_queue", queue)
    with pytest.raises(ApiError, match="RecordNotFound"):
        await pf_api("show_queue", queue)

    flavour = f"f-{pf_api.kind}"
    await pf_api("add_flavour", flavour, "4", "8Gi", {"nvidia.com/gpu": "1"}, cluster)
    assert (await pf_api("show_flavour", flavour))["cpu"] == "4"
    assert (await pf_api("update_flavour", flavour, cpu="8"))["cpu"] == "8"
    assert flavour in [f["name"] for f in (await pf_api("list_flavour", cluster_name=cluster))["flavourList"]]
    await pf_api("del_flavour", flavour)
    await pf_api("delete_cluster", cluster)
    with pytest.raises(ApiError, match="RecordNotFound"):
        await pf_api("show_cluster", cluster)


async def test_filesystems_links_and_mount(pf_api: Any) -> None:
    fs = f"data{pf_api.kind}"
    added = await pf_api("add_fs", fs, "s3://bucket/path", properties={"region": "bj"})
    assert added == {"fsName": fs, "fsID": f"fs-root-{fs}"}
    assert (await pf_api("show_fs", fs))["type"] == "s3"
    assert fs in [f["name"] for f in (await pf_api("list_fs", all_pages=True))["fsList"]]
    await pf_api("add_link", fs, "/models", "hdfs://nn:9000/models")
    assert (await pf_api("show_link", fs, "/models"))["type"] == "hdfs"
    assert [link["fsPath"] for link in (await pf_api("list_link", fs))["linkList"]] == ["/models"]
    await pf_api("delete_link", fs, "/models")
    assert (await pf_api("list_link", fs))["linkList"] == []  # null on the wire when empty
    with pytest.raises(ConfigError, match="pfs-fuse"):
        await pf_api("mount", fs, "/mnt/data")
    with pytest.raises(ConfigError, match="the scheme must be one of"):
        await pf_api("add_fs", "x", "ftp://host/x")
    await pf_api("delete_fs", fs)
    with pytest.raises(ApiError, match="FileSystemNotExist"):
        await pf_api("show_fs", fs)


async def test_caches_artifacts_and_statistics(pf_api: Any) -> None:
    run_id = await pf_api("create_run", run_yaml_raw=DEMO_YAML)
    await asyncio.sleep(0.3)
    caches = (await pf_api("list_cache", run_filter=run_id))["runCacheList"]
    assert len(caches) == 2 and {c["runID"] for c in caches} == {run_id}
    assert (await pf_api("show_cache", caches[0]["cacheID"]))["strategy"] == "conservative"
    await pf_api("delete_cache", caches[0]["cacheID"])
    with pytest.raises(ApiError, match="RunCacheNotFound"):
        await pf_api("show_cache", caches[0]["cacheID"])
    artifacts = (await pf_api("list_artifact", run_filter=run_id, type_filter="output", all_pages=True))["artifactEventList"]
    assert {a["step"] for a in artifacts} == {"prepare", "train"}
    run = await pf_api("show_run", run_id)
    job_id = run["runtime"]["prepare"][0]["jobID"]
    assert (await pf_api("get_statistics", job_id))["metricsInfo"]["cpu_usage_rate"].endswith("%")
    detail = await pf_api("get_statistics_detail", job_id, start=1000, end=1120, step=60)
    assert detail["result"][0]["taskInfo"][0]["values"] == [[1000, "0.35"], [1060, "0.35"], [1120, "0.35"]]
    with pytest.raises(ConfigError, match="must not be after end"):
        await pf_api("get_statistics_detail", job_id, start=10, end=5)
    with pytest.raises(ApiError, match="JobNotFound"):
        await pf_api("get_statistics", "job-nope")
