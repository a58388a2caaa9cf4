"""DigitalHub part of ``get_provider_info()``."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import PORT_HINT, connection_type, platform_info

PROVIDER_INFO: dict[str, Any] = platform_info(
    "digitalhub",
    "DigitalHub",
    "https://scc-digitalhub.github.io/",
    links=["DigitalHubRunLink"],
    connection=connection_type(
        conn_type="digitalhub",
        hook="airflow_provider.digitalhub.hook.DigitalHubHook",
        name="DigitalHub (DHCore)",
        hidden=["schema"],
        relabeling={"host": "DHCore endpoint", "password": "Password or access token"},
        placeholders={
            "host": "https://dhcore.example.com",
            "port": PORT_HINT.format(port=443),
            "login": "admin (basic auth only)",
            "password": "basic: the password; token: the access token",
        },
        fields={
            # one secret input: Password holds the password (basic) or the access token (token); the
            # hook still reads a legacy extra "token", but the form does not offer a second one
            "auth_type": {"label": "Auth", "schema": {"type": "string", "enum": ["basic", "token", "none"], "default": "basic"}},
        },
    ),
)
