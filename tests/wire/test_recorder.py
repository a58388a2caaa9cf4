"""The recording proxy forwards faithfully, records what matters, and compares by its documented rules."""

from __future__ import annotations

import pytest
import requests
from support.recorder import (
    Exchange,
    Generated,
    ServerDefault,
    assert_same_requests,
    compare_requests,
    serve_recorded,
)


def ex(method: str = "GET", path: str = "/x", query: tuple[tuple[str, str], ...] = (), body: bytes = b"", **headers: str) -> Exchange:
    return Exchange(method, path, query, body, headers, 200)


def test_forwards_and_records_without_credentials() -> None:
    with serve_recorded("digitalhub", None, headers=("x-probe",)) as (emulator, proxy):
        with proxy.capture() as seen:
            answer = requests.get(
                f"{proxy.url}/api/v1/projects", params={"size": "5", "page": "0"}, auth=("admin", "dh-secret-4e1f"), headers={"X-Probe": "1"}, timeout=10
            )
        assert answer.status_code == 200 and "content" in answer.json()
        (only,) = seen
        assert (only.method, only.path, only.params(), only.status) == ("GET", "/api/v1/projects", {"size": "5", "page": "0"}, 200)
        assert only.headers["authorization"] == "Basic" and only.headers["x-probe"] == "1"
        assert len(emulator.faults.calls("GET", "/api/v1/projects")) == 1


def test_upstream_errors_and_resets_reach_the_client() -> None:
    with serve_recorded("digitalhub", None) as (emulator, proxy):
        emulator.faults.fail_next(1, 503, retry_after="2")
        answer = requests.get(f"{proxy.url}/api/v1/projects", auth=("admin", "dh-secret-4e1f"), timeout=10)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
        emulator.faults.reset_next(1)
        with proxy.capture() as seen, pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            requests.get(f"{proxy.url}/api/v1/projects", auth=("admin", "dh-secret-4e1f"), timeout=10)
        assert [e.status for e in seen] == [0]


def test_key_order_query_order_and_charset_are_equivalent() -> None:
    a = ex("POST", "/r", (("a", "1"), ("b", "x y")), b'{"k": 1, "j": [1, 2]}', **{"content-type": "application/json"})
    b = ex("POST", "/r", (("b", "x y"), ("a", "1")), b'{"j":[1,2],"k":1}', **{"content-type": "application/json; charset=utf-8"})
    assert compare_requests([a], [b]) == []


def test_differences_are_named() -> None:
    a = ex("GET", "/r", (("withSecrets", "False"),))
    b = ex("GET", "/r")
    (problem,) = compare_requests([a], [b])
    assert "withSecrets" in problem
    c = ex("PUT", "/r", body=b'{"params": {"hour": 3}}')
    d = ex("PUT", "/r", body=b'{"params": {}}')
    (problem,) = compare_requests([c], [d])
    assert "params.hour only in theirs" in problem
    assert "2 requests against 1" in compare_requests([a, a], [a])[0]
    with pytest.raises(AssertionError, match="method GET != DELETE"):
        assert_same_requests([a], [ex("DELETE", "/r", (("withSecrets", "False"),))])


def test_named_equivalences_only() -> None:
    a = ex("GET", "/r", (("size", "20"),), b'{"id": "abc", "metadata": {"created": "t1"}, "x": 1}')
    b = ex("GET", "/r", (), b'{"id": "def", "metadata": {"created": "t2"}}')
    assert len(compare_requests([a], [b])) == 2
    allowed = [ServerDefault("query", "size", 20), ServerDefault("body", "x", 1), Generated("id"), Generated("metadata.created")]
    assert compare_requests([a], [b], allowed) == []
    # a generated value must still be sent by both
    e = ex("GET", "/r", (("size", "20"),), b'{"metadata": {"created": "t2"}, "x": 1}')
    assert compare_requests([a], [e], allowed) == ["request 0 (GET /r): generated id sent by one side only"]
    # a server default holds only for its value
    f = ex("GET", "/r", (("size", "50"),), a.body)
    assert compare_requests([f], [b], allowed)


def test_marks_split_a_recording_and_stay_local() -> None:
    from support.recorder import split_marks

    with serve_recorded("digitalhub", None) as (emulator, proxy):
        with proxy.capture() as seen:
            assert requests.get(f"{proxy.url}/_recorder/mark/first%20op", timeout=10).status_code == 204
            requests.get(f"{proxy.url}/api/v1/projects", auth=("admin", "dh-secret-4e1f"), timeout=10)
            requests.get(f"{proxy.url}/_recorder/mark/second", timeout=10)
            requests.get(f"{proxy.url}/api/auth", auth=("admin", "dh-secret-4e1f"), timeout=10)
            requests.get(f"{proxy.url}/api/v1/projects/demo", auth=("admin", "dh-secret-4e1f"), timeout=10)
        parts = split_marks(seen)
        assert {k: [e.path for e in v] for k, v in parts.items()} == {"first op": ["/api/v1/projects"], "second": ["/api/auth", "/api/v1/projects/demo"]}
        assert not emulator.faults.calls(path_contains="_recorder")
