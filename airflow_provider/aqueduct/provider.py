"""Aqueduct part of ``get_provider_info()``."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import PORT_HINT, connection_type

PROVIDER_INFO: dict[str, Any] = {
    "integrations": [{"integration-name": "Aqueduct", "external-doc-url": "https://github.com/AqueductHub/aqueductcore", "tags": ["software"]}],
    "connection-types": [
        connection_type(
            conn_type="aqueduct",
            hook="airflow_provider.aqueduct.hook.AqueductHook",
            name="Aqueduct",
            hidden=["schema", "login"],
            relabeling={"host": "Aqueduct URL", "password": "API token (optional)"},
            placeholders={"host": "https://aqueduct.example.com", "port": PORT_HINT.format(port=443)},
        )
    ],
    "hooks": [{"integration-name": "Aqueduct", "python-modules": ["airflow_provider.aqueduct.hook"]}],
    "operators": [{"integration-name": "Aqueduct", "python-modules": ["airflow_provider.aqueduct.operators"]}],
    "sensors": [{"integration-name": "Aqueduct", "python-modules": ["airflow_provider.aqueduct.sensors"]}],
}
