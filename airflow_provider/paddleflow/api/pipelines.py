"""PaddleFlow pipelines and their versions (seed 004; wire: reference/paddleflow.md)."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.paddleflow.api.base import api_path, b64, drop_none, list_page, yaml_text


# --- pipelines ----------------------------------------------------------------------------
def create_pipeline(
    fs_name: str | None = None, yaml_path: str | None = None, desc: str | None = None, username: str | None = None, yaml_raw: str | bytes | None = None
) -> Flow[dict[str, Any]]:
    raw = yaml_text(yaml_raw=yaml_raw) if yaml_raw is not None else None
    if raw is not None and fs_name:
        raise ConfigError("create_pipeline takes yaml_raw or fs_name + yaml_path, not both (PaddleFlow rejects the mix)")
    body = drop_none({"fsName": fs_name, "yamlPath": yaml_path, "yamlRaw": b64(raw) if raw is not None else None, "username": username, "desc": desc})
    return dict((yield Call("POST", api_path("pipeline"), json=body)))


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
    body = drop_none({"fsName": fs_name, "yamlPath": yaml_path, "yamlRaw": b64(raw) if raw is not None else None, "username": username, "desc": desc})
    return dict((yield Call("POST", api_path("pipeline", pipeline_id), json=body)))


def list_pipeline(
    user_filter: str | None = None, name_filter: str | None = None, max_keys: int = 100, marker: str | None = None, all_pages: bool = False
) -> Flow[dict[str, Any]]:
    return (yield from list_page(api_path("pipeline"), "pipelineList", {"userFilter": user_filter, "nameFilter": name_filter}, max_keys, marker, all_pages))


def show_pipeline(pipeline_id: str, fs_filter: str | None = None, max_keys: int = 100, marker: str | None = None) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("pipeline", pipeline_id), params={"fsFilter": fs_filter, "maxKeys": max_keys, "marker": marker})))


def delete_pipeline(pipeline_id: str) -> Flow[None]:
    yield Call("DELETE", api_path("pipeline", pipeline_id), expect="none")


def show_pipeline_version(pipeline_id: str, pipeline_version_id: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("pipeline", pipeline_id, pipeline_version_id))))


def delete_pipeline_version(pipeline_id: str, pipeline_version_id: str) -> Flow[None]:
    yield Call("DELETE", api_path("pipeline", pipeline_id, pipeline_version_id), expect="none")
