"""PaddleFlow endpoints (seed 004; wire: reference/paddleflow.md §2), one flow each.

This module covers login, runs, logs, pipelines and schedules. Every route is under
``/api/paddleflow/v1``; lists page with ``maxKeys``/``marker`` and each ``list_*`` flow can walk
all pages (``all_pages=True``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.common.transport import quote_segment as q

PREFIX = "/api/paddleflow/v1"
RUN_FINAL_STATUS = frozenset({"failed", "succeeded", "terminated", "skipped"})
RUN_ACTIVE_STATUS = frozenset({"pending", "running", "terminating", "initiating"})


def _path(*parts: str) -> str:
    return PREFIX + "".join(f"/{q(p)}" for p in parts)


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None and v != ""}


def yaml_text(yaml_file: str | Path | None = None, yaml_raw: str | bytes | None = None) -> str | None:
    """Read a YAML file, or take raw YAML; check it parses so a syntax error names its line here."""
    import yaml

    if yaml_file is not None:
        path = Path(yaml_file)
        if not path.is_file():
            raise ConfigError(f"yaml file {str(path)!r} does not exist")
        text = path.read_text()
    elif yaml_raw is not None:
        text = yaml_raw.decode() if isinstance(yaml_raw, bytes) else yaml_raw
    else:
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"pipeline YAML is malformed{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict) or "entry_points" not in doc:
        raise ConfigError("pipeline YAML must be a mapping with entry_points (see PaddleFlow's run.yaml format)")
    return text


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _page(path: str, list_key: str, params: dict[str, Any], max_keys: int, marker: str | None, all_pages: bool) -> Flow[dict[str, Any]]:
    items: list[Any] = []
    while True:
        data = yield Call("GET", path, params={**params, "maxKeys": max_keys, "marker": marker})
        data = data or {}
        items.extend(data.get(list_key) or [])
        marker = data.get("nextMarker")
        if not all_pages or not data.get("isTruncated") or not marker:
            return {list_key: items, "isTruncated": bool(data.get("isTruncated")), "nextMarker": marker}


# --- login --------------------------------------------------------------------------------
def login_call(username: str, password: str) -> Call:
    return Call("POST", _path("login"), json={"username": username, "password": password}, anonymous=True, idempotent=True)


# --- runs ---------------------------------------------------------------------------------
def create_run(
    fs_name: str | None = None,
    username: str | None = None,
    run_name: str | None = None,
    desc: str | None = None,
    run_yaml_path: str | None = None,
    run_yaml_raw: str | bytes | None = None,
    pipeline_id: str | None = None,
    pipeline_version_id: str | None = None,
    param: dict[str, Any] | None = None,
    disabled: str | list[str] | None = None,
    docker_env: str | None = None,
    failure_options: dict[str, Any] | None = None,
) -> Flow[str]:
    """Start a run from raw YAML (sent base64), a pipeline version, or a YAML path in the fs. Returns the run id."""
    raw = yaml_text(yaml_raw=run_yaml_raw) if run_yaml_raw is not None else None
    if raw is None and not pipeline_id and not fs_name:
        raise ConfigError("create_run needs run_yaml_raw, or pipeline_id (+ pipeline_version_id), or fs_name with run_yaml_path")
    body = _drop_none({
        "fsName": fs_name, "username": username, "name": run_name, "desc": desc, "runYamlPath": run_yaml_path,
        "runYamlRaw": b64(raw) if raw is not None else None, "pipelineID": pipeline_id, "pipelineVersionID": pipeline_version_id,
        "parameters": param or None, "disabled": ",".join(disabled) if isinstance(disabled, list) else disabled, "dockerEnv": docker_env,
        "failureOptions": failure_options,
    })  # fmt: skip
    data = yield Call("POST", _path("run"), json=body)
    return str(data["runID"])


def list_run(
    fs_name: str | None = None,
    username: str | None = None,
    run_id: str | None = None,
    run_name: str | None = None,
    status: str | None = None,
    max_keys: int = 100,
    marker: str | None = None,
    all_pages: bool = False,
) -> Flow[dict[str, Any]]:
    params = {"fsFilter": fs_name, "userFilter": username, "runFilter": run_id, "nameFilter": run_name, "statusFilter": status}
    return (yield from _page(_path("run"), "runList", params, max_keys, marker, all_pages))


#: ids per ``runFilter`` query: PaddleFlow takes up to 1,000 per page; proxies in front of it
#: (nginx: 8 KiB request lines) limit the URL, so a chunk also stays under FIND_QUERY_CHARS
FIND_CHUNK = 1000
FIND_QUERY_CHARS = 6000


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    size = 0
    for run_id in ids:
        if chunks[-1] and (len(chunks[-1]) >= FIND_CHUNK or size + len(run_id) + 3 > FIND_QUERY_CHARS):
            chunks.append([])
            size = 0
        chunks[-1].append(run_id)
        size += len(run_id) + 3  # the comma, percent-encoded
    return [c for c in chunks if c]


def find_runs(run_ids: Sequence[str]) -> Flow[dict[str, dict[str, Any]]]:
    """Run briefs (``status``, ``runMsg``, times) of many runs in a few ``GET /run?runFilter=a,b,...`` pages.

    A filtered listing may end with an empty page (PaddleFlow compares the marker with the last run
    of all users), so paging stops once every id of the chunk was seen. Runs missing from the
    answer (deleted, another user's) are absent: the caller reads them itself.
    """
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(run_ids))):
        marker: str | None = None
        while True:
            data = yield Call("GET", _path("run"), params={"runFilter": ",".join(chunk), "maxKeys": FIND_CHUNK, "marker": marker})
            data = data or {}
            for brief in data.get("runList") or []:
                if isinstance(brief, dict) and brief.get("runID"):
                    found[brief["runID"]] = brief
            marker = data.get("nextMarker")
            if not data.get("isTruncated") or not marker or all(r in found for r in chunk):
                break
    return found


def show_run(run_id: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", _path("run", run_id))))


def stop_run(run_id: str, force: bool = False) -> Flow[None]:
    # stopping twice is harmless (403 ActionNotAllowed once final), so the PUT may be resent
    yield Call("PUT", _path("run", run_id), params={"action": "stop"}, json={"stopForce": force}, expect="none")


def retry_run(run_id: str) -> Flow[str]:
    """Retry a failed or terminated run: PaddleFlow creates a NEW run and returns its id."""
    data = yield Call("PUT", _path("run", run_id), params={"action": "retry"}, idempotent=False)
    return str(data["runID"])


def delete_run(run_id: str, check_cache: bool = True) -> Flow[None]:
    yield Call("DELETE", _path("run", run_id), json={"checkCache": check_cache}, expect="none")


def job_ids(run: dict[str, Any]) -> list[str]:
    """Every step's job id in a ``show_run`` answer (runtime is nested: DAGs hold entryPoints)."""
    found: list[str] = []

    def walk(components: dict[str, Any] | None) -> None:
        for views in (components or {}).values():
            for view in views if isinstance(views, list) else [views]:
                if view.get("jobID"):
                    found.append(view["jobID"])
                walk(view.get("entryPoints"))

    walk(run.get("runtime"))
    walk(run.get("postProcess"))
    return found


def failed_jobs(run: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(components: dict[str, Any] | None) -> None:
        for views in (components or {}).values():
            for view in views if isinstance(views, list) else [views]:
                if view.get("jobID") and view.get("status") == "failed":
                    out.append(view)
                walk(view.get("entryPoints"))

    walk(run.get("runtime"))
    return out


# --- logs ---------------------------------------------------------------------------------
def show_log(run_id: str, job_id: str | None = None, page_size: int = 100, page_no: int = 1, log_file_position: str = "end") -> Flow[dict[str, Any]]:
    if not 1 <= page_size <= 100:
        raise ConfigError(f"page_size must be 1..100 (PaddleFlow's maximum), got {page_size}")
    if log_file_position not in ("end", "begin"):
        raise ConfigError(f"log_file_position must be 'end' or 'begin', got {log_file_position!r}")
    params = {"jobID": job_id, "pageNo": page_no, "pageSize": page_size, "logFilePosition": log_file_position}
    return dict((yield Call("GET", _path("log", "run", run_id), params=params)))


def log_tail(run_id: str, job_id: str | None = None, lines: int = 50) -> Flow[str]:
    """The last ``lines`` lines of each job's log (newest page first)."""
    data = yield from show_log(run_id, job_id, page_size=min(100, max(1, lines)), page_no=1, log_file_position="end")
    out = []
    for job in data.get("runLog") or []:
        for task in job.get("taskList") or []:
            content = (task.get("logInfo") or {}).get("logContent") or ""
            if content:
                out.append(f"--- {job.get('jobID')}\n{content.rstrip()}")
    return "\n".join(out)


# --- pipelines ----------------------------------------------------------------------------
def create_pipeline(
    fs_name: str | None = None, yaml_path: str | None = None, desc: str | None = None, username: str | None = None, yaml_raw: str | bytes | None = None
) -> Flow[dict[str, Any]]:
    raw = yaml_text(yaml_raw=yaml_raw) if yaml_raw is not None else None
    if raw is not None and fs_name:
        raise ConfigError("create_pipeline takes yaml_raw or fs_name + yaml_path, not both (PaddleFlow rejects the mix)")
    body = _drop_none({"fsName": fs_name, "yamlPath": yaml_path, "yamlRaw": b64(raw) if raw is not None else None, "username": username, "desc": desc})
    return dict((yield Call("POST", _path("pipeline"), json=body)))


def update_pipeline(
    pipeline_id: str,
    fs_name: str | None = None,
    yaml_path: str | None = None,
    username: str | None = None,
    desc: str | None = None,
    yaml_raw: str | bytes | None = None,
) -> Flow[dict[str, Any]]:
    """A new version of the pipeline (PaddleFlow uses POST for this)."""
    raw = yaml_text(yaml_raw=yaml_raw) if yaml_raw is not None else None
    body = _drop_none({"fsName": fs_name, "yamlPath": yaml_path, "yamlRaw": b64(raw) if raw is not None else None, "username": username, "desc": desc})
    return dict((yield Call("POST", _path("pipeline", pipeline_id), json=body)))


def list_pipeline(
    user_filter: str | None = None, name_filter: str | None = None, max_keys: int = 100, marker: str | None = None, all_pages: bool = False
) -> Flow[dict[str, Any]]:
    return (yield from _page(_path("pipeline"), "pipelineList", {"userFilter": user_filter, "nameFilter": name_filter}, max_keys, marker, all_pages))


def show_pipeline(pipeline_id: str, fs_filter: str | None = None, max_keys: int = 100, marker: str | None = None) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", _path("pipeline", pipeline_id), params={"fsFilter": fs_filter, "maxKeys": max_keys, "marker": marker})))


def delete_pipeline(pipeline_id: str) -> Flow[None]:
    yield Call("DELETE", _path("pipeline", pipeline_id), expect="none")


def show_pipeline_version(pipeline_id: str, pipeline_version_id: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", _path("pipeline", pipeline_id, pipeline_version_id))))


def delete_pipeline_version(pipeline_id: str, pipeline_version_id: str) -> Flow[None]:
    yield Call("DELETE", _path("pipeline", pipeline_id, pipeline_version_id), expect="none")


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
    data = yield Call("POST", _path("schedule"), json=body)
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
    return (yield from _page(_path("schedule"), "scheduleList", params, max_keys, marker, all_pages))


def show_schedule(
    schedule_id: str, run_filter: str | None = None, status_filter: str | None = None, marker: str | None = None, max_keys: int = 100
) -> Flow[dict[str, Any]]:
    return dict(
        (
            yield Call(
                "GET", _path("schedule", schedule_id), params={"runFilter": run_filter, "statusFilter": status_filter, "marker": marker, "maxKeys": max_keys}
            )
        )
    )


def stop_schedule(schedule_id: str) -> Flow[None]:
    yield Call("PUT", _path("schedule", schedule_id), expect="none")


def delete_schedule(schedule_id: str) -> Flow[None]:
    yield Call("DELETE", _path("schedule", schedule_id), expect="none")
