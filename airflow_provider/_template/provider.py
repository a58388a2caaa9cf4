"""Acme's part of ``get_provider_info()`` (add the package name to ``PLATFORMS`` in ``airflow_provider/__init__.py``)."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import PORT_HINT, connection_type, platform_info

PROVIDER_INFO: dict[str, Any] = platform_info(
    "_template",
    "Acme",
    "https://acme.example.com/docs/api",
    links=["AcmeRunLink"],
    connection=connection_type(
        conn_type="acme",
        hook="airflow_provider._template.hook.AcmeHook",
        name="Acme",
        hidden=["schema", "login"],
        relabeling={"host": "Acme URL", "password": "API token"},
        placeholders={"host": "https://acme.example.com", "port": PORT_HINT.format(port=443)},
    ),
)
