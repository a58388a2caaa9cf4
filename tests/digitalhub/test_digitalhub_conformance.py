"""The official ``digitalhub`` SDK against the emulator: proof the emulator speaks DHCore's protocol.

The SDK pins an older python-dateutil and pulls pyarrow/boto3, so it lives in its own venv
(``.venv/conformance-digitalhub``, created with uv on first use and reused) and runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "conformance-digitalhub"
PINS = ["digitalhub==0.15.11", "digitalhub-runtime-python==0.15.2"]

SCRIPT = r"""
import json, time
import digitalhub as dh

out = {}
project = dh.get_or_create_project("conformance")
fn = project.new_function(name="hello", kind="python", python_version="PYTHON3_10", code="def main(x):\n    return x\n", handler="main")
run = fn.run(action="job", parameters={"x": 1})
out["created_state"] = run.status.state
task = run.spec.task
out["key_by_key"] = dh.get_run(run.key).id
out["key_by_id"] = dh.get_run(run.id, project="conformance").id
second = dh.new_run(project="conformance", kind="python+job:run", task=task, labels=["sdk"], parameters={"x": 2})
out["new_run_labels"] = second.metadata.labels
for _ in range(60):
    run.refresh()
    if run.status.state in ("COMPLETED", "ERROR"):
        break
    time.sleep(0.1)
out["final_state"] = run.status.state
out["logs"] = [entry.text or "" for entry in run.logs()]  # the SDK decodes the base64 content itself
out["listed"] = sorted(r.id for r in dh.list_runs("conformance"))
out["ids"] = sorted([run.id, second.id])
second.metadata.description = "updated by sdk"
dh.update_run(second)
out["updated"] = dh.get_run(second.key).metadata.description
dh.delete_run(second.key)
time.sleep(0.3)
out["after_delete"] = sorted(r.id for r in dh.list_runs("conformance"))
print(json.dumps(out, default=str))
"""


def _sdk_python() -> str:
    python = VENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import digitalhub, digitalhub_runtime_python"], capture_output=True).returncode:
        uv = Path(sys.executable).with_name("uv")
        subprocess.run([str(uv), "venv", "-q", "-p", "python3.11", str(VENV)], check=True)
        subprocess.run([str(uv), "pip", "install", "-q", "-p", str(python), *PINS], check=True, timeout=600)
    return str(python)


def test_official_sdk_creates_reads_lists_updates_deletes(dhcore: Any, tmp_path: Path) -> None:
    from airflow_provider.testing.digitalhub import BASIC_PASSWORD, BASIC_USER

    env = {**os.environ, "DHCORE_ENDPOINT": dhcore[1].url, "DHCORE_USER": BASIC_USER, "DHCORE_PASSWORD": BASIC_PASSWORD, "HOME": str(tmp_path)}
    env.pop("DH_CONFIG", None)
    proc = subprocess.run([_sdk_python(), "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["created_state"] == "READY"
    assert out["key_by_key"] == out["key_by_id"]
    assert out["new_run_labels"] == ["sdk"]
    assert out["final_state"] == "COMPLETED"
    assert any("handler returned 1" in entry for entry in out["logs"]), out["logs"]
    assert out["listed"] == out["ids"]
    assert out["updated"] == "updated by sdk"
    assert len(out["after_delete"]) == 1
    paths = [c.path for c in dhcore[0].faults.calls(path_contains="/conformance/")]
    assert "/api/v1/-/conformance/runs" in paths and any(p.endswith("/logs") for p in paths)
