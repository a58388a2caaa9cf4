"""The built wheel and sdist: metadata that twine accepts, and a wheel that works with no checkout.

The wheel goes into a fresh uv venv (its own interpreter, run from a temporary directory, so the
checkout is not importable) and runs the demo: every shipped example DAG against the emulators.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DAG_FILES = sorted(p.name for p in (ROOT / "airflow_provider" / "example_dags").glob("*.py") if p.name != "__init__.py")


def _uv() -> str:
    local = Path(sys.executable).parent / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    assert found, "uv is needed to build and install the wheel (scripts/bootstrap.sh installs it)"
    return found


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([_uv(), "build", "-q", "--out-dir", str(out), str(ROOT)], check=True, timeout=300)
    wheel, sdist = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheel) == 1 and len(sdist) == 1
    return {"wheel": wheel[0], "sdist": sdist[0]}


@pytest.fixture(scope="module")
def wheel_python(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    subprocess.run([_uv(), "venv", "-q", "-p", sys.executable, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([_uv(), "pip", "install", "-q", "-p", str(python), f"{dist['wheel']}[testing]"], check=True, timeout=600)
    yield python
    shutil.rmtree(venv, ignore_errors=True)


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON"))}
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_twine_accepts_wheel_and_sdist(dist: dict[str, Path]) -> None:
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dist["wheel"]), str(dist["sdist"])], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_wheel_metadata_shows_urls_classifiers_license_and_dependencies(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = whl.namelist()
        meta = email.message_from_bytes(whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
    assert meta["License-Expression"] == "Apache-2.0"
    assert {"LICENSE", "NOTICE"} <= set(meta.get_all("License-File"))
    urls = {u.split(",", 1)[0].strip(): u.split(",", 1)[1].strip() for u in meta.get_all("Project-URL")}
    assert {"Documentation", "Source", "Changelog", "Issues"} <= set(urls)
    classifiers = set(meta.get_all("Classifier"))
    assert {
        "Framework :: Apache Airflow",
        "Framework :: Apache Airflow :: Provider",
        "Typing :: Typed",
        "Programming Language :: Python :: 3.11",
    } <= classifiers
    runtime = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in meta.get_all("Requires-Dist") if "extra ==" not in r}
    assert runtime == {"apache-airflow", "requests", "httpx", "pydantic", "pyyaml"}
    for dag_file in SHIPPED_DAG_FILES:
        assert f"airflow_provider/example_dags/{dag_file}" in names
    assert any(n.endswith("licenses/LICENSE") for n in names) and "airflow_provider/py.typed" in names


def test_demo_from_the_wheel_runs_every_example_dag(wheel_python: Path, tmp_path: Path) -> None:
    where = _run(wheel_python, "-c", "import airflow_provider; print(airflow_provider.__file__)", cwd=tmp_path)
    assert str(wheel_python.parents[1]) in where.stdout, f"imported from outside the venv: {where.stdout}{where.stderr}"
    result = _run(wheel_python, "-m", "airflow_provider.testing", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counted = re.search(r"(\d+) of (\d+) DAG runs succeeded", result.stdout)
    assert counted and counted.group(1) == counted.group(2), result.stdout[-2000:]
    assert int(counted.group(2)) >= len(SHIPPED_DAG_FILES) >= 5


def test_demo_fails_on_an_empty_dag_folder(wheel_python: Path, tmp_path: Path) -> None:
    empty = tmp_path / "dags"
    empty.mkdir()
    result = _run(wheel_python, "-m", "airflow_provider.testing", "demo", "--dags-folder", str(empty), cwd=tmp_path)
    assert result.returncode != 0
    assert f"no DAGs found in {empty}" in result.stderr


FAILING_DAG = """
from airflow.sdk import DAG, task

with DAG("always_fails", schedule=None):
    @task
    def boom() -> None:
        raise RuntimeError("this DAG fails on purpose")

    boom()
"""


def test_demo_fails_when_a_dag_fails(wheel_python: Path, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "always_fails.py").write_text(FAILING_DAG)
    result = _run(wheel_python, "-m", "airflow_provider.testing", "demo", "--dags-folder", str(dags), cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "0 of 1 DAG runs succeeded" in result.stdout and "failed: always_fails" in result.stderr
