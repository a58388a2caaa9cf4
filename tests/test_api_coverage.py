"""docs/api-coverage.md names a hook method for every seed method; each must exist, sync and async."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api-coverage.md"
ROW = re.compile(r"^\|\s*`?([A-Za-z_][\w.]*)`?\s*\|\s*`?([A-Za-z_]\w*)\.(\w+)`?\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*$")
SECTION = re.compile(r"^## .*\(seed (\d{3})\)")
WIRE = re.compile(r"^(unchecked|identical( \(.+\))?|(equivalent|differs|no request) \(.+\))$")
#: seed sections whose wire column is filled in (no ``unchecked`` left)
WIRE_CHECKED: set[str] = {"000", "001", "002", "003", "004"}
HOOK_MODULES = {
    "DataikuHook": "airflow_provider.dataiku.hook",
    "DigitalHubHook": "airflow_provider.digitalhub.hook",
    "AqueductHook": "airflow_provider.aqueduct.hook",
    "PaddleFlowHook": "airflow_provider.paddleflow.hook",
}


def rows() -> list[tuple[str, str, str, str]]:
    return [row[1:5] for row in wire_rows()]


def wire_rows() -> list[tuple[str, str, str, str, str, str]]:
    """(seed section, seed method, hook class, hook method, operator, wire) per table row."""
    found = []
    section = ""
    for line in DOC.read_text().splitlines():
        if heading := SECTION.match(line):
            section = heading.group(1)
        m = ROW.match(line)
        if m and m.group(1) not in ("ClassName.method", "seed method"):
            found.append((section, *m.groups()))
    return found


def test_doc_has_rows() -> None:
    assert len(rows()) >= 40, "docs/api-coverage.md lost its table rows"
    assert {r[0] for r in wire_rows()} >= {"000", "001", "002", "003", "004"}, "a seed section lost its heading"


def test_wire_column_follows_the_format() -> None:
    bad = [f"{seed}: {wire!r}" for _, seed, _, _, _, wire in wire_rows() if not WIRE.match(wire)]
    assert not bad, "wire cells must be identical / equivalent (why) / differs (why) / no request (why):\n" + "\n".join(bad)
    left = [f"{section} {seed}" for section, seed, *_, wire in wire_rows() if section in WIRE_CHECKED and wire == "unchecked"]
    assert not left, "wire not compared yet:\n" + "\n".join(left)


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
