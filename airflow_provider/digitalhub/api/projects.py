"""DHCore projects, and the server's auth check (seed 002; wire: reference/digitalhub.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_provider.common.errors import NotFoundError
from airflow_provider.common.flow import Call, Flow, Now
from airflow_provider.common.transport import quote_segment as q
from airflow_provider.digitalhub.models import Project


def sdk_timestamp(now: float) -> str:
    # the SDK's own timestamps (isoformat with +00:00); DHCore replaces them with its own
    return dt.datetime.fromtimestamp(now, tz=dt.UTC).isoformat()


def get_project(name: str) -> Flow[Project]:
    data = yield Call("GET", f"/api/v1/projects/{q(name)}")
    return Project.model_validate(data)


def create_project(
    name: str, description: str | None = None, labels: list[str] | None = None, config: dict[str, Any] | None = None, source: str | None = None, **spec: Any
) -> Flow[Project]:
    """Create a project with the body the SDK's ``new_project`` sends: an empty ``spec`` of that
    shape (``source``, ``functions``, ``artifacts``, ``workflows``, ``dataitems``, ``models``,
    ``config``) and ``status.state = CREATED``; extra ``spec`` fields are merged in."""
    now = sdk_timestamp((yield Now()))
    metadata: dict[str, Any] = {"project": name, "name": name}
    if description is not None:
        metadata["description"] = description
    if labels is not None:
        metadata["labels"] = list(labels)
    body = {
        "kind": "project",
        "metadata": {**metadata, "created": now, "updated": now},
        "spec": {
            "source": source if source is not None else "./",
            "functions": [], "artifacts": [], "workflows": [], "dataitems": [], "models": [],
            "config": dict(config or {}), **spec,
        },
        "status": {"state": "CREATED"},
        "id": name, "name": name, "key": f"store://{name}",
    }  # fmt: skip
    data = yield Call("POST", "/api/v1/projects", json=body)
    return Project.model_validate(data)


def get_or_create_project(
    name: str, description: str | None = None, labels: list[str] | None = None, config: dict[str, Any] | None = None, context: str | None = None, **spec: Any
) -> Flow[Project]:
    """The project, created as the SDK creates it when it does not exist (``context`` is the SDK's
    name for the project's ``source`` folder)."""
    try:
        return (yield from get_project(name))
    except NotFoundError:
        return (yield from create_project(name, description, labels, config, context, **spec))


def auth_check() -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", "/api/auth")) or {})
