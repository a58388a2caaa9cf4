"""PaddleFlow part of ``get_provider_info()``."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.provider import PORT_HINT, connection_type, platform_info

PROVIDER_INFO: dict[str, Any] = platform_info(
    "paddleflow",
    "PaddleFlow",
    "https://github.com/PaddlePaddle/PaddleFlow",
    links=["PaddleFlowRunLink"],
    connection=connection_type(
        conn_type="paddleflow",
        hook="airflow_provider.paddleflow.hook.PaddleFlowHook",
        name="PaddleFlow",
        hidden=["schema"],
        relabeling={"host": "PaddleFlow server", "login": "User", "password": "Password"},
        placeholders={"host": "http://paddleflow.example.com", "port": PORT_HINT.format(port=8999), "login": "root"},
    ),
)
