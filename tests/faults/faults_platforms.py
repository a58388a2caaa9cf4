"""The four emulated platforms as the fault suite sees them: how a DAG starts a remote run on each,
which request is the submit, and how to find, finish, delete and inspect the runs a task started.

Remote runs are told apart per task instance: a DSS task runs its own scenario, an Aqueduct task
its own experiment, DigitalHub and PaddleFlow runs carry the task instance's identity tag.
"""

from __future__ import annotations

import contextlib
import json
import time
import types
from dataclasses import dataclass
from typing import Any

from airflow_provider.common.identity import ti_tag, ti_tag_short
from airflow_provider.testing import Emulator, emulator_module

PLATFORMS = ("dataiku", "digitalhub", "aqueduct", "paddleflow")
DSS_PROJECT = "FAULTS"
DH_PROJECT = "faults"
PF_YAML = """name: faults_pipeline
docker_env: python:3.9-slim
entry_points:
  main:
    command: echo main
"""

#: method, path regex, body regex of each platform's submit (what must never be sent twice)
SUBMIT: dict[str, tuple[str, str | None, str | None]] = {
    "dataiku": ("POST", r"/scenarios/[^/]+/run$", None),
    "digitalhub": ("POST", r"/runs$", None),
    "paddleflow": ("POST", r"/run$", None),
    "aqueduct": ("POST", None, r"mutation ExecuteExtension"),
}


def operator_source(platform: str, conn_id: str, *, deferrable: bool, seconds: float, poll: float, priority: int = 1) -> str:
    """The operator call in the generated DAG file (``dag_run.conf`` names the task's own scenario/experiment)."""
    common = f"task_id='run', deferrable={deferrable}, poll_interval={poll}, timeout=3600, priority_weight={priority}"
    if platform == "dataiku":
        return f"DataikuRunScenarioOperator(project_key={DSS_PROJECT!r}, scenario_id=\"{{{{ dag_run.conf['scenario'] }}}}\", dataiku_conn_id={conn_id!r}, {common})"
    if platform == "digitalhub":
        return (
            f"DigitalHubCreateRunOperator(project={DH_PROJECT!r}, kind='python+job:run', task=DH_TASK, parameters={{'seconds': {seconds}}}, "
            f"digitalhub_conn_id={conn_id!r}, {common})"
        )
    if platform == "aqueduct":
        return (
            f"AqueductExecuteExtensionOperator(extension='demo', action='sleep', parameters={{'seconds': '{seconds}'}}, "
            f"experiment=\"{{{{ dag_run.conf['experiment'] }}}}\", aqueduct_conn_id={conn_id!r}, {common})"
        )
    return f"PaddleFlowCreateRunOperator(yaml_raw=PF_YAML, run_name='faults', paddleflow_conn_id={conn_id!r}, {common})"


DAG_HEADER = """
from __future__ import annotations
import datetime as dt
from airflow.sdk import DAG
DH_TASK = {dh_task!r}
PF_YAML = {pf_yaml!r}
"""

IMPORTS = {
    "dataiku": "from airflow_provider.dataiku.operators import DataikuRunScenarioOperator\n",
    "digitalhub": "from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator\n",
    "aqueduct": "from airflow_provider.aqueduct.operators import AqueductExecuteExtensionOperator\n",
    "paddleflow": "from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator\n",
}

DAG_BLOCK = """
with DAG({dag_id!r}, schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, max_active_runs={max_runs}, max_active_tasks=64,
         default_args={{"retries": {retries}, "retry_delay": dt.timedelta(seconds=1)}}):
    {operator}
"""


@dataclass
class Remote:
    """One platform's emulator, with the per-task bookkeeping the suite needs."""

    platform: str
    emulator: Emulator
    url: str
    server: Any
    dh_task: str = ""

    @property
    def state(self) -> Any:
        return self.emulator.state

    def connection(self, url: str | None = None) -> dict[str, Any]:
        return dict(emulator_module(self.platform).connection(url or self.url))

    # --- per task instance ---------------------------------------------------------------
    def prepare(self, key: str, seconds: float) -> dict[str, Any]:
        """The dag_run.conf for one task: a DSS scenario or an Aqueduct experiment of its own."""
        if self.platform == "dataiku":
            self.state.scenarios.add_scenario(DSS_PROJECT, key, duration=seconds)
            return {"scenario": key}
        if self.platform == "aqueduct":
            with self.state.lock:
                exp = self.state.create_experiment(f"faults {key}", "fault suite", [])
            return {"experiment": exp["uuid"]}
        return {}

    def runs(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> list[Any]:
        """The remote runs this task instance started (any try)."""
        ti = types.SimpleNamespace(dag_id=dag_id, task_id="run", run_id=run_id, map_index=-1)
        if self.platform == "dataiku":
            return list(self.state.scenarios.scenario(DSS_PROJECT, conf["scenario"]).runs)
        if self.platform == "aqueduct":
            return [t for t in list(self.state.tasks.values()) if t.experiment_uuid == conf["experiment"]]
        if self.platform == "digitalhub":
            label = ti_tag_short({"ti": ti})
            return [rec for rec in list(self.state.runs.values()) if label in json.dumps(rec.body.get("metadata", {}))]
        tag = f"[{ti_tag({'ti': ti})}]"
        return [r for r in list(self.state.runs.values()) if tag in r.description]

    def owner(self, dag_id: str, path: str, body: bytes, runs: list[tuple[str, dict[str, Any]]]) -> str | None:
        """Which of ``runs`` (run_id, conf) sent this submit."""
        for run_id, conf in runs:
            ti = types.SimpleNamespace(dag_id=dag_id, task_id="run", run_id=run_id, map_index=-1)
            if self.platform == "dataiku":
                hit = path.endswith(f"/scenarios/{conf['scenario']}/run")
            elif self.platform == "aqueduct":
                hit = conf["experiment"].encode() in body
            elif self.platform == "digitalhub":
                hit = ti_tag_short({"ti": ti}).encode() in body
            else:
                hit = f"{ti_tag({'ti': ti})}]".encode() in body
            if hit:
                return run_id
        return None

    @staticmethod
    def cancelled(platform: str, run: Any) -> bool:
        marker = {"dataiku": "aborted_at", "digitalhub": "stopped_at", "paddleflow": "stopped_at", "aqueduct": "revoked_at"}[platform]
        return getattr(run, marker) is not None

    def finish_at(self, run: Any, when: float) -> None:
        """Make a (long) remote run end successfully at ``when``."""
        if self.platform == "dataiku":
            run.duration = when - run.start
            run.future.done_at = when
        elif self.platform == "digitalhub" or self.platform == "paddleflow":
            run.duration = when - run.created - run.pending_after
        else:
            run.duration = when - run.received - 0.1

    def delete(self, run: Any) -> None:
        """The run disappears from the platform (deleted by someone else)."""
        with getattr(self.state, "lock", None) or contextlib.nullcontext():
            if self.platform == "dataiku":
                run.scenario.runs.remove(run)
                run.future.done_at = time.time()
            elif self.platform == "digitalhub":
                for key, rec in list(self.state.runs.items()):
                    if rec is run:
                        del self.state.runs[key]
            elif self.platform == "paddleflow":
                self.state.runs.pop(run.run_id, None)
            else:
                self.state.tasks.pop(run.uuid, None)


def start_remote(platform: str, long_seconds: float, durations_by_dag: dict[str, float]) -> Remote:
    """Create and serve one emulator; DigitalHub runs last ``parameters.seconds``, PaddleFlow runs
    as long as their DAG's entry in ``durations_by_dag`` (the emulators' own knob is per server)."""
    module = emulator_module(platform)
    knobs: dict[str, Any] = {"generation": "tasks"} if platform == "aqueduct" else {"run_duration": long_seconds}
    emulator = module.create_app(**knobs)
    server = emulator.serve()
    remote = Remote(platform, emulator, server.url, server)
    state = emulator.state
    if platform == "digitalhub":
        state.add_project(DH_PROJECT)
        fn = state.add_function(DH_PROJECT, "work")
        task = state.add_task(DH_PROJECT, fn)
        remote.dh_task = f"python+job://{DH_PROJECT}/{task['id']}"
        original_dh = state.create_run

        def dh_create_run(project: str, body: dict[str, Any], user: str) -> Any:
            rec = original_dh(project, body, user)
            seconds = ((body.get("spec") or {}).get("parameters") or {}).get("seconds")
            if seconds is not None:
                rec.duration = float(seconds)
            return rec

        state.create_run = dh_create_run
    if platform == "paddleflow":
        original_pf = state.create_run

        def pf_create_run(*args: Any, **kwargs: Any) -> Any:
            run = original_pf(*args, **kwargs)
            for dag_id, seconds in durations_by_dag.items():
                if f"airflow:{dag_id}/" in run.description:
                    run.duration = seconds
            return run

        state.create_run = pf_create_run
    return remote
