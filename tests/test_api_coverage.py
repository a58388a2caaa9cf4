"""docs/api-coverage.md names a hook method for every seed method; each must exist, sync and async."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api-coverage.md"
ROW = re.compile(r"^\|\s*`?([A-Za-z_][\w.]*)`?\s*\|\s*`?([A-Za-z_]\w*)\.(\w+)`?\s*\|\s*(.*?)\s*\|\s*$")
HOOK_MODULES = {
    "DataikuHook": "airflow_provider.dataiku.hook",
    "DigitalHubHook": "airflow_provider.digitalhub.hook",
    "AqueductHook": "airflow_provider.aqueduct.hook",
    "PaddleflowHook": "airflow_provider.paddleflow.hook",
}


def rows() -> list[tuple[str, str, str, str]]:
    found = []
    for line in DOC.read_text().splitlines():
        m = ROW.match(line)
        if m and m.group(1) not in ("ClassName.method", "seed method"):
            found.append((m.group(1), m.group(2), m.group(3), m.group(4)))
    return found


def test_doc_has_rows() -> None:
    assert len(rows()) >= 40, "docs/api-coverage.md lost its table rows"


@pytest.mark.parametrize(("seed", "hook", "method", "operator"), rows(), ids=lambda v: str(v))
def test_hook_method_exists(seed: str, hook: str, method: str, operator: str) -> None:
    assert hook in HOOK_MODULES, f"{seed}: unknown hook class {hook}"
    module = importlib.import_module(HOOK_MODULES[hook])
    sync_cls = getattr(module, hook)
    async_cls = getattr(module, hook.replace("Hook", "AsyncHook"))
    assert callable(getattr(sync_cls, method, None)), f"{seed}: {hook}.{method} is missing"
    assert callable(getattr(async_cls, method, None)), f"{seed}: {async_cls.__name__}.{method} is missing"
    for name in re.findall(r"`?([A-Z]\w+(?:Operator|Sensor))`?", operator):
        assert any(hasattr(importlib.import_module(m), name) for m in _operator_modules(hook)), f"{seed}: {name} not found"


def _operator_modules(hook: str) -> list[str]:
    platform = HOOK_MODULES[hook].split(".")[1]
    out = []
    for leaf in ("operators", "sensors"):
        try:
            importlib.import_module(f"airflow_provider.{platform}.{leaf}")
            out.append(f"airflow_provider.{platform}.{leaf}")
        except ModuleNotFoundError:
            pass
    return out
