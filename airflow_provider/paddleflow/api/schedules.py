"""PaddleFlow schedules: cron runs of a pipeline version (seed 004; wire: reference/paddleflow.md)."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.paddleflow.api.base import api_path, list_page


# --- schedules ----------------------------------------------------------------------------
def create_schedule(
    name: str,
    pipeline_id: str,
    pipeline_version_id: str,
    crontab: str,
    desc: str | None = None,
    start_time: str | None = None,
    end_time: str | None = None,
    concurrency: int | None = None,
    concurrency_policy: str | None = None,
    expire_interval: int | None = None,
    catchup: bool | None = None,
    username: str | None = None,
) -> Flow[str]:
    """Keys left as ``None`` are not sent, as the SDK leaves them out. ``catchup=False`` is sent as
    ``false``, where the SDK (which sends a key only when it is truthy) cannot send it: the server
    reads an omitted ``catchup`` as true, so leaving it out would store the opposite of what was asked."""
    if concurrency_policy is not None and concurrency_policy not in ("suspend", "replace", "skip"):
        raise ConfigError(f"concurrency_policy must be suspend, replace or skip, got {concurrency_policy!r}")
    body = {k: v for k, v in {
        "name": name, "desc": desc, "pipelineID": pipeline_id, "pipelineVersionID": pipeline_version_id, "crontab": crontab, "startTime": start_time,
        "endTime": end_time, "concurrency": concurrency, "concurrencyPolicy": concurrency_policy, "expireInterval": expire_interval, "catchup": catchup,
        "username": username,
    }.items() if v is not None}  # fmt: skip
    data = yield Call("POST", api_path("schedule"), json=body)
    return str(data["scheduleID"])


def list_schedule(
    user_filter: str | None = None,
    ppl_filter: str | None = None,
    ppl_version_filter: str | None = None,
    schedule_filter: str | None = None,
    name_filter: str | None = None,
    status_filter: str | None = None,
    marker: str | None = None,
    max_keys: int = 100,
    all_pages: bool = False,
) -> Flow[dict[str, Any]]:
    params = {"userFilter": user_filter, "pplFilter": ppl_filter, "pplVersionFilter": ppl_version_filter, "scheduleFilter": schedule_filter,
              "nameFilter": name_filter, "statusFilter": status_filter}  # fmt: skip
    return (yield from list_page(api_path("schedule"), "scheduleList", params, max_keys, marker, all_pages))


def show_schedule(
    schedule_id: str, run_filter: str | None = None, status_filter: str | None = None, marker: str | None = None, max_keys: int = 100
) -> Flow[dict[str, Any]]:
    return dict(
        (
            yield Call(
                "GET", api_path("schedule", schedule_id), params={"runFilter": run_filter, "statusFilter": status_filter, "marker": marker, "maxKeys": max_keys}
            )
        )
    )


def stop_schedule(schedule_id: str) -> Flow[None]:
    yield Call("PUT", api_path("schedule", schedule_id), expect="none")


def delete_schedule(schedule_id: str) -> Flow[None]:
    yield Call("DELETE", api_path("schedule", schedule_id), expect="none")
