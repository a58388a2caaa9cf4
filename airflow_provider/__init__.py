"""Airflow provider for Dataiku DSS, DigitalHub, Aqueduct and PaddleFlow."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

PLATFORMS = ("dataiku", "digitalhub", "aqueduct", "paddleflow")
_LISTS = ("connection-types", "hooks", "operators", "sensors", "triggers", "extra-links", "integrations")


def get_provider_info() -> dict[str, Any]:
    """Entry point read by Airflow's ProvidersManager (kept import-light: no Airflow imports)."""
    info: dict[str, Any] = {
        "package-name": "airflow-provider",
        "name": "ML and data platforms (Dataiku DSS, DigitalHub, Aqueduct, PaddleFlow)",
        "description": "Hooks, deferrable operators, sensors and emulators for Dataiku DSS, DigitalHub, Aqueduct and PaddleFlow.",
        "versions": [__version__],
        "triggers": [{"integration-name": "Remote jobs", "python-modules": ["airflow_provider.common.trigger"]}],
        "extra-links": ["airflow_provider.common.links.RemoteRunLink"],
    }
    for platform in PLATFORMS:
        try:
            module = importlib.import_module(f"airflow_provider.{platform}.provider")
        except ModuleNotFoundError:
            continue
        for key in _LISTS:
            info.setdefault(key, []).extend(module.PROVIDER_INFO.get(key, []))
    return info
