"""Pieces of ``get_provider_info()`` that every platform's connection type repeats."""

from __future__ import annotations

from typing import Any

COMMON_CONN_FIELDS: dict[str, Any] = {
    "verify_ssl": {"label": "Verify TLS certificates", "schema": {"type": ["boolean", "null"], "default": True}},
    "connect_timeout": {"label": "Connect timeout (s)", "schema": {"type": ["number", "null"], "default": 10}},
    "read_timeout": {"label": "Read timeout (s)", "schema": {"type": ["number", "null"], "default": 60}},
    "retry_attempts": {"label": "Attempts per request (429/5xx/connect errors)", "schema": {"type": ["integer", "null"], "default": 6}},
    "retry_budget": {"label": "Seconds of retrying per request", "schema": {"type": ["number", "null"], "default": 60}},
}


def connection_type(
    *,
    conn_type: str,
    hook: str,
    name: str,
    hidden: list[str],
    relabeling: dict[str, str],
    placeholders: dict[str, str],
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "connection-type": conn_type,
        "hook-class-name": hook,
        "hook-name": name,
        "ui-field-behaviour": {"hidden-fields": hidden, "relabeling": relabeling, "placeholders": placeholders},
        "conn-fields": {**(fields or {}), **COMMON_CONN_FIELDS},
    }
