"""Deployment-level fault suite: real Airflow processes on a real PostgreSQL, four emulated platforms.

One deployment (api-server, scheduler, dag-processor, two triggerers, LocalExecutor) on a throwaway
PostgreSQL is shared by every case; the cases overlap in time so the whole suite fits its budget:

* ``waits``: 25 deferred waits per platform (100) while triggerer-1, triggerer-2 and triggerer-1
  again are SIGKILLed (each restarted at once) and then one triggerer is SIGSTOPped for 35 s;
  every task must succeed on its first try with exactly one remote run, none cancelled;
* ``ambiguous``: 10 submits per platform answered 502/504/reset by a gateway after the platform
  committed the run: exactly one remote run each, no task failed;
* ``worker_kill``: 10 tasks per platform whose task process is SIGKILLed while its submit is in
  flight (the platform has the run, the XCom push has not happened): the retry re-attaches;
* ``mark_failed``: a deferred task marked failed through the REST API: its remote run IS cancelled;
* ``bursts``: 429 (Retry-After), 503 and reset bursts on every emulator while tasks wait: no failure;
* ``run_deleted`` / ``token_revoked``: a permanent error mid-wait fails the task within one poll
  interval + 5 s.

The table of figures is printed (``-s``) and written to ``$FAULTS_TABLE`` when set.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from faults_platforms import DAG_BLOCK, DAG_HEADER, IMPORTS, PF_YAML, PLATFORMS, SUBMIT, Remote, operator_source, start_remote
from support.faultproxy import FaultProxy

from airflow_provider.testing.cluster import Deployment, connection_env, wait_until
from airflow_provider.testing.postgres import PostgresServer

pytestmark = pytest.mark.timeout(1200)

N_WAITS, N_AMBIGUOUS, N_KILLS = 25, 10, 10
WAIT_POLL = 2.0  # deferred waits (and the permanent-error limit: one poll interval + 5 s)
INPLACE_POLL = 1.0
LONG = 3600.0  # remote runs the suite ends itself (finish_at) once the faults are over
SHORT = 3.0
HOLD = 20.0  # how long the proxy holds a submit's answer while the task process is killed
STOP_SECONDS = 35.0
DONE = {"success", "failed", "skipped", "upstream_failed", "removed"}

CONFIG = {
    "core": {"parallelism": "8", "max_active_tasks_per_dag": "64", "max_active_runs_per_dag": "64"},
    # a dead triggerer's triggers are taken over after this many seconds without a heartbeat
    # on_kill_timeout: a loaded triggerer's supervisor answers the task-state read of on_kill late
    "triggerer": {"triggerer_health_check_threshold": "10", "job_heartbeat_sec": "2", "capacity": "1000", "on_kill_timeout": "90"},
    "scheduler": {"scheduler_heartbeat_sec": "1", "task_instance_heartbeat_sec": "2", "task_instance_heartbeat_timeout": "60"},
    "database": {"sql_alchemy_pool_size": "3", "sql_alchemy_max_overflow": "10"},
}


@dataclass(frozen=True)
class Case:
    name: str
    count: int
    deferrable: bool
    seconds: float
    retries: int = 0
    conn: str = "direct"
    max_runs: int = 64
    poll: float = WAIT_POLL


CASES = (
    Case("waits", N_WAITS, True, LONG),
    Case("ambiguous", N_AMBIGUOUS, False, SHORT, conn="ambiguous", poll=INPLACE_POLL),
    Case("worker_kill", N_KILLS, True, LONG, retries=1, conn="kill"),
    Case("mark_failed", 1, True, LONG),
    Case("bursts", 2, True, LONG),
    Case("run_deleted", 1, True, LONG),
    Case("token_revoked", 1, True, LONG, conn="revoked"),
)
PROXIED = ("ambiguous", "kill", "revoked")


def dag_id(case: str, platform: str) -> str:
    return f"faults_{case}_{platform}"


@dataclass
class Row:
    case: str
    platform: str
    cases: int = 0
    remote_runs: int = 0
    failed: int = 0
    first_try: int = 0
    cancelled: int = 0
    seconds_to_fail: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class World:
    airflow: Deployment
    remotes: dict[str, Remote]
    proxies: dict[tuple[str, str], FaultProxy]
    #: (case, platform) -> [(run_id, conf)]
    runs: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    #: triggerer process name -> its job id in the metadata database
    jobs: dict[str, int] = field(default_factory=dict)
    #: (case, platform) -> remote runs counted before the suite deleted them
    counted_before_delete: dict[tuple[str, str], int] = field(default_factory=dict)
    t0: float = field(default_factory=time.time)

    def note(self, what: str) -> None:
        self.timeline.append((time.time() - self.t0, what))
        print(f"[faults +{time.time() - self.t0:6.1f}s] {what}", flush=True)

    def trigger(self, case: Case, platform: str) -> None:
        remote, runs = self.remotes[platform], self.runs.setdefault((case.name, platform), [])
        for i in range(case.count):
            key = f"{case.name[:1].upper()}{case.name[-1:].upper()}{i:02d}"
            conf = remote.prepare(key, case.seconds)
            run_id = self.airflow.trigger(dag_id(case.name, platform), run_id=f"{case.name}-{i:02d}", conf=conf)
            runs.append((run_id, conf))

    def tis(self, case: str, platform: str) -> dict[str, dict[str, Any]]:
        return {ti["run_id"]: ti for ti in self.airflow.task_instances(dag_id(case, platform))}

    def remote_runs(self, case: str, platform: str) -> dict[str, list[Any]]:
        remote = self.remotes[platform]
        return {run_id: remote.runs(dag_id(case, platform), run_id, conf) for run_id, conf in self.runs[(case, platform)]}

    def states(self, case: str) -> list[str | None]:
        return [ti["state"] for p in PLATFORMS for ti in self.tis(case, p).values()]


def _dag_files(remotes: dict[str, Remote]) -> dict[str, str]:
    """One file per DAG: a task process parses only its own file (and imports one platform)."""
    header = DAG_HEADER.format(dh_task=remotes["digitalhub"].dh_task, pf_yaml=PF_YAML)
    files = {}
    for case in CASES:
        for platform in PLATFORMS:
            # the timed cases go before the 100 waits' resumptions in the executor's queue
            priority = 1 if case.name == "waits" else 100
            op = operator_source(platform, f"{platform}_{case.conn}", deferrable=case.deferrable, seconds=case.seconds, poll=case.poll, priority=priority)
            block = DAG_BLOCK.format(dag_id=dag_id(case.name, platform), max_runs=case.max_runs, retries=case.retries, operator=op)
            files[f"{dag_id(case.name, platform)}.py"] = header + IMPORTS[platform] + block
    return files


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    durations = {dag_id(c.name, "paddleflow"): c.seconds for c in CASES}
    remotes = {p: start_remote(p, LONG, durations) for p in PLATFORMS}
    proxies = {(p, kind): FaultProxy(remotes[p].url).serve() for p in PLATFORMS for kind in PROXIED}
    env: dict[str, str] = {}
    for p, remote in remotes.items():
        env.update(connection_env(f"{p}_direct", remote.connection()))
        for kind in PROXIED:
            env.update(connection_env(f"{p}_{kind}", remote.connection(proxies[(p, kind)].url)))
    try:
        with PostgresServer() as pg:
            airflow = Deployment(_dag_files(remotes), env=env, config=CONFIG, db_url=pg.url)
            try:
                started = time.time()
                airflow.migrate()
                for component in ("api-server", "scheduler", "dag-processor"):
                    airflow.start(component)
                world = World(airflow, remotes, proxies)
                for name in ("triggerer-1", "triggerer-2"):
                    _start_triggerer(world, name)
                airflow.wait_for_dags([dag_id(c.name, p) for c in CASES for p in PLATFORMS], timeout=300)
                world.note(f"deployment up in {time.time() - started:.0f} s (PostgreSQL {pg.port}, home {airflow.home})")
                yield world
            finally:
                airflow.remove()
    finally:
        for proxy in proxies.values():
            proxy.stop()
        for remote in remotes.values():
            remote.server.stop()


# --- the scenario: everything runs once, the tests below assert its rows ---------------------------


@pytest.fixture(scope="module")
def table(world: World) -> dict[tuple[str, str], Row]:
    cases = {c.name: c for c in CASES}
    for platform in PLATFORMS:
        world.trigger(cases["waits"], platform)
    world.note("triggered 100 deferred waits")

    # gateway faults on the submits of the ambiguous case: the platform commits, the client gets 502/504/reset
    for platform in PLATFORMS:
        method, path, body = SUBMIT[platform]
        proxy = world.proxies[(platform, "ambiguous")]
        for action, count in (("502", 4), ("504", 3), ("reset", 3)):
            proxy.after_commit(action, count, method=method, path_pattern=path, body_pattern=body)
        world.proxies[(platform, "kill")].after_commit("hold", N_KILLS, method=method, path_pattern=path, body_pattern=body, hold=HOLD)

    wait_until(lambda: sum(s == "deferred" for s in world.states("waits")) >= 4 * N_WAITS, 420, "all 100 waits deferred", interval=2)
    world.note("all 100 waits deferred")

    kills: dict[str, list[float]] = {p: [] for p in PLATFORMS}
    killers = [threading.Thread(target=_kill_task_processes, args=(world, p, kills[p]), daemon=True) for p in PLATFORMS]
    for platform in PLATFORMS:
        world.trigger(cases["ambiguous"], platform)
        world.trigger(cases["worker_kill"], platform)
    for thread in killers:
        thread.start()
    world.note("triggered ambiguous submits and worker kills")

    _triggerer_faults(world)
    # the triggerer faults are over: let the 100 waits' remote runs end a few seconds from now
    _finish_long_runs(world, "waits")

    for name in ("mark_failed", "bursts", "run_deleted", "token_revoked"):
        for platform in PLATFORMS:
            world.trigger(cases[name], platform)
    late = ("mark_failed", "bursts", "run_deleted", "token_revoked")
    try:
        wait_until(lambda: all(s == "deferred" for c in late for s in world.states(c)) and len([s for c in late for s in world.states(c)]) == 20, 240,
                   "the late cases deferred", interval=1)  # fmt: skip
        _wait_assigned(world, 60)
        world.note("mark_failed/bursts/permanent cases deferred")
    except AssertionError as exc:  # the rows show what did not happen
        world.note(str(exc))

    fail_seconds: dict[tuple[str, str], float] = {}
    timer = threading.Thread(target=_permanent_errors, args=(world, fail_seconds), daemon=True)
    timer.start()
    _mark_failed(world)
    _bursts(world)
    _wait_cancelled(world)
    timer.join(timeout=120)

    _finish_long_runs(world, "bursts")
    for thread in killers:
        thread.join(timeout=300)
    # the killed tasks' runs go on until every retry has found its run (or started another)
    try:
        wait_until(lambda: all(s in DONE or s == "deferred" for s in world.states("worker_kill")), 300, "the worker-kill retries waiting", interval=1)
    except AssertionError as exc:
        world.note(str(exc))
    _finish_long_runs(world, "worker_kill")
    everything = [c.name for c in CASES]
    wait_until(lambda: all(s in DONE for c in everything for s in world.states(c)), 600, "every task finished", interval=2)
    world.note("every task finished")
    rows = _rows(world, fail_seconds, kills)
    _print_table(rows)
    return rows


def _finish_long_runs(world: World, case: str) -> None:
    finish = time.time() + 5
    for platform in PLATFORMS:
        for runs in world.remote_runs(case, platform).values():
            for run in runs:
                world.remotes[platform].finish_at(run, finish)
    world.note(f"remote runs of {case} set to finish in 5 s")


def _kill_task_processes(world: World, platform: str, killed_at: list[float]) -> None:
    """For each held submit of a first try of the worker-kill DAG, SIGKILL that task's process."""
    proxy, dag = world.proxies[(platform, "kill")], dag_id("worker_kill", platform)
    remote = world.remotes[platform]
    while len(killed_at) < N_KILLS and (proxy.rules or proxy.holding):
        try:
            held = proxy.wait_holding(timeout=120)
        except AssertionError:
            return
        run_id = remote.owner(dag, held.path, held.body, world.runs[("worker_kill", platform)])
        ti: dict[str, Any] | None = None
        for _ in range(40):  # the database may show the try as running a moment after its submit
            ti = world.tis("worker_kill", platform).get(run_id or "")
            if ti is not None and ti["state"] == "running":
                break
            time.sleep(0.25)
        if ti is None or ti["state"] != "running" or ti["try_number"] != 1:
            continue  # a retry that submitted again (it shows as a second remote run)
        pid = None
        for _ in range(40):
            pid = world.airflow.task_pid(str(ti["id"]))
            if pid:
                break
            time.sleep(0.1)
        if pid:
            os.kill(pid, signal.SIGKILL)
            killed_at.append(time.time())


def _wait_assigned(world: World, timeout: float) -> None:
    """Until every trigger is held by a triggerer that is alive now (a takeover has completed)."""

    def assigned() -> bool:
        live = {job for job, _ in world.airflow.live_triggerer_jobs(within=6)}
        owners = world.airflow.triggerer_of_triggers()
        return bool(owners) and all(owner in live for owner in owners.values())

    wait_until(assigned, timeout, "every trigger assigned to a live triggerer", interval=1)


def _start_triggerer(world: World, name: str) -> None:
    """Start a triggerer and learn its job id (the newest TriggererJob row), to know which triggers it holds."""
    known = {int(r[0]) for r in world.airflow.sql("select id from job where job_type = 'TriggererJob'")}
    world.airflow.start("triggerer", name)

    def new_job() -> int | None:
        ids = {int(r[0]) for r in world.airflow.sql("select id from job where job_type = 'TriggererJob'")} - known
        return max(ids) if ids else None

    world.jobs[name] = wait_until(new_job, 180, f"{name}'s job row")


def _busiest(world: World) -> tuple[str, int]:
    """The triggerer holding the most triggers, and how many it holds."""
    owners = list(world.airflow.triggerer_of_triggers().values())
    name = max(world.jobs, key=lambda n: owners.count(world.jobs[n]))
    return name, owners.count(world.jobs[name])


def _triggerer_faults(world: World) -> None:
    airflow = world.airflow
    for _ in range(3):
        victim, held = _busiest(world)
        airflow.kill(victim)
        world.note(f"SIGKILLed {victim} (it held {held} triggers)")
        _start_triggerer(world, victim)
        time.sleep(8)  # the dead job's last heartbeat must be older than _wait_assigned's "alive" window
        _wait_assigned(world, 120)
        world.note("takeover complete")
    victim, held = _busiest(world)
    airflow.pause(victim)
    world.note(f"SIGSTOPped {victim} (it held {held} triggers)")
    time.sleep(STOP_SECONDS)
    airflow.resume(victim)
    world.note(f"SIGCONTed {victim}")
    time.sleep(5)
    _wait_assigned(world, 120)
    world.note("triggers settled after the split brain")


def _permanent_errors(world: World, took: dict[tuple[str, str], float]) -> None:
    """Delete the watched run / revoke the token, then time how long the task takes to fail."""
    started: dict[tuple[str, str], float] = {}
    for platform in PLATFORMS:
        (runs,) = world.remote_runs("run_deleted", platform).values()
        world.counted_before_delete[("run_deleted", platform)] = len(runs)
        for run in runs:
            world.remotes[platform].delete(run)
        started[("run_deleted", platform)] = time.time()
        world.proxies[(platform, "revoked")].deny(401)
        started[("token_revoked", platform)] = time.time()
    world.note("runs deleted, tokens revoked")
    deadline = time.time() + 90
    while len(took) < len(started) and time.time() < deadline:
        for (case, platform), t0 in started.items():
            if (case, platform) in took:
                continue
            states = [ti["state"] for ti in world.tis(case, platform).values()]
            if states and all(s in DONE or s == "up_for_retry" for s in states):
                took[(case, platform)] = time.time() - t0
        time.sleep(0.25)


def _mark_failed(world: World) -> None:
    for platform in PLATFORMS:
        (run_id,) = world.tis("mark_failed", platform)
        world.airflow.set_task_state(dag_id("mark_failed", platform), run_id, "run", "failed")
    world.note("marked the mark_failed tasks failed through the REST API")


def _wait_cancelled(world: World) -> None:
    def all_cancelled() -> bool:
        return all(all(world.remotes[p].cancelled(p, r) for runs in world.remote_runs("mark_failed", p).values() for r in runs) for p in PLATFORMS)

    try:
        wait_until(all_cancelled, 120, "the marked tasks' remote runs cancelled", interval=0.5)
    except AssertionError as exc:
        world.note(str(exc))


def _bursts(world: World) -> None:
    """429 with Retry-After, then 503, then resets, on every emulator's status reads, while 100+ tasks wait."""
    for kind in ("429", "503", "reset"):
        for platform, remote in world.remotes.items():
            match: dict[str, Any] = {"method": "POST", "body_contains": '"query '} if platform == "aqueduct" else {"method": "GET"}
            if kind == "reset":
                remote.emulator.faults.reset_next(3, **match)
            else:
                remote.emulator.faults.fail_next(3, int(kind), retry_after="1" if kind == "429" else None, **match)
        world.note(f"burst of {kind} on every emulator")
        time.sleep(2 * WAIT_POLL + 1)


def _rows(world: World, fail_seconds: dict[tuple[str, str], float], kills: dict[str, list[float]]) -> dict[tuple[str, str], Row]:
    rows: dict[tuple[str, str], Row] = {}
    for case in CASES:
        for platform in PLATFORMS:
            row = Row(case.name, platform)
            tis = world.tis(case.name, platform)
            remote_runs = world.remote_runs(case.name, platform)
            row.cases = len(tis)
            row.remote_runs = world.counted_before_delete.get((case.name, platform), sum(len(r) for r in remote_runs.values()))
            row.failed = sum(ti["state"] != "success" for ti in tis.values())
            row.first_try = sum(ti["state"] == "success" and ti["try_number"] == 1 for ti in tis.values())
            row.cancelled = sum(world.remotes[platform].cancelled(platform, r) for runs in remote_runs.values() for r in runs)
            row.seconds_to_fail = fail_seconds.get((case.name, platform))
            if case.name == "worker_kill":
                row.notes.append(f"{len(kills[platform])} task processes killed")
            duplicates = [run_id for run_id, runs in remote_runs.items() if len(runs) != 1 and (case.name, platform) not in world.counted_before_delete]
            if duplicates:
                row.notes.append(f"not exactly one remote run: {', '.join(duplicates[:5])}")
            rows[(case.name, platform)] = row
    return rows


def _print_table(rows: dict[tuple[str, str], Row]) -> None:
    lines = [
        "| case | platform | cases | remote runs created | tasks failed | first-try successes | remote runs cancelled | seconds to fail | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows.values():
        fail = f"{row.seconds_to_fail:.1f}" if row.seconds_to_fail is not None else "-"
        lines.append(
            f"| {row.case} | {row.platform} | {row.cases} | {row.remote_runs} | {row.failed} | {row.first_try} | {row.cancelled} | {fail} | {'; '.join(row.notes)} |"
        )
    text = "\n".join(lines)
    print("\n" + text, flush=True)
    if os.environ.get("FAULTS_TABLE"):
        with open(os.environ["FAULTS_TABLE"], "w") as fh:
            fh.write(text + "\n")


# --- assertions, one per case and platform ---------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_deferred_waits_survive_triggerer_kills_and_a_stop(table: dict[tuple[str, str], Row], platform: str) -> None:
    row = table[("waits", platform)]
    assert (row.cases, row.remote_runs, row.failed, row.first_try, row.cancelled) == (N_WAITS, N_WAITS, 0, N_WAITS, 0), row


@pytest.mark.parametrize("platform", PLATFORMS)
def test_ambiguous_submits_start_exactly_one_run(table: dict[tuple[str, str], Row], platform: str) -> None:
    row = table[("ambiguous", platform)]
    assert (row.cases, row.remote_runs, row.failed, row.cancelled) == (N_AMBIGUOUS, N_AMBIGUOUS, 0, 0), row


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_killed_worker_retry_reattaches(table: dict[tuple[str, str], Row], platform: str) -> None:
    row = table[("worker_kill", platform)]
    assert row.notes[0] == f"{N_KILLS} task processes killed", row
    assert (row.cases, row.remote_runs, row.failed, row.cancelled) == (N_KILLS, N_KILLS, 0, 0), row


@pytest.mark.parametrize("platform", PLATFORMS)
def test_marking_a_deferred_task_failed_cancels_its_run(table: dict[tuple[str, str], Row], platform: str) -> None:
    row = table[("mark_failed", platform)]
    assert (row.cases, row.remote_runs, row.failed, row.cancelled) == (1, 1, 1, 1), row


@pytest.mark.parametrize("platform", PLATFORMS)
def test_bursts_of_transient_errors_fail_no_wait(table: dict[tuple[str, str], Row], platform: str) -> None:
    row = table[("bursts", platform)]
    assert (row.cases, row.remote_runs, row.failed, row.first_try, row.cancelled) == (2, 2, 0, 2, 0), row


@pytest.mark.parametrize("case", ["run_deleted", "token_revoked"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_permanent_error_fails_the_wait_within_one_interval(table: dict[tuple[str, str], Row], platform: str, case: str) -> None:
    row = table[(case, platform)]
    assert (row.cases, row.remote_runs, row.failed) == (1, 1, 1), row
    assert row.seconds_to_fail is not None, row
    assert row.seconds_to_fail <= WAIT_POLL + 5, f"failed in {row.seconds_to_fail:.1f} s, over one poll interval + 5 s"
