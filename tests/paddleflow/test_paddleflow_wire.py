"""PaddleFlow wire tests: the hook's requests, seen through the recording proxy, against request fixtures.

The PaddleFlow SDK is not on PyPI, so it cannot run here. Each fixture below was derived by reading
the SDK's source (``client/paddleflow/*/*_api.py`` in ``PaddlePaddle/PaddleFlow`` at ``3ca9ece1``): the
method, path, query and JSON body that SDK method builds for the arguments written next to it (the
SDK sends an optional key only when its value is truthy). The equivalences used are listed in
``EQUIVALENT`` with their reason; the one deliberate difference (``catchup=False``) is tested on its own.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from support.recorder import Exchange, RecordingProxy, ServerDefault, compare_requests, serve_recorded

from airflow_provider.common.errors import ProviderError

V1 = "/api/paddleflow/v1"
YAML = "name: wire\nentry_points:\n  main:\n    command: echo hi\n    docker_env: python:3.9\n"

#: (SDK call, as read in its source) -> (method, path, query, JSON body or None), then the hook call
FIXTURES: list[tuple[str, tuple[str, str, dict[str, str], Any], str, tuple[Any, ...], dict[str, Any]]] = [
    ("run.add_run(run_yaml_raw=YAML.encode(), name='r1', param={'p': 1}, disabled='a,b', docker_env='py:3', failure_options={'strategy': 'continue'})",
     ("POST", "/run", {}, {"name": "r1", "runYamlRaw": base64.b64encode(YAML.encode()).decode(), "parameters": {"p": 1}, "disabled": "a,b",
                          "dockerEnv": "py:3", "failureOptions": {"strategy": "continue"}}),
     "create_run", (), {"run_yaml_raw": YAML, "run_name": "r1", "param": {"p": 1}, "disabled": ["a", "b"], "docker_env": "py:3",
                        "failure_options": {"strategy": "continue"}}),
    ("run.add_run(pipeline_id='ppl-000001', pipeline_version_id='1', fs_name='fs1')",
     ("POST", "/run", {}, {"fsname": "fs1", "pipelineID": "ppl-000001", "pipelineVersionID": "1"}),
     "create_run", (), {"pipeline_id": "ppl-000001", "pipeline_version_id": "1", "fs_name": "fs1"}),
    ("run.list_run(status='running', maxsize=5)", ("GET", "/run", {"maxKeys": "5", "statusFilter": "running"}, None), "list_run", (), {"status": "running", "max_keys": 5}),
    ("run.show_run('run-000001')", ("GET", "/run/run-000001", {}, None), "show_run", ("run-000001",), {}),
    ("run.stop_run('run-000001', force=True)", ("PUT", "/run/run-000001", {"action": "stop"}, {"stopForce": True}), "stop_run", ("run-000001",), {"force": True}),
    ("run.retry_run('run-000001')", ("PUT", "/run/run-000001", {"action": "retry"}, None), "retry_run", ("run-000001",), {}),
    ("run.delete_run('run-000001', check_cache=False)", ("DELETE", "/run/run-000001", {}, {"checkCache": False}), "delete_run", ("run-000001",), {"check_cache": False}),
    ("pipeline.create_pipeline(yaml_raw=YAML.encode(), desc='d')", ("POST", "/pipeline", {}, {"yamlRaw": base64.b64encode(YAML.encode()).decode(), "desc": "d"}),
     "create_pipeline", (), {"yaml_raw": YAML, "desc": "d"}),
    ("pipeline.update_pipeline('ppl-000001', yaml_raw=YAML.encode())", ("POST", "/pipeline/ppl-000001", {}, {"yamlRaw": base64.b64encode(YAML.encode()).decode()}),
     "update_pipeline", ("ppl-000001",), {"yaml_raw": YAML}),
    ("pipeline.list_pipeline(name_filter='wire', max_keys=10)", ("GET", "/pipeline", {"nameFilter": "wire", "maxKeys": "10"}, None), "list_pipeline", (), {"name_filter": "wire", "max_keys": 10}),
    ("pipeline.show_pipeline('ppl-000001', max_keys=10)", ("GET", "/pipeline/ppl-000001", {"maxKeys": "10"}, None), "show_pipeline", ("ppl-000001",), {"max_keys": 10}),
    ("pipeline.delete_pipeline('ppl-000001')", ("DELETE", "/pipeline/ppl-000001", {}, None), "delete_pipeline", ("ppl-000001",), {}),
    ("pipeline.show_pipeline_version('ppl-000001', '2')", ("GET", "/pipeline/ppl-000001/2", {}, None), "show_pipeline_version", ("ppl-000001", "2"), {}),
    ("pipeline.delete_pipeline_version('ppl-000001', '2')", ("DELETE", "/pipeline/ppl-000001/2", {}, None), "delete_pipeline_version", ("ppl-000001", "2"), {}),
    ("schedule.create_schedule('nightly', 'ppl-000001', '1', '0 1 * * *', desc='d', concurrency=2, concurrency_policy='skip', expire_interval=60, catchup=True)",
     ("POST", "/schedule", {}, {"name": "nightly", "pipelineID": "ppl-000001", "pipelineVersionID": "1", "crontab": "0 1 * * *", "desc": "d", "concurrency": 2,
                               "concurrencyPolicy": "skip", "expireInterval": 60, "catchup": True}),
     "create_schedule", ("nightly", "ppl-000001", "1", "0 1 * * *"), {"desc": "d", "concurrency": 2, "concurrency_policy": "skip", "expire_interval": 60, "catchup": True}),
    ("schedule.list_schedule(status_filter='running', max_keys=10)", ("GET", "/schedule", {"statusFilter": "running", "maxKeys": "10"}, None),
     "list_schedule", (), {"status_filter": "running", "max_keys": 10}),
    ("schedule.show_schedule('schedule-000001', max_keys=10)", ("GET", "/schedule/schedule-000001", {"maxKeys": "10"}, None), "show_schedule", ("schedule-000001",), {"max_keys": 10}),
    ("schedule.stop_schedule('schedule-000001')", ("PUT", "/schedule/schedule-000001", {}, None), "stop_schedule", ("schedule-000001",), {}),
    ("schedule.delete_schedule('schedule-000001')", ("DELETE", "/schedule/schedule-000001", {}, None), "delete_schedule", ("schedule-000001",), {}),
    ("queue.grant_queue('alice', 'q1')", ("POST", "/grant", {}, {"username": "alice", "resourceType": "queue", "resourceID": "q1"}), "grant_queue", ("alice", "q1"), {}),
    ("queue.del_queue('q1')", ("DELETE", "/queue/q1", {}, None), "del_queue", ("q1",), {}),
    ("cluster.update_cluster('c1', credential=b'apiVersion: v1\\n', description='gpu')",
     ("PUT", "/cluster/c1", {}, {"credential": base64.b64encode(b"apiVersion: v1\n").decode(), "description": "gpu"}),
     "update_cluster", ("c1",), {"credential": b"apiVersion: v1\n", "description": "gpu"}),
    ("cluster.show_cluster('c1')", ("GET", "/cluster/c1", {}, None), "show_cluster", ("c1",), {}),
    ("cluster.delete_cluster('c1')", ("DELETE", "/cluster/c1", {}, None), "delete_cluster", ("c1",), {}),
    ("user.add_user('alice1', 'secret1pw')", ("POST", "/user", {}, {"username": "alice1", "password": "secret1pw"}), "add_user", ("alice1", "secret1pw"), {}),
    ("user.update_password('alice1', 'secret2pw')", ("PUT", "/user/alice1", {}, {"password": "secret2pw"}), "update_password", ("alice1", "secret2pw"), {}),
    ("user.del_user('alice1')", ("DELETE", "/user/alice1", {}, None), "del_user", ("alice1",), {}),
]  # fmt: skip

#: fixtures whose comparison needs an equivalence, each with why the server cannot tell the two apart
_LOG_DEFAULTS = [ServerDefault("query", "pageSize", "100", "LogPageSizeDefault"), ServerDefault("query", "pageNo", "1", "LogPageNoDefault"),
                 ServerDefault("query", "logFilePosition", "end", "EndFilePosition when empty")]  # fmt: skip
MORE: list[tuple[str, tuple[str, str, dict[str, str], Any], str, tuple[Any, ...], dict[str, Any], list[Any]]] = [
    ("log.get_log_info('run-000001', None, None, None, None)", ("GET", "/log/run/run-000001", {}, None), "show_log", ("run-000001",), {}, _LOG_DEFAULTS),
    ("log.get_log_info('run-000001', 'job-1', 20, 2, 'begin')", ("GET", "/log/run/run-000001", {"jobID": "job-1", "pageSize": "20", "pageNo": "2", "logFilePosition": "begin"}, None),
     "show_log", ("run-000001",), {"job_id": "job-1", "page_size": 20, "page_no": 2, "log_file_position": "begin"}, []),
    ("user.list_user(maxsize=10)", ("GET", "/user", {"maxKeys": "10"}, None), "list_user", (), {"max_keys": 10}, []),
    ("queue.add_queue('q1', 'default', 'c1', {'cpu': '8', 'mem': '16Gi'})", ("POST", "/queue", {}, {"name": "q1", "namespace": "default", "clusterName": "c1", "maxResources": {"cpu": "8", "mem": "16Gi"}}),
     "create_queue", ("q1", "default", "c1", "8", "16Gi"), {}, []),
    ("queue.list_queue(maxsize=10)", ("GET", "/queue", {"maxKeys": "10"}, None), "list_queue", (), {"max_keys": 10}, []),
    ("queue.show_queue('q1')", ("GET", "/queue/q1", {}, None), "show_queue", ("q1",), {}, []),
    ("queue.update_queue('q1', {'cpu': '16', 'mem': '32Gi'})", ("PUT", "/queue/q1", {}, {"maxResources": {"cpu": "16", "mem": "32Gi"}}), "update_queue", ("q1",), {"max_cpu": "16", "max_mem": "32Gi"}, []),
    ("queue.ungrant_queue('alice', 'q1')", ("DELETE", "/grant", {"username": "alice", "resourceType": "queue", "resourceID": "q1"}, None), "ungrant_queue", ("alice", "q1"), {}, []),
    ("queue.show_grant('alice', maxsize=10)", ("GET", "/grant", {"maxKeys": "10", "username": "alice"}, None), "show_queue_grant", ("alice",), {"max_keys": 10}, []),
    ("flavour.list_flavour(maxsize=10, clustername='c1', key='f1')", ("GET", "/flavour", {"maxKeys": "10", "clusterName": "c1", "name": "f1"}, None),
     "list_flavour", (), {"max_keys": 10, "cluster_name": "c1", "name": "f1"}, []),
    ("flavour.add_flavour('f1', '4', '8Gi', {'nvidia.com/gpu': '1'}, 'c1')", ("POST", "/flavour", {}, {"name": "f1", "cpu": "4", "mem": "8Gi", "scalarResources": {"nvidia.com/gpu": "1"}, "clusterName": "c1"}),
     "add_flavour", ("f1", "4", "8Gi", {"nvidia.com/gpu": "1"}, "c1"), {}, []),
    ("flavour.show_flavour('f1')", ("GET", "/flavour/f1", {}, None), "show_flavour", ("f1",), {}, []),
    ("flavour.update_flavour('f1', cpu='8')", ("PUT", "/flavour/f1", {}, {"cpu": "8"}), "update_flavour", ("f1",), {"cpu": "8"}, []),
    ("flavour.del_flavour('f1')", ("DELETE", "/flavour/f1", {}, None), "del_flavour", ("f1",), {}, []),
    ("cluster.create_cluster('c2', 'https://k8s:6443', 'Kubernetes', credential=b'apiVersion: v1\\n', namespacelist=['default'])",
     ("POST", "/cluster", {}, {"clusterName": "c2", "endpoint": "https://k8s:6443", "clusterType": "Kubernetes", "credential": base64.b64encode(b"apiVersion: v1\n").decode(),
                               "namespaceList": ["default"]}),
     "create_cluster", ("c2", "https://k8s:6443", "Kubernetes"), {"credential": "apiVersion: v1\n", "namespace_list": ["default"]}, []),
    ("cluster.list_cluster(maxkeys=10, clusternames='c1,c2')", ("GET", "/cluster", {"maxKeys": "10", "clusterNames": "c1,c2"}, None), "list_cluster", (), {"max_keys": 10, "cluster_names": ["c1", "c2"]}, []),
    ("cluster.list_cluster_resource(clustername='c1')", ("GET", "/cluster/resource", {"clusterNames": "c1"}, None), "list_cluster_resource", (["c1"],), {}, []),
    ("statistics.get_statistics('job-1')", ("GET", "/statistics/job/job-1", {}, None), "get_statistics", ("job-1",), {}, []),
    ("statistics.get_statistics_detail('job-1', start=100, end=200, step=10)", ("GET", "/statistics/jobDetail/job-1", {"start": "100", "end": "200", "step": "10"}, None),
     "get_statistics_detail", ("job-1",), {"start": 100, "end": 200, "step": 10}, []),
    ("fs.add_fs('fs1', 's3://bucket/path', properties={'endpoint': 'e'})", ("POST", "/fs", {}, {"name": "fs1", "url": "s3://bucket/path", "properties": {"endpoint": "e"}}),
     "add_fs", ("fs1", "s3://bucket/path"), {"properties": {"endpoint": "e"}}, []),
    ("fs.list_fs(maxsize=10)", ("GET", "/fs", {"maxKeys": "10"}, None), "list_fs", (), {"max_keys": 10}, []),
    ("fs.show_fs('fs1', username='alice')", ("GET", "/fs/fs1", {"username": "alice"}, None), "show_fs", ("fs1",), {"username": "alice"}, []),
    ("fs.delete_fs('fs1')", ("DELETE", "/fs/fs1", {}, None), "delete_fs", ("fs1",), {}, []),
    ("fs.add_link('fs1', '/data', 's3://bucket/data')", ("POST", "/link", {}, {"fsPath": "/data", "url": "s3://bucket/data", "fsName": "fs1"}), "add_link", ("fs1", "/data", "s3://bucket/data"), {}, []),
    ("fs.list_link('fs1', maxsize=10)", ("GET", "/link/fs1", {"maxKeys": "10"}, None), "list_link", ("fs1",), {"max_keys": 10}, []),
    ("fs.delete_link('fs1', '/data')", ("DELETE", "/link/fs1", {"fsPath": "/data"}, None), "delete_link", ("fs1", "/data"), {}, []),
    ("run.list_runcache(run_filter='run-000001', max_keys=10)", ("GET", "/runCache", {"runFilter": "run-000001", "maxKeys": "10"}, None), "list_cache", (), {"run_filter": "run-000001", "max_keys": 10}, []),
    ("run.show_runcache('cch-000001')", ("GET", "/runCache/cch-000001", {}, None), "show_cache", ("cch-000001",), {}, []),
    ("run.delete_runcache('cch-000001')", ("DELETE", "/runCache/cch-000001", {}, None), "delete_cache", ("cch-000001",), {}, []),
    ("run.list_artifact(run_filter='run-000001', max_keys=10)", ("GET", "/artifact", {"runFilter": "run-000001", "maxKeys": "10"}, None), "list_artifact", (), {"run_filter": "run-000001", "max_keys": 10}, []),
]  # fmt: skip
CASES = [(*f, []) for f in FIXTURES] + MORE


def _expected(fixture: tuple[str, str, dict[str, str], Any]) -> Exchange:
    import json

    method, path, query, body = fixture
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"content-type": "application/json"} if body is not None else {}
    return Exchange(method, V1 + path, tuple(query.items()), raw, headers, 0)


def _fold_keys(ex: Exchange) -> Exchange:
    """Body keys lower-cased: Go decodes JSON field names case-insensitively, so ``fsname`` fills ``fsName``."""
    import json

    if not ex.body:
        return ex
    data = json.loads(ex.body)
    folded = {k.lower(): v for k, v in data.items()} if isinstance(data, dict) else data
    return Exchange(ex.method, ex.path, ex.query, json.dumps(folded).encode(), ex.headers, ex.status)


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[Any, RecordingProxy, Any]]:
    from airflow_provider.paddleflow.hook import PaddleFlowHook

    with serve_recorded("paddleflow", "pf_wire") as (emulator, proxy):
        hook = PaddleFlowHook("pf_wire")
        hook.list_run(max_keys=1)  # logs in: the login is not part of the calls compared
        yield emulator, proxy, hook


@pytest.mark.parametrize("fixture", CASES, ids=[f[2] + "-" + str(i) for i, f in enumerate(CASES)])
def test_hook_sends_what_the_sdk_sends(recorded: tuple[Any, RecordingProxy, Any], fixture: Any) -> None:
    _, proxy, hook = recorded
    sdk_call, expected, name, args, kwargs, equivalent = fixture
    with proxy.capture() as ours:
        try:
            getattr(hook, name)(*args, **kwargs)
        except ProviderError:
            pass  # the emulator may refuse (unknown ids): the request is what is compared
    sent = [e for e in ours if not e.path.endswith("/login")]
    problems = compare_requests([_fold_keys(_expected(expected))], [_fold_keys(e) for e in sent], equivalent)
    assert not problems, f"{sdk_call}:\n" + "\n".join(problems)


def test_catchup_false_is_sent_where_the_sdk_cannot(recorded: tuple[Any, RecordingProxy, Any]) -> None:
    """Deliberate difference: the SDK drops a falsy catchup and the server then stores true."""
    _, proxy, hook = recorded
    ppl = hook.create_pipeline(yaml_raw=YAML)
    with proxy.capture() as ours:
        schedule_id = hook.create_schedule("nocatchup", ppl["pipelineID"], ppl["pipelineVersionID"], "@every 1h", catchup=False)
    (sent,) = ours
    assert sent.json()["catchup"] is False
    assert hook.show_schedule(schedule_id)["options"]["catchup"] is False
    # what the SDK sends for catchup=False (no key): the server reads it as true
    with proxy.capture() as sdk_like:
        other = hook.create_schedule("sdkcatchup", ppl["pipelineID"], ppl["pipelineVersionID"], "@every 1h")
    assert "catchup" not in sdk_like[0].json() and hook.show_schedule(other)["options"]["catchup"] is True
    hook.stop_schedule(schedule_id)
    hook.stop_schedule(other)
    assert compare_requests([sent], [sent], [ServerDefault("body", "catchup", True)]) == []


def test_stop_queue_is_refused_and_sends_nothing(recorded: tuple[Any, RecordingProxy, Any]) -> None:
    from airflow_provider.common.errors import ConfigError

    _, proxy, hook = recorded
    with proxy.capture() as ours, pytest.raises(ConfigError, match="no way to close a queue"):
        hook.stop_queue("q1")
    assert len(ours) == 0


def _token(url: str) -> dict[str, str]:
    import requests

    from airflow_provider.testing.paddleflow import ROOT_PASSWORD, ROOT_USER

    answer = requests.post(f"{url}{V1}/login", json={"username": ROOT_USER, "password": ROOT_PASSWORD}, timeout=10)
    return {"x-pf-authorization": answer.json()["authorization"]}


def test_emulator_answers_the_old_close_route_as_todays_server(recorded: tuple[Any, RecordingProxy, Any]) -> None:
    import requests

    _, proxy, _ = recorded
    answer = requests.put(f"{proxy.url}{V1}/queue/default-queue", params={"action": "close"}, headers=_token(proxy.url), timeout=10)
    assert answer.status_code == 400 and answer.json()["code"] == "MalformedJSON"


def test_every_emulator_error_body_has_the_servers_shape(recorded: tuple[Any, RecordingProxy, Any]) -> None:
    """The SDK reads ``data['code']``, ``data['message']`` and ``data['requestID']`` of every answer >= 400."""
    import requests

    emulator, proxy, _ = recorded
    auth = _token(proxy.url)
    emulator.faults.fail_next(1, 503, path_contains="/run")
    emulator.faults.fail_next(1, 429, path_contains="/pipeline", retry_after="1")
    cases = [
        ("GET", f"{V1}/run", {}, auth, 503),
        ("GET", f"{V1}/pipeline", {}, auth, 429),
        ("GET", f"{V1}/no-such-route", {}, auth, 404),
        ("PATCH", f"{V1}/run/run-000001", {}, auth, 405),
        ("GET", f"{V1}/run/run-999999", {}, auth, 404),
        ("GET", f"{V1}/run", {}, {}, 400),
        ("POST", f"{V1}/run", {"data": b"{not json"}, {**auth, "content-type": "application/json"}, 400),
        ("GET", f"{V1}/run", {"params": {"maxKeys": "many"}}, auth, 400),
    ]
    for method, path, extra, headers, status in cases:
        answer = requests.request(method, f"{proxy.url}{path}", headers={**headers, "x-pf-request-id": "rid-1"}, timeout=10, **extra)
        body = answer.json()
        assert answer.status_code == status and set(body) >= {"code", "message", "requestID"}, (method, path, answer.status_code, body)
        assert body["requestID"] == "rid-1" and body["code"], (method, path, body)


def test_login_sends_what_the_sdk_sends(recorded: tuple[Any, RecordingProxy, Any]) -> None:
    """client.login(u, p): ``POST /login {"username", "password"}``; the token then goes raw in ``x-pf-authorization``."""
    import json
    import os

    from airflow_provider.paddleflow.hook import PaddleFlowHook
    from airflow_provider.testing.paddleflow import ROOT_PASSWORD, ROOT_USER, connection

    _, proxy, _ = recorded
    os.environ["AIRFLOW_CONN_PF_WIRE_LOGIN"] = json.dumps(connection(proxy.url))  # a connection no hook has logged in with yet
    with proxy.capture() as ours:
        PaddleFlowHook("pf_wire_login").list_run(max_keys=1)
    expected = _expected(("POST", "/login", {}, {"username": ROOT_USER, "password": ROOT_PASSWORD}))
    assert compare_requests([expected], ours.only(path_contains="/login")) == []


def test_show_link_differs_only_by_asking_a_page_of_100(recorded: tuple[Any, RecordingProxy, Any]) -> None:
    """fs.show_link('fs1', '/data') sends ``GET /link/fs1?fsPath=/data`` (the server then pages by 50); the hook
    reads the listing through its pager, which asks for 100 (deliberate: one page for a path filter)."""
    _, proxy, hook = recorded
    with proxy.capture() as ours:
        try:
            hook.show_link("fs1", "/data")
        except ProviderError:
            pass
    (sent,) = ours
    assert (sent.method, sent.path, sent.params()) == ("GET", f"{V1}/link/fs1", {"fsPath": "/data", "maxKeys": "100"})


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("list_pipeline", ()),
        ("show_pipeline", ("ppl-000001",)),
        ("list_schedule", ()),
        ("show_schedule", ("schedule-000001",)),
        ("list_cache", ()),
        ("list_artifact", ()),
    ],
)
def test_lists_ask_100_per_page_when_max_keys_is_left_out(recorded: tuple[Any, RecordingProxy, Any], name: str, args: tuple[Any, ...]) -> None:
    """Deliberate: these SDK calls send no maxKeys unless given (the server then pages by 50)."""
    _, proxy, hook = recorded
    with proxy.capture() as ours:
        try:
            getattr(hook, name)(*args)
        except ProviderError:
            pass
    assert ours[0].params()["maxKeys"] == "100"
