"""Dataiku DSS part of ``get_provider_info()``."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import PORT_HINT, connection_type, platform_info

PROVIDER_INFO: dict[str, Any] = platform_info(
    "dataiku",
    "Dataiku DSS",
    "https://doc.dataiku.com/dss/latest/publicapi/",
    links=["DataikuScenarioRunLink", "DataikuCodeStudioLink", "DataikuCodeStudioTemplateLink"],
    connection=connection_type(
        conn_type="dataiku",
        hook="airflow_provider.dataiku.hook.DataikuHook",
        name="Dataiku DSS",
        # the 3.3 UI can hide only standard fields (never the Extra JSON editor): list only those
        hidden=["schema", "login"],
        relabeling={"password": "API key", "host": "DSS URL"},
        placeholders={"host": "https://dss.example.com", "port": PORT_HINT.format(port=11200)},
        fields={
            "path_prefix": {"label": "API path prefix", "schema": {"type": "string", "default": "/public/api"}},
            "auth": {"label": "Send the key as", "schema": {"type": "string", "enum": ["basic", "bearer"], "default": "basic"}},
        },
    ),
)
