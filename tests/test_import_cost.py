"""DAG files import operators at parse time: operator and sensor modules must stay light.

Checked in a fresh interpreter: importing them may not pull in hooks, endpoint models, jobs or
``requests`` (those load when a task runs).
"""

from __future__ import annotations

import json
import subprocess
import sys

from airflow_provider import PLATFORMS

PROBE = """
import importlib, json, sys
import airflow.sdk
before = set(sys.modules)
loaded = []
for platform in {platforms}:
    for leaf in ("operators", "sensors"):
        importlib.import_module(f"airflow_provider.{{platform}}.{{leaf}}")
        loaded.append(f"{{platform}}.{{leaf}}")
print(json.dumps({{"loaded": loaded, "new": sorted(set(sys.modules) - before)}}))
"""

HEAVY = (".api", ".hook", ".jobs", ".models")


def test_operator_modules_import_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE.format(platforms=list(PLATFORMS))], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "dataiku.operators" in result["loaded"]
    platform_modules = [m for m in result["new"] if m.startswith("airflow_provider.") and not m.startswith("airflow_provider.common.")]
    heavy = [m for m in result["new"] if m == "requests"] + [m for m in platform_modules if any(part in m for part in HEAVY)]
    assert heavy == [], f"imported at DAG parse time: {heavy}"
