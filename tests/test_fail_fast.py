"""Permanent errors end a wait at the next poll, on every platform, in every waiting mode.

Each case starts a 30 s remote run, lets the first two state checks through, then answers every
later one with 401 (a revoked token) or 404 (the run deleted); Aqueduct also gets its own GraphQL
"no such task" error by removing the task's experiment. The task must fail at the first failing
poll (one failing answer seen by the emulator), long before the run would end, with a message
naming the run, the HTTP status, the platform's message and the fix.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from airflow.sdk import DAG, BaseOperator

from airflow_provider.testing import serve_emulator
from airflow_provider.testing.airflow_env import run_dag, task_outcomes

pytestmark = pytest.mark.usefixtures("airflow_db")
_seq = itertools.count(1)
POLL = 0.2
MODES = ["in_place", "deferred", "sensor_poke", "sensor_deferrable"]


@dataclass
class Platform:
    name: str
    emulator: Any
    #: fault filter that matches the state checks of a wait (and nothing else the task sends)
    status_filter: Callable[[], dict[str, Any]]
    operator: Callable[[str, bool], BaseOperator]
    start: Callable[[], str]
    sensor: Callable[[str, str, dict[str, Any]], BaseOperator]


@pytest.fixture(scope="module")
def platforms() -> Iterator[dict[str, Platform]]:
    with (
        serve_emulator("dataiku", "ff_dss", run_duration=30.0, fire_delay=0.05) as (dss, _),
        serve_emulator("digitalhub", "ff_dh", run_duration=30.0) as (dh, _),
        serve_emulator("aqueduct", "ff_aq", generation="tasks") as (aq, _),
        serve_emulator("paddleflow", "ff_pf", run_duration=30.0) as (pf, _),
    ):
        yield {p.name: p for p in (_dss(dss), _dh(dh), _aq(aq), _pf(pf))}


def _dss(emulator: Any) -> Platform:
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
    from airflow_provider.dataiku.sensors import DataikuScenarioRunSensor

    current: list[str] = []

    def fresh() -> str:
        # DSS runs a scenario once at a time: every case gets its own 30 s scenario
        sid = f"LONG_{next(_seq)}"
        emulator.state.scenarios.add_scenario("FF", sid, steps=[{"id": "a", "name": "A", "type": "build_flowitem"}], duration=30)
        current[:] = [sid]
        return sid

    def start() -> str:
        hook = DataikuHook("ff_dss")
        sid = fresh()
        fire = hook.run_scenario("FF", sid, {})
        return str(hook.wait_for_scenario_run("FF", sid, fire, timeout=30).run_id)

    return Platform(
        "dss",
        emulator,
        lambda: {"method": "GET", "path_pattern": r"/projects/FF/scenarios/(LONG_\d+/[0-9-]+/)?$"},
        lambda tid, deferrable: DataikuRunScenarioOperator(
            task_id=tid, project_key="FF", scenario_id=fresh(), dataiku_conn_id="ff_dss", deferrable=deferrable, poll_interval=POLL, cancel_on_kill=False
        ),
        start,
        lambda tid, run_id, kw: DataikuScenarioRunSensor(task_id=tid, project_key="FF", scenario_id=current[0], run_id=run_id, dataiku_conn_id="ff_dss", **kw),
    )


def _dh(emulator: Any) -> Platform:
    from airflow_provider.digitalhub.hook import DigitalHubHook
    from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
    from airflow_provider.digitalhub.sensors import DigitalHubRunSensor

    emulator.state.add_project("ff")
    task = emulator.state.add_task("ff", emulator.state.add_function("ff", "f"))
    task_key = f"python+job://ff/{task['id']}"

    def start() -> str:
        return str(DigitalHubHook("ff_dh").new_run("ff", "python+job:run", task=task_key).id)

    return Platform(
        "digitalhub",
        emulator,
        lambda: {"method": "GET", "path_pattern": r"/-/ff/runs(/[0-9a-f]{32})?/?$"},
        lambda tid, deferrable: DigitalHubCreateRunOperator(
            task_id=tid, project="ff", kind="python+job:run", task=task_key, digitalhub_conn_id="ff_dh", deferrable=deferrable, poll_interval=POLL
        ),
        start,
        lambda tid, run_id, kw: DigitalHubRunSensor(task_id=tid, identifier=run_id, project="ff", digitalhub_conn_id="ff_dh", **kw),
    )


def _aq(emulator: Any) -> Platform:
    from airflow_provider.aqueduct.hook import AqueductHook
    from airflow_provider.aqueduct.operators import AqueductExecuteExtensionOperator
    from airflow_provider.aqueduct.sensors import AqueductTaskSensor

    hook = AqueductHook("ff_aq")
    exp = hook.create_experiment("fail fast", "waits that must end early")

    def start() -> str:
        from airflow_provider.aqueduct.api.extensions import validate_parameters

        params = validate_parameters(hook.get_extension_action("demo", "sleep"), {"seconds": 30, "experiment": exp.eid})
        return str(hook.execute_extension("demo", "sleep", params, experiment_uuid=exp.uuid).uuid)

    return Platform(
        "aqueduct",
        emulator,
        lambda: {"method": "POST", "path_contains": "/api/graphql", "body_contains": "task(taskId: $"},
        lambda tid, deferrable: AqueductExecuteExtensionOperator(
            task_id=tid,
            extension="demo",
            action="sleep",
            experiment=exp.eid,
            parameters={"seconds": 30},
            aqueduct_conn_id="ff_aq",
            deferrable=deferrable,
            poll_interval=POLL,
        ),
        start,
        lambda tid, run_id, kw: AqueductTaskSensor(task_id=tid, task_uuid=run_id, aqueduct_conn_id="ff_aq", **kw),
    )


def _pf(emulator: Any) -> Platform:
    from airflow_provider.paddleflow.hook import PaddleFlowHook
    from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator
    from airflow_provider.paddleflow.sensors import PaddleFlowRunSensor
    from airflow_provider.testing.paddleflow import DEMO_YAML

    def start() -> str:
        return str(PaddleFlowHook("ff_pf").create_run(run_yaml_raw=DEMO_YAML, run_name=f"ff_{next(_seq)}"))

    return Platform(
        "paddleflow",
        emulator,
        lambda: {"method": "GET", "path_pattern": r"/api/paddleflow/v1/run(/run-\d+)?/?$"},
        lambda tid, deferrable: PaddleFlowCreateRunOperator(
            task_id=tid, yaml_raw=DEMO_YAML, run_name=f"ff_{next(_seq)}", paddleflow_conn_id="ff_pf", deferrable=deferrable, poll_interval=POLL
        ),
        start,
        lambda tid, run_id, kw: PaddleFlowRunSensor(task_id=tid, run_id=run_id, paddleflow_conn_id="ff_pf", **kw),
    )


def _dag_for(platform: Platform, mode: str) -> DAG:
    with DAG(f"ff_{platform.name}_{mode}_{next(_seq)}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        if mode in ("in_place", "deferred"):
            platform.operator("wait", mode == "deferred")
        else:
            kw = {"poke_interval": POLL, "timeout": 60, "deferrable": mode == "sensor_deferrable"}
            platform.sensor("wait", platform.start(), kw)
    return dag


def _output(capfd: pytest.CaptureFixture[str]) -> str:
    # the task log goes through buffered streams: flush them, or it lands in the next test's capture
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    return capfd.readouterr().out


FIXES = {401: "fix the connection", 404: "no longer exists"}


@pytest.mark.parametrize("status", [401, 404])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["dss", "digitalhub", "aqueduct", "paddleflow"])
def test_permanent_error_ends_the_wait_at_the_next_poll(
    platforms: dict[str, Platform], name: str, mode: str, status: int, capfd: pytest.CaptureFixture[str]
) -> None:
    platform = platforms[name]
    faults = platform.emulator.faults
    faults.clear()
    dag = _dag_for(platform, mode)
    # two state checks pass (the first look, one poll), then every later one fails for good
    faults.fail_next(100, status, skip=2, **platform.status_filter())
    since = time.time()
    dag_run = run_dag(dag)
    out = _output(capfd)
    first_failure = min((r.at for r in faults.calls() if r.answered == status and r.at >= since), default=None)
    ended = dag_run.get_task_instances()[0].end_date
    elapsed = ended.timestamp() - first_failure if first_failure and ended else float("inf")
    left = len(faults.queue)
    faults.clear()
    trail = "\n".join(line[:400] for line in out.splitlines() if "airflow_provider" in line or "rror" in line)[-4000:]
    assert dag_run.state == "failed", trail
    # one failing answer ends the wait
    used = 100 - left
    assert used == 1, f"{used} failing polls before the wait ended\n{trail}"
    assert elapsed <= POLL + 5, f"the task ended {elapsed:.1f}s after the first permanent error\n{trail}"
    assert f"HTTP {status}" in out and "emulated fault" in out and FIXES[status] in out, trail


@pytest.mark.parametrize("mode", MODES)
def test_aqueduct_graphql_not_found_ends_the_wait(platforms: dict[str, Platform], mode: str, capfd: pytest.CaptureFixture[str]) -> None:
    """A task whose experiment was removed answers a GraphQL error (HTTP 200) that no retry can fix."""
    import threading

    from airflow_provider.aqueduct.hook import AqueductHook

    platform = platforms["aqueduct"]
    state = platform.emulator.state
    hook = AqueductHook("ff_aq")
    victim = hook.create_experiment(f"to remove {next(_seq)}", "")
    known = set(state.tasks)
    dag = _dag_for(platform, mode)  # a sensor's task is started here

    removed: list[float] = []

    def remove_soon() -> None:
        # the task lives on the shared experiment: move it to the victim, then remove that
        for _ in range(400):
            new = [t for t in list(state.tasks.values()) if t.uuid not in known]
            if new:
                time.sleep(1.5)
                for t in new:
                    t.experiment_uuid = victim.uuid
                hook.remove_experiment_by_uuid(victim.uuid)
                removed.append(time.time())
                return
            time.sleep(0.05)

    remover = threading.Thread(target=remove_soon, daemon=True)
    remover.start()
    dag_run = run_dag(dag)
    remover.join(5)
    out = _output(capfd)
    assert dag_run.state == "failed", task_outcomes(dag_run)
    ti = dag_run.get_task_instances()[0]
    assert ti.end_date is not None and removed and ti.end_date.timestamp() - removed[0] <= POLL + 5, "the wait outlived the removal by more than a poll + 5 s"
    trail = "\n".join(line[:300] for line in out.splitlines() if "airflow_provider" in line or "rror" in line)[-3000:]
    assert "non-existing task" in out and "no longer exists" in out, trail
