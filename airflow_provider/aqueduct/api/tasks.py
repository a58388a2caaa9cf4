"""Aqueduct extension tasks (task-based servers): read, list, find, cancel (wire: reference/aqueduct.md §3.6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from airflow_provider.aqueduct.api.graphql import gql, iso_datetime
from airflow_provider.aqueduct.models import Task
from airflow_provider.common.flow import Call, Flow

TASK = "uuid extensionName actionName receivedAt createdBy endedAt resultCode stdErr stdOut taskStatus experiment { uuid eid }"


def get_task(task_id: str) -> Flow[Task]:
    return Task.model_validate(
        (yield from gql(f"query GetTaskQuery($taskId: UUID!) {{ task(taskId: $taskId) {{ {TASK} }} }}", {"taskId": str(task_id)}, "task"))
    )


def get_tasks(
    limit: int = 10,
    offset: int = 0,
    extension_name: str | None = None,
    experiment_uuid: str | None = None,
    action_name: str | None = None,
    username: str | None = None,
    start_date: dt.datetime | str | None = None,
    end_date: dt.datetime | str | None = None,
) -> Flow[list[Task]]:
    query = (
        "query GetTasksQuery($limit: Int!, $offset: Int!, $extensionName: String = null, $actionName: String = null, $username: String = null, "
        "$startDate: DateTime = null, $endDate: DateTime = null, $experiment: ExperimentIdentifierInput = null) "
        "{ tasks(offset: $offset, limit: $limit, filters: {extensionName: $extensionName, actionName: $actionName, username: $username, "
        f"startDate: $startDate, endDate: $endDate, experiment: $experiment}}) {{ tasksData {{ {TASK} }} totalTasksCount }} }}"
    )
    # unlike the official client, the experiment filter is declared (it is otherwise ignored) and dates are serialised
    variables = {"limit": limit, "offset": offset, "extensionName": extension_name, "actionName": action_name, "username": username,
                 "startDate": iso_datetime(start_date), "endDate": iso_datetime(end_date), "experiment": {"type": "UUID", "value": experiment_uuid} if experiment_uuid else None}  # fmt: skip
    return [Task.model_validate(t) for t in (yield from gql(query, variables, "tasks"))["tasksData"]]


#: a waited task's state without its output (running tasks' stdout can be large and is not needed)
TASK_STATE = "uuid extensionName actionName taskStatus resultCode"


#: aliases per batched query: one HTTP request reads this many tasks
TASK_BATCH = 500


def get_tasks_by_id(task_ids: Sequence[str], fields: str = TASK) -> Flow[dict[str, Task]]:
    """Many tasks in one GraphQL request per ``TASK_BATCH``, one aliased ``task(taskId:)`` field each.

    A task the server cannot return (unknown id: an error for that alias, its field null) is absent
    from the answer, and so is everything when the whole request is refused: callers read those
    tasks one by one, which gives the precise error.
    """
    found: dict[str, Task] = {}
    ids = sorted(set(map(str, task_ids)))
    for start in range(0, len(ids), TASK_BATCH):
        chunk = ids[start : start + TASK_BATCH]
        declared = ", ".join(f"$t{i}: UUID!" for i in range(len(chunk)))
        selected = " ".join(f"t{i}: task(taskId: $t{i}) {{ {fields} }}" for i in range(len(chunk)))
        body = {"query": f"query BatchTasks({declared}) {{ {selected} }}", "variables": {f"t{i}": tid for i, tid in enumerate(chunk)}}
        answer = yield Call("POST", "/api/graphql", json=body, idempotent=True)
        data = (answer.get("data") if isinstance(answer, dict) else None) or {}
        for i, tid in enumerate(chunk):
            item = data.get(f"t{i}")
            if isinstance(item, dict):
                found[tid] = Task.model_validate(item)
    return found


def get_task_states(task_ids: Sequence[str]) -> Flow[dict[str, Task]]:
    return (yield from get_tasks_by_id(task_ids, TASK_STATE))


def find_action_tasks(experiment_uuid: str, extension: str, action: str, limit: int = 50) -> Flow[list[Task]]:
    """The newest tasks of one action on one experiment, with the parameters they were given: how the
    operator finds a task its submit may have started (Aqueduct tasks carry no free-form tag)."""
    query = (
        "query FindActionTasks($limit: Int!, $extensionName: String, $actionName: String, $experiment: ExperimentIdentifierInput) "
        "{ tasks(offset: 0, limit: $limit, filters: {extensionName: $extensionName, actionName: $actionName, experiment: $experiment}) "
        f"{{ tasksData {{ {TASK} parameters {{ key {{ name }} value }} }} totalTasksCount }} }}"
    )
    variables = {"limit": limit, "extensionName": extension, "actionName": action, "experiment": {"type": "UUID", "value": experiment_uuid}}
    return [Task.model_validate(t) for t in (yield from gql(query, variables, "tasks"))["tasksData"]]


def cancel_task(task_id: str) -> Flow[Task]:
    """Ask Celery to revoke the task; the answer is the status *at the time of the call*: poll after."""
    query = "mutation CancelTask($taskId: UUID!) { cancelTask(cancelTaskInput: {taskId: $taskId}) { uuid resultCode taskStatus } }"
    return Task.model_validate((yield from gql(query, {"taskId": str(task_id)}, "cancelTask")))
