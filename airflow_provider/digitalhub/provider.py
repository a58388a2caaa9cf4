"""DigitalHub part of ``get_provider_info()``."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import connection_type

PROVIDER_INFO: dict[str, Any] = {
    "integrations": [{"integration-name": "DigitalHub", "external-doc-url": "https://scc-digitalhub.github.io/", "tags": ["software"]}],
    "connection-types": [
        connection_type(
            conn_type="digitalhub",
            hook="airflow_provider.digitalhub.hook.DigitalHubHook",
            name="DigitalHub (DHCore)",
            hidden=["schema"],
            relabeling={"host": "DHCore endpoint", "password": "Password or access token"},
            placeholders={"host": "https://dhcore.example.com", "login": "admin (basic auth only)"},
            fields={
                "auth_type": {"label": "Auth", "schema": {"type": ["string", "null"], "enum": ["basic", "token", "none", None]}},
                "token": {"label": "Access token", "schema": {"type": ["string", "null"], "format": "password"}},
            },
        )
    ],
    "hooks": [{"integration-name": "DigitalHub", "python-modules": ["airflow_provider.digitalhub.hook"]}],
    "operators": [{"integration-name": "DigitalHub", "python-modules": ["airflow_provider.digitalhub.operators"]}],
    "sensors": [{"integration-name": "DigitalHub", "python-modules": ["airflow_provider.digitalhub.sensors"]}],
}
