"""PaddleFlow part of ``get_provider_info()``."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import PORT_HINT, connection_type

PROVIDER_INFO: dict[str, Any] = {
    "integrations": [{"integration-name": "PaddleFlow", "external-doc-url": "https://github.com/PaddlePaddle/PaddleFlow", "tags": ["software"]}],
    "connection-types": [
        connection_type(
            conn_type="paddleflow",
            hook="airflow_provider.paddleflow.hook.PaddleflowHook",
            name="PaddleFlow",
            hidden=["schema"],
            relabeling={"host": "PaddleFlow server", "login": "User", "password": "Password"},
            placeholders={"host": "http://paddleflow.example.com", "port": PORT_HINT.format(port=8999), "login": "root"},
        )
    ],
    "hooks": [{"integration-name": "PaddleFlow", "python-modules": ["airflow_provider.paddleflow.hook"]}],
    "operators": [{"integration-name": "PaddleFlow", "python-modules": ["airflow_provider.paddleflow.operators"]}],
    "sensors": [{"integration-name": "PaddleFlow", "python-modules": ["airflow_provider.paddleflow.sensors"]}],
}
