"""End to end with real Airflow processes: a deferred DSS wait survives a killed triggerer.

Starts api-server, scheduler, dag-processor and triggerer (LocalExecutor, SQLite) against the DSS
emulator, triggers a DAG whose task defers, SIGKILLs the triggerer while the task is deferred,
starts a new one, and checks the task succeeds on its first try with exactly one scenario run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.testing import serve_emulator

DAG_FILE = """
from __future__ import annotations
import datetime as dt
from airflow.sdk import DAG
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
with DAG("e2e_restart", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False):
    DataikuRunScenarioOperator(task_id="run", project_key="DEMO", scenario_id="REFRESH_KPIS", deferrable=True, poll_interval=0.5, timeout=600)
"""
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, component: str) -> None:
        log = open(self.home / f"{component}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[component] = subprocess.Popen([AIRFLOW, component], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, component: str) -> None:
        proc = self.procs.pop(component)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def cli(self, *args: str) -> None:
        subprocess.run([AIRFLOW, *args], env=self.env, check=True, capture_output=True, timeout=180)

    def task_state(self) -> tuple[str | None, int | None]:
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            row = db.execute("select state, try_number from task_instance where dag_id='e2e_restart'").fetchone()
        return (row[0], row[1]) if row else (None, None)

    def wait_for_dag(self, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
                if db.execute("select 1 from dag where dag_id='e2e_restart' and is_paused=0").fetchone():
                    return
            time.sleep(1)
        raise AssertionError(f"the DAG was never parsed and unpaused; logs in {self.home}")

    def wait_for(self, states: set[str], timeout: float) -> tuple[str | None, int | None]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.task_state()
            if state[0] in states:
                return state
            time.sleep(1)
        raise AssertionError(f"task never reached {states}; last {self.task_state()}; logs in {self.home}")

    def stop(self) -> None:
        for component in list(self.procs):
            try:
                self.kill(component)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


@pytest.fixture
def cluster() -> Iterator[tuple[Cluster, Any]]:
    home = Path(tempfile.mkdtemp(prefix="airflow-e2e-"))
    (home / "dags").mkdir()
    (home / "dags" / "e2e_restart.py").write_text(DAG_FILE)
    with serve_emulator("dataiku", None, run_duration=20) as (emulator, server):
        from airflow_provider.testing.dataiku import connection

        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW_CONN_DATAIKU_DEFAULT": __import__("json").dumps(connection(server.url)),
        }
        cluster = Cluster(home, env)
        try:
            cluster.cli("db", "migrate")
            for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
                cluster.start(component)
            yield cluster, emulator
        finally:
            cluster.stop()
    if not os.environ.get("KEEP_E2E"):
        shutil.rmtree(home, ignore_errors=True)


def test_deferred_wait_survives_a_killed_triggerer(cluster: tuple[Cluster, Any]) -> None:
    airflow, emulator = cluster
    airflow.wait_for_dag(timeout=180)  # the dag-processor must have parsed the file first
    airflow.cli("dags", "trigger", "e2e_restart")
    assert airflow.wait_for({"deferred"}, timeout=90)[0] == "deferred"

    airflow.kill("triggerer")  # no clean shutdown: the trigger is orphaned in the DB
    time.sleep(2)
    airflow.start("triggerer")

    state, try_number = airflow.wait_for({"success", "failed", "up_for_retry"}, timeout=240)
    scenario = emulator.state.scenarios.scenario("DEMO", "REFRESH_KPIS")
    assert (state, try_number) == ("success", 1)
    assert len(scenario.runs) == 1 and scenario.runs[0].outcome_at(time.time()) == "SUCCESS"
