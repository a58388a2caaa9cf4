"""Pieces of ``get_provider_info()`` that every platform's connection type repeats."""

from __future__ import annotations

from typing import Any

#: Airflow 3.3's Test button sends ``Number(port)``, so an empty Port reaches the api-server as 0,
#: differs from the stored NULL, and is refused with 400 "The host or port to test differs from the
#: stored connection": the form asks for the port in Port (the URL in Host may carry one too).
PORT_HINT = "{port} (fill in: the Test button needs it)"

# no "null" in the types: the form would offer and save null
COMMON_CONN_FIELDS: dict[str, Any] = {
    "verify_ssl": {"label": "Verify TLS certificates", "schema": {"type": "boolean", "default": True}},
    "connect_timeout": {"label": "Connect timeout (s)", "schema": {"type": "number", "default": 10}},
    "read_timeout": {"label": "Read timeout (s)", "schema": {"type": "number", "default": 60}},
    "retry_attempts": {"label": "Attempts per request (429/5xx/connect errors)", "schema": {"type": "integer", "default": 6}},
    "retry_budget": {"label": "Seconds of retrying per request", "schema": {"type": "number", "default": 60}},
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


def platform_info(platform: str, integration: str, doc_url: str, links: list[str], connection: dict[str, Any]) -> dict[str, Any]:
    """A platform's whole part of ``get_provider_info()``: every platform has the same module set
    (``tests/test_shape.py``), so only the names, the links and the connection type differ."""

    def modules(leaf: str) -> list[dict[str, Any]]:
        return [{"integration-name": integration, "python-modules": [f"airflow_provider.{platform}.{leaf}"]}]

    return {
        "integrations": [{"integration-name": integration, "external-doc-url": doc_url, "tags": ["software"]}],
        "connection-types": [connection],
        "hooks": modules("hook"),
        "operators": modules("operators"),
        "sensors": modules("sensors"),
        "triggers": modules("events"),
        "extra-links": [f"airflow_provider.{platform}.links.{name}" for name in links],
    }
