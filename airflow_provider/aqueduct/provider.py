"""Aqueduct part of ``get_provider_info()``."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import PORT_HINT, connection_type, platform_info

PROVIDER_INFO: dict[str, Any] = platform_info(
    "aqueduct",
    "Aqueduct",
    "https://github.com/AqueductHub/aqueductcore",
    links=["AqueductExperimentLink"],
    connection=connection_type(
        conn_type="aqueduct",
        hook="airflow_provider.aqueduct.hook.AqueductHook",
        name="Aqueduct",
        hidden=["schema", "login"],
        relabeling={"host": "Aqueduct URL", "password": "API token (optional)"},
        placeholders={"host": "https://aqueduct.example.com", "port": PORT_HINT.format(port=443)},
    ),
)
