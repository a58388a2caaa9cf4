"""docs/adding-a-platform.md works: the template, copied and renamed as the guide says, is a toy
platform whose operator and sensor run in real Airflow against the toy emulator."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import airflow_provider
from airflow_provider.testing.airflow_env import run_dag, task_outcomes

TEMPLATE = Path(airflow_provider.__file__).parent / "_template"


def _copy_as(name: str, dest: Path) -> Path:
    """The guide's two steps: ``cp -r airflow_provider/_template airflow_provider/<name>``, then
    ``sed -i 's/_template/<name>/g; s/acme/<name>/g; s/Acme/<Name>/g'`` on every file."""
    target = dest / name
    shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py"):
        text = path.read_text()
        text = re.sub("_template", name, text)
        text = re.sub("acme", name, text)
        path.write_text(re.sub("Acme", name.capitalize(), text))
    return target


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ModuleType]]:
    root = tmp_path_factory.mktemp("platforms")
    _copy_as("toy", root)
    # as if the package sat in airflow_provider/: triggers only ever import classes from there
    airflow_provider.__path__.append(str(root))
    try:
        yield "toy", importlib.import_module("airflow_provider.toy")
    finally:
        airflow_provider.__path__.remove(str(root))
        for mod in [m for m in sys.modules if m.startswith("airflow_provider.toy")]:
            del sys.modules[mod]


@pytest.fixture(scope="module")
def toy_server(toy: tuple[str, ModuleType]) -> Iterator[object]:
    from airflow_provider.testing import _template as emulator

    app = emulator.create_app(duration=1.0)
    server = app.serve()
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_CONN_TOY_DEFAULT", json.dumps({**emulator.connection(server.url), "conn_type": "toy"}))
    try:
        yield app
    finally:
        mp.undo()
        server.stop()


def test_the_copy_has_the_module_set_of_every_platform(toy: tuple[str, ModuleType]) -> None:
    import pkgutil

    found = {m.name for m in pkgutil.iter_modules(toy[1].__path__)}
    assert found == {m.name for m in pkgutil.iter_modules(importlib.import_module("airflow_provider.dataiku").__path__)}
    info = importlib.import_module("airflow_provider.toy.provider").PROVIDER_INFO
    assert info["connection-types"][0]["hook-class-name"] == "airflow_provider.toy.hook.ToyHook"
    for key in ("hooks", "operators", "sensors", "triggers"):
        for module in info[key][0]["python-modules"]:
            importlib.import_module(module)
    assert info["extra-links"] == ["airflow_provider.toy.links.ToyRunLink"]


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("deferrable", [False, True])
def test_the_toy_operator_and_sensor_run_in_airflow(toy_server: object, deferrable: bool) -> None:
    from airflow.sdk import DAG

    operators = importlib.import_module("airflow_provider.toy.operators")
    sensors = importlib.import_module("airflow_provider.toy.sensors")
    with DAG(f"toy_{deferrable}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        run = operators.ToyRunOperator(task_id="run", name="train", poll_interval=0.2, deferrable=deferrable)
        watch = sensors.ToyRunSensor(task_id="watch", run_id="{{ ti.xcom_pull('run')['run_id'] }}", poke_interval=0.2, deferrable=deferrable)
        operators.ToyRunOperator(task_id="bad", name="fail", poll_interval=0.2, deferrable=deferrable)
        run >> watch
    runs = toy_server.state.runs  # type: ignore[attr-defined]
    before = len(runs)
    outcomes = task_outcomes(run_dag(dag))
    assert outcomes["run"]["state"] == "success" and outcomes["run"]["result"]["state"] == "SUCCEEDED", outcomes
    assert outcomes["watch"]["state"] == "success", outcomes
    assert outcomes["bad"]["state"] == "failed", outcomes
    assert sorted(r["name"] for r in list(runs.values())[before:]) == ["fail", "train"], "one remote run per task, no duplicate"
