"""PaddleFlow storage and tracking endpoints (reference/paddleflow.md §2.3, §2.8): filesystems,
links, run caches and artifacts. ``/fs`` and ``/link`` page with their own envelope."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.paddleflow.api.base import api_path, drop_none, list_page

FS_SCHEMES = ("hdfs", "local", "s3", "sftp", "mock", "cfs", "glusterfs", "bos", "afs")


def _fs_page(path: str, list_key: str, params: dict[str, Any], max_keys: int, marker: str | None, all_pages: bool) -> Flow[dict[str, Any]]:
    """``/fs`` and ``/link``: ``{"marker", "truncated", "nextMarker", "<x>List": [...] | null}``."""
    items: list[Any] = []
    while True:
        data = (yield Call("GET", path, params={**params, "maxKeys": max_keys, "marker": marker})) or {}
        items.extend(data.get(list_key) or [])
        marker = data.get("nextMarker")
        if not all_pages or not data.get("truncated") or not marker:
            return {list_key: items, "truncated": bool(data.get("truncated")), "nextMarker": marker}


# --- filesystems ---------------------------------------------------------------------------------
def add_fs(fs_name: str, url: str, username: str | None = None, properties: dict[str, str] | None = None) -> Flow[dict[str, Any]]:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in FS_SCHEMES:
        raise ConfigError(f"fs url {url!r}: the scheme must be one of {', '.join(FS_SCHEMES)}")
    return dict((yield Call("POST", api_path("fs"), json=drop_none({"name": fs_name, "url": url, "username": username, "properties": properties}))))


def list_fs(username: str | None = None, max_keys: int = 100, marker: str | None = None, all_pages: bool = False) -> Flow[dict[str, Any]]:
    return (yield from _fs_page(api_path("fs"), "fsList", {"username": username}, max_keys, marker, all_pages))


def show_fs(fs_name: str, username: str | None = None) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("fs", fs_name), params={"username": username})))


def delete_fs(fs_name: str, username: str | None = None) -> Flow[None]:
    yield Call("DELETE", api_path("fs", fs_name), params={"username": username}, expect="none")


def mount(fs_name: str, path: str, username: str | None = None) -> Flow[None]:
    """The SDK's ``mount`` runs the ``pfs-fuse`` binary on the calling machine (a FUSE mount), not an
    API call. An Airflow worker is the wrong place for that: mount the fs into the job's pods through
    the run YAML's ``fs_options`` (or ``extra_fs``) instead."""
    if False:  # pragma: no cover - keeps this a flow like its siblings
        yield
    raise ConfigError(
        f"mounting fs {fs_name!r} at {path!r} needs PaddleFlow's pfs-fuse on this machine; from Airflow, mount it into the run's pods with fs_options/extra_fs in the run YAML"
    )


# --- links -----------------------------------------------------------------------------------------
def add_link(fs_name: str, fs_path: str, url: str, username: str | None = None, properties: dict[str, str] | None = None) -> Flow[None]:
    body = drop_none({"fsName": fs_name, "fsPath": fs_path, "url": url, "username": username, "properties": properties})
    yield Call("POST", api_path("link"), json=body, expect="none")


def list_link(fs_name: str, username: str | None = None, max_keys: int = 100, marker: str | None = None, all_pages: bool = False) -> Flow[dict[str, Any]]:
    return (yield from _fs_page(api_path("link", fs_name), "linkList", {"username": username}, max_keys, marker, all_pages))


def show_link(fs_name: str, fs_path: str, username: str | None = None) -> Flow[dict[str, Any]]:
    data = yield from _fs_page(api_path("link", fs_name), "linkList", {"username": username, "fsPath": fs_path}, 100, None, False)
    found = [link for link in data["linkList"] if link.get("fsPath") == fs_path]
    if not found:
        raise ConfigError(f"fs {fs_name!r} has no link at {fs_path!r}")
    return dict(found[0])


def delete_link(fs_name: str, fs_path: str, username: str | None = None) -> Flow[None]:
    yield Call("DELETE", api_path("link", fs_name), params={"fsPath": fs_path, "username": username}, expect="none")


# --- run caches and artifacts ---------------------------------------------------------------------
def list_cache(
    user_filter: str | None = None,
    fs_filter: str | None = None,
    run_filter: str | None = None,
    max_keys: int = 100,
    marker: str | None = None,
    all_pages: bool = False,
) -> Flow[dict[str, Any]]:
    return (
        yield from list_page(
            api_path("runCache"), "runCacheList", {"userFilter": user_filter, "fsFilter": fs_filter, "runFilter": run_filter}, max_keys, marker, all_pages
        )
    )


def show_cache(cache_id: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("runCache", cache_id))))


def delete_cache(cache_id: str) -> Flow[None]:
    yield Call("DELETE", api_path("runCache", cache_id), expect="none")


def list_artifact(
    user_filter: str | None = None,
    fs_filter: str | None = None,
    run_filter: str | None = None,
    type_filter: str | None = None,
    path_filter: str | None = None,
    max_keys: int = 100,
    marker: str | None = None,
    all_pages: bool = False,
) -> Flow[dict[str, Any]]:
    params = {"userFilter": user_filter, "fsFilter": fs_filter, "runFilter": run_filter, "typeFilter": type_filter, "pathFilter": path_filter}
    return (yield from list_page(api_path("artifact"), "artifactEventList", params, max_keys, marker, all_pages))
