"""The official ``pyaqueduct==0.1.0`` client against the emulator (released generation).

pyaqueduct pins ``httpx<0.25`` while Airflow 3 needs ``httpx>=0.25``, so the client lives in its own
venv (``.venv/conformance-aqueduct``, created with uv on first use and reused), run in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "conformance-aqueduct"

SCRIPT = r"""
import json, os, sys, tempfile
from pyaqueduct import API
api = API(sys.argv[1], timeout=30)
out = {}
exp = api.create_experiment("Conformance", "made by pyaqueduct")
out["eid"] = exp.eid
out["found"] = [e.eid for e in api.find_experiments(search="Conformance", limit=10)]
exp.add_tags(["pyaq", "Lab"])
out["tags"] = exp.tags
exp.remove_tag("lab")
out["tags_after"] = exp.tags
src = os.path.join(tempfile.mkdtemp(), "in.txt")
open(src, "w").write("payload-123")
exp.upload_file(src)
out["files"] = [f[0] for f in exp.files]
dest = tempfile.mkdtemp()
exp.download_file("in.txt", dest)
out["downloaded"] = open(os.path.join(dest, "in.txt")).read()
(ext,) = [e for e in api.get_extensions() if e.name == "demo"]
(echo,) = [a for a in ext.actions if a.name == "echo"]
res = echo.execute({"experiment": exp.eid, "message": "hi", "count": 2, "flag": True, "mode": "fast"})
out["exec"] = {"code": res.returnCode, "stdout": res.stdout, "log": res.logFile}
out["by_uuid_files"] = sorted(f[0] for f in api.get_experiment_by_uuid(exp.uuid).files)
api.remove_experiment_by_eid(exp.eid)
try:
    api.get_experiment_by_eid(exp.eid)
    out["after_remove"] = "still there"
except Exception as exc:
    out["after_remove"] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""

EXECUTE_ONLY = r"""
import sys
from pyaqueduct import API
api = API(sys.argv[1], timeout=30)
exp = api.create_experiment("gen check", "")
(echo,) = [a for e in api.get_extensions() for a in e.actions if a.name == "echo"]
try:
    echo.execute({"experiment": exp.eid, "message": "hi", "count": 1, "flag": False, "mode": "fast"})
    print("executed")
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def _client_python() -> str:
    python = VENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import pyaqueduct"], capture_output=True).returncode:
        uv = Path(sys.executable).with_name("uv")
        subprocess.run([str(uv), "venv", "-q", "-p", "python3.11", str(VENV)], check=True)
        subprocess.run([str(uv), "pip", "install", "-q", "-p", str(python), "pyaqueduct==0.1.0"], check=True, timeout=600)
    return str(python)


def _run(script: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_client_python(), "-c", script, url], capture_output=True, text=True, timeout=300)


def test_pyaqueduct_creates_finds_tags_uploads_downloads_executes(aq_released: Any) -> None:
    proc = _run(SCRIPT, aq_released[1].url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["eid"] in out["found"]
    assert out["tags"] == ["pyaq", "Lab"] and out["tags_after"] == ["pyaq"]
    assert out["files"] == ["in.txt"] and out["downloaded"] == "payload-123"
    assert out["exec"]["code"] == 0 and "message=hi count=2 flag=1 mode=fast" in out["exec"]["stdout"]
    assert out["by_uuid_files"] == sorted(["in.txt", out["exec"]["log"]])
    assert "Non-existing experiment with the specified eid" in out["after_remove"]


def test_pyaqueduct_cannot_execute_on_the_task_generation_as_on_the_real_server(aq_tasks: Any) -> None:
    proc = _run(EXECUTE_ONLY, aq_tasks[1].url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RemoteOperationError" in proc.stdout and "Unknown argument 'params'" in proc.stdout
