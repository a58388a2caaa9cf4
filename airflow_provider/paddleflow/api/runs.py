"""PaddleFlow runs and their logs (seed 004; wire: reference/paddleflow.md §2), one flow each.

Every route is under ``/api/paddleflow/v1``; lists page with ``maxKeys``/``marker`` and each
``list_*`` flow can walk all pages (``all_pages=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from airflow_provider.common.decoding import decode_fields
from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.paddleflow.api.base import api_path, b64, drop_none, list_page, yaml_text


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
    body = drop_none({
        "fsName": fs_name, "username": username, "name": run_name, "desc": desc, "runYamlPath": run_yaml_path,
        "runYamlRaw": b64(raw) if raw is not None else None, "pipelineID": pipeline_id, "pipelineVersionID": pipeline_version_id,
        "parameters": param or None, "disabled": ",".join(disabled) if isinstance(disabled, list) else disabled, "dockerEnv": docker_env,
        "failureOptions": failure_options,
    })  # fmt: skip
    data = yield Call("POST", api_path("run"), json=body)
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
    return (yield from list_page(api_path("run"), "runList", params, max_keys, marker, all_pages))


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


class _Brief(TypedDict, total=False):
    runID: str
    status: str
    runMsg: str


class _BriefPage(TypedDict, total=False):
    runList: list[_Brief]
    nextMarker: str | None
    isTruncated: bool


#: a ``runFilter`` page as a wait reads it: id, status and message of each run, nothing else built
_BRIEF_PAGE = TypeAdapter(_BriefPage)


def find_runs(run_ids: Sequence[str]) -> Flow[dict[str, dict[str, Any]]]:
    """Run briefs (``runID``, ``status``, ``runMsg``) of many runs in a few ``GET /run?runFilter=a,b,...`` pages.

    A filtered listing may end with an empty page (PaddleFlow compares the marker with the last run
    of all users), so paging stops once every id of the chunk was seen. Runs missing from the
    answer (deleted, another user's) are absent: the caller reads them itself.
    """
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(run_ids))):
        marker: str | None = None
        while True:
            params = {"runFilter": ",".join(chunk), "maxKeys": FIND_CHUNK, "marker": marker}
            data = decode_fields(_BRIEF_PAGE, (yield Call("GET", api_path("run"), params=params, expect="bytes")), "paddleflow")
            for brief in data.get("runList") or []:
                if isinstance(brief, dict) and brief.get("runID"):
                    found[brief["runID"]] = cast("dict[str, Any]", brief)
            marker = data.get("nextMarker")
            if not data.get("isTruncated") or not marker or all(r in found for r in chunk):
                break
    return found


def show_run(run_id: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("run", run_id))))


def stop_run(run_id: str, force: bool = False) -> Flow[None]:
    # stopping twice is harmless (403 ActionNotAllowed once final), so the PUT may be resent
    yield Call("PUT", api_path("run", run_id), params={"action": "stop"}, json={"stopForce": force}, expect="none")


def retry_run(run_id: str) -> Flow[str]:
    """Retry a failed or terminated run: PaddleFlow creates a NEW run and returns its id."""
    data = yield Call("PUT", api_path("run", run_id), params={"action": "retry"}, idempotent=False)
    return str(data["runID"])


def delete_run(run_id: str, check_cache: bool = True) -> Flow[None]:
    yield Call("DELETE", api_path("run", run_id), json={"checkCache": check_cache}, expect="none")


# --- logs ---------------------------------------------------------------------------------
def show_log(run_id: str, job_id: str | None = None, page_size: int = 100, page_no: int = 1, log_file_position: str = "end") -> Flow[dict[str, Any]]:
    if not 1 <= page_size <= 100:
        raise ConfigError(f"page_size must be 1..100 (PaddleFlow's maximum), got {page_size}")
    if log_file_position not in ("end", "begin"):
        raise ConfigError(f"log_file_position must be 'end' or 'begin', got {log_file_position!r}")
    params = {"jobID": job_id, "pageNo": page_no, "pageSize": page_size, "logFilePosition": log_file_position}
    return dict((yield Call("GET", api_path("log", "run", run_id), params=params)))


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
