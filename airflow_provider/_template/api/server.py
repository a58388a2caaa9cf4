"""Acme's server-level calls: who the credentials belong to (the connection test)."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.flow import Call, Flow


def whoami() -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", "/api/me")) or {})
