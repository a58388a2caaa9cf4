"""Make things happen on the emulated platforms "outside Airflow", for event-trigger tests and the demo.

Each function starts remote work through the platform's sync hook (connection ``<platform>_default``
unless given) and returns the remote id; the emulator finishes it on its own clock.
"""

from __future__ import annotations

import uuid
from typing import Any

PF_YAML = """name: {name}
docker_env: python:3.11-slim
entry_points:
  train:
    command: echo training
"""


def dss_scenario_run(project_key: str, scenario_id: str, conn_id: str = "dataiku_default") -> str:
    from airflow_provider.dataiku.hook import DataikuHook

    hook = DataikuHook(conn_id)
    fire = hook.run_scenario(project_key, scenario_id)
    run = hook.wait_for_scenario_run(project_key, scenario_id, fire, poll_interval=0.05)
    if run is None:
        raise RuntimeError(f"{project_key}.{scenario_id} did not start")
    return run.run_id


def digitalhub_function(state: Any, project: str, function: str = "train") -> str:
    """Seed (in the emulator's state) a project, a function and a task; returns the task string."""
    if project not in state.projects:
        state.add_project(project)
    fn = state.add_function(project, function, uuid.uuid4().hex)
    task = state.add_task(project, fn)
    return f"{task['kind']}://{project}/{task['id']}"


def digitalhub_run(project: str, task: str, fail: bool = False, conn_id: str = "digitalhub_default") -> str:
    from airflow_provider.digitalhub.hook import DigitalHubHook

    run = DigitalHubHook(conn_id).new_run(project, "python+job:run", task=task, parameters={"fail": fail})
    return str(run.id)


def paddleflow_run(name: str = "train", conn_id: str = "paddleflow_default") -> str:
    from airflow_provider.paddleflow.hook import PaddleFlowHook

    return str(PaddleFlowHook(conn_id).create_run(run_yaml_raw=PF_YAML.format(name=name), run_name=name))


def aqueduct_tag(tag: str, title: str | None = None, conn_id: str = "aqueduct_default") -> str:
    from airflow_provider.aqueduct.hook import AqueductHook

    hook = AqueductHook(conn_id)
    exp = hook.create_experiment(title or f"exp {uuid.uuid4().hex[:8]}", "made outside Airflow", [])
    hook.add_tags(exp.uuid, [tag])
    return str(exp.uuid)


def aqueduct_task(action: str = "echo", conn_id: str = "aqueduct_default", **params: Any) -> str:
    from airflow_provider.aqueduct.hook import AqueductHook

    hook = AqueductHook(conn_id)
    exp = hook.create_experiment(f"exp {uuid.uuid4().hex[:8]}", "made outside Airflow", [])
    defaults: dict[str, dict[str, Any]] = {"echo": {"message": "hello", "count": 1, "flag": 0, "mode": "fast"}, "fail": {"code": 3}, "sleep": {"seconds": 0.2}}
    values = [["experiment", exp.eid], *([k, str(v)] for k, v in {**defaults.get(action, {}), **params}.items())]
    task = hook.execute_extension("demo", action, values, experiment_uuid=exp.uuid)
    from airflow_provider.aqueduct.models import Task

    if not isinstance(task, Task):
        raise RuntimeError("this Aqueduct server does not run actions as tasks")
    return task.uuid
