"""Airflow provider for Dataiku DSS, DigitalHub, Aqueduct and PaddleFlow."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_REPO = "https://github.com/airflow-provider/airflow-provider"
# the same as [project.urls] in pyproject.toml (a test compares them); Airflow reads "Documentation"
# from the wheel's metadata for Admin -> Providers, this copy serves tools that read the provider info
PROJECT_URLS: dict[str, str] = {
    "Homepage": _REPO,
    "Documentation": f"{_REPO}/blob/main/docs/index.md",
    "Source": _REPO,
    "Changelog": f"{_REPO}/blob/main/CHANGELOG.md",
    "Issues": f"{_REPO}/issues",
}

PLATFORMS = ("dataiku", "digitalhub", "aqueduct", "paddleflow")
_LISTS = ("connection-types", "hooks", "operators", "sensors", "triggers", "extra-links", "integrations")


def get_provider_info() -> dict[str, Any]:
    """Entry point read by Airflow's ProvidersManager (kept import-light: no Airflow imports)."""
    info: dict[str, Any] = {
        "package-name": "airflow-provider",
        "name": "ML and data platforms (Dataiku DSS, DigitalHub, Aqueduct, PaddleFlow)",
        "description": "Hooks, deferrable operators, sensors and emulators for Dataiku DSS, DigitalHub, Aqueduct and PaddleFlow.",
        "versions": [__version__],
        "documentation-url": PROJECT_URLS["Documentation"],
        "project-urls": dict(PROJECT_URLS),
        "triggers": [{"integration-name": "Remote jobs", "python-modules": ["airflow_provider.common.trigger"]}],
        # each platform adds its own labelled links; the generic one serves operators outside the four
        "extra-links": ["airflow_provider.common.links.RemoteRunLink"],
    }
    from airflow_provider.common.assets import provider_info as asset_uris

    info["asset-uris"] = asset_uris()
    for platform in PLATFORMS:
        try:
            module = importlib.import_module(f"airflow_provider.{platform}.provider")
        except ModuleNotFoundError:
            continue
        for key in _LISTS:
            info.setdefault(key, []).extend(module.PROVIDER_INFO.get(key, []))
    return info
