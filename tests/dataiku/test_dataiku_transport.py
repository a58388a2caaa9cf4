"""The transport's retry policy on the wire: Retry-After, bursts, resets, POST not resent, errors."""

from __future__ import annotations

import email.utils
import json
import socket
import time
from typing import Any

import pytest

from airflow_provider.common.errors import AuthError, NotFoundError, SubmitOutcomeUnknown, TransportError


async def test_retry_after_is_honoured(dss_api: Any, dss: Any) -> None:
    emulator = dss[0]
    emulator.faults.clear()
    emulator.faults.fail_next(1, 429, retry_after="1", path_contains="/scenarios/BUILD_ORDERS/light")
    started = time.monotonic()
    status = await dss_api("get_scenario_status", "DEMO", "BUILD_ORDERS")
    elapsed = time.monotonic() - started
    assert status.id == "BUILD_ORDERS"
    assert elapsed >= 0.95, f"resent after {elapsed:.2f}s, before Retry-After"
    calls = emulator.faults.calls("GET", "/scenarios/BUILD_ORDERS/light")
    assert [c.answered for c in calls[-2:]] == [429, 200]


async def test_retry_after_as_http_date(dss_api: Any, dss: Any) -> None:
    emulator = dss[0]
    emulator.faults.clear()
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    emulator.faults.fail_next(1, 503, retry_after=when, path_contains="/scenarios/REFRESH_KPIS/light")
    started = time.monotonic()
    await dss_api("get_scenario_status", "DEMO", "REFRESH_KPIS")
    assert time.monotonic() - started >= 0.9  # HTTP dates have 1 s resolution


async def test_burst_of_5xx_and_resets_on_reads_is_absorbed(dss_api: Any, dss: Any) -> None:
    emulator = dss[0]
    emulator.faults.clear()
    emulator.faults.fail_next(1, 503, path_contains="/scenarios/CHECK_QUALITY/light")
    emulator.faults.reset_next(1, path_contains="/scenarios/CHECK_QUALITY/light")
    emulator.faults.fail_next(1, 502, path_contains="/scenarios/CHECK_QUALITY/light")
    status = await dss_api("get_scenario_status", "DEMO", "CHECK_QUALITY")
    assert status.id == "CHECK_QUALITY"
    answers = [c.answered for c in emulator.faults.calls("GET", "/scenarios/CHECK_QUALITY/light")[-4:]]
    assert answers == [503, 0, 502, 200]


async def test_post_that_may_have_reached_the_server_is_not_resent(dss_api: Any, dss: Any, new_scenario: Any) -> None:
    emulator = dss[0]
    sc = new_scenario()
    emulator.faults.reset_next(1, method="POST", path_contains=f"/{sc.id}/run")
    with pytest.raises(SubmitOutcomeUnknown, match="may have reached the server") as caught:
        await dss_api("run_scenario", "TEST", sc.id)
    assert caught.value.status is None and caught.value.method == "POST"
    assert len(emulator.faults.calls("POST", f"/{sc.id}/run")) == 1
    assert len(sc.fires) == 1  # the request did reach DSS: resending would have fired twice


async def test_post_rejected_with_429_is_resent(dss_api: Any, dss: Any, new_scenario: Any) -> None:
    emulator = dss[0]
    sc = new_scenario()
    emulator.faults.fail_next(1, 429, retry_after="0.1", method="POST", path_contains=f"/{sc.id}/run")
    fire = await dss_api("run_scenario", "TEST", sc.id)
    assert fire.run_id and len(sc.fires) == 1
    assert [c.answered for c in emulator.faults.calls("POST", f"/{sc.id}/run")] == [429, 200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_a_post_is_not_resent(dss_api: Any, dss: Any, new_scenario: Any, status: int) -> None:
    """A gateway that forwarded the run request and then answered 5xx: DSS fired the scenario once."""
    emulator = dss[0]
    sc = new_scenario()
    emulator.faults.fail_next(1, status, method="POST", path_contains=f"/{sc.id}/run", commit=True)
    with pytest.raises(SubmitOutcomeUnknown, match=f"HTTP {status}") as caught:
        await dss_api("run_scenario", "TEST", sc.id)
    assert caught.value.status == status
    assert len(emulator.faults.calls("POST", f"/{sc.id}/run")) == 1
    assert len(sc.fires) == 1


async def test_errors_keep_status_type_and_message(dss_api: Any, dss_state: Any) -> None:
    with pytest.raises(NotFoundError) as missing:
        await dss_api("get_scenario_status", "DEMO", "NOPE")
    assert missing.value.status == 404 and missing.value.code == "NotFoundException"
    assert "Scenario not found: DEMO.NOPE" in str(missing.value)
    with pytest.raises(AuthError) as forbidden:
        await dss_api("list_scenarios", "NO_SUCH_PROJECT")
    assert forbidden.value.status == 403 and "Failed to read project permissions" in str(forbidden.value)


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


async def test_unreachable_host_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.dataiku.hook import DataikuAsyncHook, DataikuHook

    conn = {"conn_type": "dataiku", "host": f"http://127.0.0.1:{_closed_port()}", "password": "k", "extra": {"retry_attempts": 2, "retry_budget": 2}}
    monkeypatch.setenv("AIRFLOW_CONN_DSS_DOWN", json.dumps(conn))
    for call in (lambda: DataikuHook("dss_down").list_scenarios("DEMO"),):
        with pytest.raises(
            TransportError, match=r"cannot reach Dataiku DSS at http://127\.0\.0\.1:\d+/public/api/projects/DEMO/scenarios/ .*check the host, port"
        ):
            call()
    with pytest.raises(TransportError, match="check the host, port and scheme"):
        await DataikuAsyncHook("dss_down").list_scenarios("DEMO")
