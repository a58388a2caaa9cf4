"""One shape for every platform: the same module set, everything registered with Airflow, one name per idea."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from airflow_provider import PLATFORMS, get_provider_info

#: what every platform package holds (docs/ARCHITECTURE.md, docs/adding-a-platform.md)
MODULE_SET = {"api", "models", "states", "hook", "jobs", "events", "operators", "sensors", "links", "provider"}
#: the modules Airflow must be told about, by provider-info key
REGISTERED = {"hooks": "hook", "operators": "operators", "sensors": "sensors", "triggers": "events"}


def _modules(package: str) -> dict[str, bool]:
    """name -> is a package, for the direct children of ``package``."""
    path = importlib.import_module(package).__path__
    return {info.name: info.ispkg for info in pkgutil.iter_modules(path)}


def _classes(module: ModuleType) -> list[type]:
    return [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_package_has_the_same_module_set(platform: str) -> None:
    children = _modules(f"airflow_provider.{platform}")
    assert set(children) == MODULE_SET, f"{platform}: extra {set(children) - MODULE_SET}, missing {MODULE_SET - set(children)}"
    assert children["api"], f"{platform}.api must be a package (one module per resource family)"
    families = _modules(f"airflow_provider.{platform}.api")
    assert len(families) >= 2 and not any(families.values()), families
    states = importlib.import_module(f"airflow_provider.{platform}.states")
    assert states.FINAL_STATES and states.STATE_PHASE, f"{platform}.states must define FINAL_STATES and STATE_PHASE"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_emulator_is_a_package_under_testing(platform: str) -> None:
    assert _modules("airflow_provider.testing").get(platform) is True, f"airflow_provider/testing/{platform}/ must be a package"
    emulator = importlib.import_module(f"airflow_provider.testing.{platform}")
    assert callable(emulator.create_app) and callable(emulator.connection)


def test_provider_info_registers_every_hook_operator_sensor_trigger_and_link() -> None:
    from airflow.sdk import BaseOperator, BaseOperatorLink
    from airflow.triggers.base import BaseTrigger

    from airflow_provider.common.hook import SyncPlatformHook

    info = get_provider_info()
    registered = {key: {m for entry in info[key] for m in entry["python-modules"]} for key in REGISTERED}
    links = set(info["extra-links"])
    hooks = {c["hook-class-name"] for c in info["connection-types"]}
    for platform in PLATFORMS:
        for key, leaf in REGISTERED.items():
            assert f"airflow_provider.{platform}.{leaf}" in registered[key], (platform, key)
        for name in sorted(MODULE_SET - {"api"}):
            module = importlib.import_module(f"airflow_provider.{platform}.{name}")
            for cls in _classes(module):
                path = f"{module.__name__}.{cls.__name__}"
                if issubclass(cls, BaseOperatorLink):
                    assert path in links, f"link {path} is not in extra-links"
                elif issubclass(cls, BaseTrigger):
                    assert module.__name__ in registered["triggers"], f"trigger {path} lives in an unregistered module"
                elif issubclass(cls, BaseOperator) and not inspect.isabstract(cls):
                    kind = "sensors" if "Sensor" in cls.__name__ else "operators"
                    assert module.__name__ in registered[kind], f"{path} lives in an unregistered {kind} module"
                elif issubclass(cls, SyncPlatformHook):
                    assert path in hooks, f"hook {path} is no connection type's hook"
    for dotted in links | hooks:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def test_one_name_per_idea() -> None:
    from airflow.sdk import BaseOperator

    names = []
    for platform in PLATFORMS:
        for leaf in ("operators", "sensors"):
            for cls in _classes(importlib.import_module(f"airflow_provider.{platform}.{leaf}")):
                if not issubclass(cls, BaseOperator):
                    continue
                names.append(cls.__name__)
                params = inspect.signature(cls.__init__).parameters
                conn = [p for p in params if p.endswith("conn_id")]
                assert conn == [f"{platform}_conn_id"], f"{cls.__name__}: the connection argument is {platform}_conn_id, got {conn}"
                if "on_conflict" in params:
                    from airflow_provider.dataiku.operators import ON_CONFLICT

                    assert params["on_conflict"].default in ON_CONFLICT, cls.__name__
    prefixes = {"dataiku": "Dataiku", "digitalhub": "DigitalHub", "aqueduct": "Aqueduct", "paddleflow": "PaddleFlow"}
    assert all(any(n.startswith(p) for p in prefixes.values()) for n in names), names
    assert not [n for n in names if n.startswith("Paddleflow")]
