"""Package metadata and provider info: the same URLs, every module registered, nothing pointing nowhere."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

from airflow_provider import PLATFORMS, PROJECT_URLS, get_provider_info

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
BLOB = "/blob/main/"


def test_provider_info_carries_the_project_urls() -> None:
    assert PYPROJECT["project"]["urls"] == PROJECT_URLS
    info = get_provider_info()
    assert info["project-urls"] == PROJECT_URLS
    assert info["documentation-url"] == PROJECT_URLS["Documentation"]


@pytest.mark.parametrize("name", ["Documentation", "Changelog"])
def test_document_urls_name_files_of_this_repository(name: str) -> None:
    url = PROJECT_URLS[name]
    assert url.startswith(PROJECT_URLS["Source"] + BLOB), url
    assert (ROOT / url.split(BLOB, 1)[1]).is_file(), f"{name} URL {url} names a file this checkout lacks"


def _platform_modules(kind: str) -> set[str]:
    names = set()
    for platform in PLATFORMS:
        for path in (ROOT / "airflow_provider" / platform).glob("*.py"):
            if path.stem == kind or path.stem.endswith("_" + kind):
                names.add(f"airflow_provider.{platform}.{path.stem}")
    return names


@pytest.mark.parametrize("kind", ["operators", "sensors"])
def test_every_operator_and_sensor_module_is_registered(kind: str) -> None:
    registered = {m for entry in get_provider_info()[kind] for m in entry["python-modules"]}
    assert _platform_modules(kind) <= registered, f"missing from provider info: {_platform_modules(kind) - registered}"


def test_every_registered_module_and_class_imports() -> None:
    info = get_provider_info()
    for key in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[key]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for dotted in [*info["extra-links"], *(c["hook-class-name"] for c in info["connection-types"])]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def test_airflow_lists_the_provider_with_its_documentation_url() -> None:
    from airflow.providers_manager import ProvidersManager

    provider = ProvidersManager().providers["airflow-provider"]
    assert provider.data["documentation-url"] == PROJECT_URLS["Documentation"]


def test_every_link_class_is_registered_and_every_waiting_task_has_a_platform_label() -> None:
    from airflow_provider.common.operator import RemoteJobOperator
    from airflow_provider.common.sensor import RemoteJobSensor

    registered = set(get_provider_info()["extra-links"])
    defined = {"airflow_provider.common.links.RemoteRunLink"}
    for platform in PLATFORMS:
        module = importlib.import_module(f"airflow_provider.{platform}.links")
        defined |= {f"{module.__name__}.{name}" for name, value in vars(module).items() if isinstance(value, type) and value.__module__ == module.__name__}
    assert defined == registered
    waiting = []
    for kind in ("operators", "sensors"):
        for module in sorted(_platform_modules(kind)):
            for value in vars(importlib.import_module(module)).values():
                if isinstance(value, type) and issubclass(value, RemoteJobOperator | RemoteJobSensor) and value.__module__ == module:
                    waiting.append(value)
    assert len(waiting) >= 13
    for cls in waiting:
        names = [link.name for link in cls.operator_extra_links]
        assert len(names) == 1 and names[0] != "Remote run" and names[0].split()[0] in ("Dataiku", "DigitalHub", "Aqueduct", "PaddleFlow"), (
            cls.__name__,
            names,
        )
