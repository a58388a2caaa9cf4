"""The processes of one real Airflow deployment, for end-to-end and fault tests.

:class:`Deployment` runs ``airflow db migrate`` and then any components (api-server, scheduler,
dag-processor, one or more triggerers) as separate process groups with LocalExecutor, on SQLite or
on a real PostgreSQL (:mod:`airflow_provider.testing.postgres`). Components are named
(``triggerer-1``, ``triggerer-2``) so a test can SIGKILL, SIGSTOP or SIGCONT one of them. Helpers
talk to the api-server over REST (``simple_auth_manager_all_admins``: no login), to the metadata
database over SQL (read-only checks), and find a running task's process by its title.

Every setting a test wants changed goes in ``config`` as ``{"section": {"key": "value"}}``; it is
passed as ``AIRFLOW__SECTION__KEY`` environment variables to every component and to the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

from airflow_provider.testing.postgres import free_port

T = TypeVar("T")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))

#: defaults that make a small test deployment quick to start and quick to react
FAST_CONFIG: dict[str, dict[str, str]] = {
    "core": {
        "load_examples": "False",
        "executor": "LocalExecutor",
        "dags_are_paused_at_creation": "False",
        "simple_auth_manager_all_admins": "True",
        "parallelism": "8",
    },
    "dag_processor": {"refresh_interval": "5", "min_file_process_interval": "30"},
    "scheduler": {"scheduler_heartbeat_sec": "1", "task_instance_heartbeat_sec": "2"},
    "triggerer": {"job_heartbeat_sec": "2"},
    "logging": {"logging_level": "INFO"},
}


class Deployment:
    """One Airflow home with its components as child process groups.

    ``dags``: file name -> source, written to the DAGs folder. ``env``: extra environment (for
    example ``AIRFLOW_CONN_*``). ``db_url``: SQLAlchemy URL; None means SQLite in the home.
    """

    def __init__(
        self,
        dags: Mapping[str, str] = {},
        *,
        env: Mapping[str, str] = {},
        config: Mapping[str, Mapping[str, str]] = {},
        db_url: str | None = None,
        home: Path | None = None,
    ) -> None:
        self.home = home or Path(tempfile.mkdtemp(prefix="airflow-deploy-"))
        self.dags_folder = self.home / "dags"
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        for name, source in dags.items():
            (self.dags_folder / name).write_text(source)
        self.db_url = db_url or f"sqlite:///{self.home / 'airflow.db'}"
        self.api_port = free_port()
        merged: dict[str, dict[str, str]] = {section: dict(values) for section, values in FAST_CONFIG.items()}
        for section, values in config.items():
            merged.setdefault(section, {}).update(values)
        merged["core"]["dags_folder"] = str(self.dags_folder)
        merged.setdefault("database", {})["sql_alchemy_conn"] = self.db_url
        merged.setdefault("api", {}).update({"host": "127.0.0.1", "port": str(self.api_port), "base_url": self.api_url.removesuffix("/api/v2")})
        merged.setdefault("logging", {})["base_log_folder"] = str(self.home / "logs")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env["AIRFLOW_HOME"] = str(self.home)
        for section, values in merged.items():
            for key, value in values.items():
                self.env[f"AIRFLOW__{section.upper()}__{key.upper()}"] = value
        self.env.update(env)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._http = requests.Session()

    # -- components ---------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v2"

    def migrate(self) -> None:
        self.cli("db", "migrate", timeout=600)

    def start(self, component: str, name: str | None = None) -> str:
        """Start ``airflow <component>`` in its own process group; returns its name (default: the component)."""
        name = name or component
        if name in self.procs and self.procs[name].poll() is None:
            raise RuntimeError(f"{name} is already running")
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
        self.procs[name] = subprocess.Popen(
            [AIRFLOW, *component.split()], env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.home
        )
        log.close()
        return name

    def signal(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` to the component's whole process group (a triggerer is a supervisor + runner + log server)."""
        os.killpg(self.procs[name].pid, sig)

    def kill(self, name: str) -> None:
        """SIGKILL, no clean shutdown: its jobs and triggers stay orphaned in the database."""
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def pause(self, name: str) -> None:
        self.signal(name, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.signal(name, signal.SIGCONT)

    def running(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def stop(self) -> None:
        for name in list(self.procs):
            try:
                self.signal(name, signal.SIGCONT)
                self.kill(name)
            except (ProcessLookupError, subprocess.TimeoutExpired, KeyError):
                pass

    def remove(self) -> None:
        self.stop()
        if not os.environ.get("KEEP_DEPLOYMENT"):
            shutil.rmtree(self.home, ignore_errors=True)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.home / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # -- CLI, REST, SQL -----------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=self.home)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}")
        return done.stdout

    def api(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        """Call the REST API (``/api/v2`` + path); raises with the answer on any other status."""
        response = self._http.request(method, f"{self.api_url}{path}", json=body, timeout=30)
        if response.status_code not in ok:
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.text[:1000]}")
        return response.json() if response.content else None

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the metadata database (``%s`` placeholders on both backends)."""
        if self.db_url.startswith("sqlite"):
            with sqlite3.connect(self.db_url.removeprefix("sqlite:///"), timeout=30) as db:
                return db.execute(query.replace("%s", "?"), params).fetchall()
        import psycopg2

        dsn = self.db_url.replace("postgresql+psycopg2://", "postgresql://").replace("postgresql+asyncpg://", "postgresql://")
        with psycopg2.connect(dsn) as db, db.cursor() as cur:
            cur.execute(query, params)
            rows: list[tuple[Any, ...]] = cur.fetchall()
        db.close()
        return rows

    def trigger(self, dag_id: str, run_id: str | None = None, conf: Mapping[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.api("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str, map_index: int = -1) -> Any:
        """What the UI does for "mark failed/success" of one task instance."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}" + (f"/{map_index}" if map_index >= 0 else "")
        return self.api("PATCH", path, {"new_state": state})

    def task_instances(self, dag_id: str | None = None) -> list[dict[str, Any]]:
        """Every task instance (optionally of one DAG): dag_id, run_id, task_id, map_index, state, try_number, id."""
        query = "select dag_id, run_id, task_id, map_index, state, try_number, id from task_instance"
        rows = self.sql(query + (" where dag_id = %s" if dag_id else ""), (dag_id,) if dag_id else ())
        keys = ("dag_id", "run_id", "task_id", "map_index", "state", "try_number", "id")
        return [dict(zip(keys, row)) for row in rows]

    def triggerer_of_triggers(self) -> dict[int, int | None]:
        """trigger id -> triggerer job id that holds it (None: unassigned)."""
        return {int(r[0]): (int(r[1]) if r[1] is not None else None) for r in self.sql("select id, triggerer_id from trigger")}

    def live_triggerer_jobs(self, within: float = 15) -> list[tuple[int, str]]:
        """(job id, hostname) of triggerer jobs that heartbeated in the last ``within`` seconds."""
        rows = self.sql("select id, hostname, latest_heartbeat from job where job_type = 'TriggererJob' and state = 'running'")
        now = time.time()
        return [(int(r[0]), str(r[1])) for r in rows if r[2] is not None and now - r[2].timestamp() < within]

    # -- waiting ------------------------------------------------------------------------------------

    def wait_healthy(self, components: tuple[str, ...] = ("metadatabase", "scheduler", "triggerer", "dag_processor"), timeout: float = 240) -> None:
        def healthy() -> bool:
            try:
                data = self._http.get(f"{self.api_url.removesuffix('/v2')}/v2/monitor/health", timeout=5).json()
            except (requests.RequestException, ValueError):
                return False
            return all(data.get(c, {}).get("status") == "healthy" for c in components)

        wait_until(healthy, timeout, f"components {components} healthy (logs in {self.home})")

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 240) -> None:
        """Until the dag-processor has parsed every DAG and it is unpaused."""

        def parsed() -> bool:
            rows = self.sql("select dag_id from dag where is_paused = false and is_stale = false")
            return set(dag_ids) <= {r[0] for r in rows}

        wait_until(parsed, timeout, f"DAGs {dag_ids} parsed and unpaused (logs in {self.home})")
        self.wait_api(timeout)

    def wait_api(self, timeout: float = 120) -> None:
        """Until the api-server answers (it starts slower than the scheduler on a busy machine)."""

        def answers() -> bool:
            try:
                return self._http.get(f"{self.api_url}/version", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout, f"the api-server on port {self.api_port} (log {self.home / 'api-server.log'})")

    def task_pid(self, ti_id: str) -> int | None:
        """The PID of the task process running this task instance (its title is ``airflow worker -- <ti id>``)."""
        needle = f"airflow worker -- {ti_id}".encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if fh.read().replace(b"\0", b" ").strip() == needle:
                        return int(entry)
            except OSError:
                continue
        return None


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.5) -> T:
    """Poll ``predicate`` until it returns something truthy; raise naming ``what`` after ``timeout`` s."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def deployment(
    dags: Mapping[str, str],
    *,
    env: Mapping[str, str] = {},
    config: Mapping[str, Mapping[str, str]] = {},
    db_url: str | None = None,
    components: tuple[str, ...] = ("api-server", "scheduler", "dag-processor", "triggerer"),
) -> Iterator[Deployment]:
    """Migrate the database, start ``components`` (a repeated one gets ``-1``, ``-2`` names), yield, clean up."""
    cluster = Deployment(dags, env=env, config=config, db_url=db_url)
    try:
        cluster.migrate()
        counts = {c: components.count(c) for c in components}
        seen: dict[str, int] = {}
        for component in components:
            seen[component] = seen.get(component, 0) + 1
            cluster.start(component, f"{component}-{seen[component]}" if counts[component] > 1 else component)
        yield cluster
    finally:
        cluster.remove()


def connection_env(conn_id: str, conn: Mapping[str, Any]) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` for a connection in Airflow's JSON form."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(dict(conn))}
