"""Aqueduct emulator (reference/aqueduct.md §6): the GraphQL API executed by graphql-core against the
server's own schema (both generations), plus the files REST routes.

``generation="released"`` (core 0.5.0): ``executeExtension(extension, action, params)`` runs the action
synchronously. ``generation="tasks"`` (core main): it returns a task (PENDING -> STARTED ->
SUCCESS/FAILURE/REVOKED) to poll with ``task`` and cancel with ``cancelTask``.

The seeded ``demo`` extension has actions ``echo`` (prints its parameters), ``fail`` (exits with
``code``) and ``sleep`` (runs ``seconds``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from string import Template
from typing import Any

from fastapi import FastAPI, File, Header, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from airflow_provider.testing import Emulator
from airflow_provider.testing.aqueduct import rules
from airflow_provider.testing.server import FaultInjector, Faults

COMMON_SDL = """
scalar DateTime
scalar UUID
scalar Void
enum IDType { UUID EID }
input ExperimentCreateInput { title: String! description: String! tags: [String!]! }
input ExperimentFiltersInput { title: String = null tags: [String!] = null shouldIncludeTags: [String!] = null startDate: DateTime = null endDate: DateTime = null }
input ExperimentIdentifierInput { type: IDType! value: String! }
input ExperimentRemoveInput { uuid: UUID! }
input ExperimentTagInput { uuid: UUID! tag: String! }
input ExperimentTagsInput { uuid: UUID! tags: [String!]! }
input ExperimentUpdateInput { title: String = null description: String = null }
input TagsFilters { includeDangling: Boolean = null }
type ExperimentFile { name: String! path: String! modifiedAt: DateTime! }
type Experiments { experimentsData: [ExperimentData!]! totalExperimentsCount: Int! }
type ExtensionActionInfo { name: String! description: String parameters: [ExtensionParameterType!]! experimentVariableName: String }
type ExtensionInfo { name: String! description: String authors: String! actions: [ExtensionActionInfo!]! }
type ExtensionParameterType { name: String! displayName: String description: String dataType: String! defaultValue: String options: [String!] }
type Tags { tagsData: [String!]! totalTagsCount: Int! }
type UserInfo { username: String! scopes: [String!]! }
"""

#: the fields both generations share, spliced into each generation's Mutation and Query types
COMMON_MUTATIONS = """
  createExperiment(createExperimentInput: ExperimentCreateInput!): ExperimentData!
  updateExperiment(uuid: UUID!, experimentUpdateInput: ExperimentUpdateInput!): ExperimentData!
  addTagToExperiment(experimentTagInput: ExperimentTagInput!): ExperimentData!
  addTagsToExperiment(experimentTagsInput: ExperimentTagsInput!): ExperimentData!
  removeTagFromExperiment(experimentTagInput: ExperimentTagInput!): ExperimentData!
  removeExperiment(experimentRemoveInput: ExperimentRemoveInput!): Void
"""
COMMON_QUERIES = """
  getCurrentUserInfo: UserInfo!
  experiments(offset: Int!, limit: Int!, filters: ExperimentFiltersInput = null): Experiments!
  experiment(experimentIdentifier: ExperimentIdentifierInput!): ExperimentData
  tags(limit: Int = null, offset: Int = null, filters: TagsFilters = null): Tags!
  extensions: [ExtensionInfo!]!
"""

RELEASED_SDL = (
    COMMON_SDL
    + """
type ExperimentData { uuid: UUID! title: String! eid: String! description: String createdAt: DateTime! createdBy: String! updatedAt: DateTime!
  tags: [String!]! files: [ExperimentFile!]! }
type ExtensionExecutionResult { returnCode: Int! stdout: String! stderr: String! logExperiment: String! logFile: String! }
type Mutation {
$mutations
  executeExtension(extension: String!, action: String!, params: [[String!]!]!): ExtensionExecutionResult!
}
type Query {
$queries
}
"""
)
RELEASED_SDL = Template(RELEASED_SDL).substitute(mutations=COMMON_MUTATIONS.strip("\n"), queries=COMMON_QUERIES.strip("\n"))

TASKS_SDL = (
    COMMON_SDL
    + """
input CancelTaskInput { taskId: UUID! }
input ExecuteExtensionInput { experimentUuid: UUID! extension: String! action: String! params: [[String!]!]! }
input TasksFilterInput { username: String = null extensionName: String = null actionName: String = null experiment: ExperimentIdentifierInput = null
  startDate: DateTime = null endDate: DateTime = null limit: Int = null offset: Int = null }
type ExperimentData { uuid: UUID! title: String! eid: String! description: String createdAt: DateTime! createdBy: String! updatedAt: DateTime!
  tags: [String!]! files: [ExperimentFile!]! tasks: [TaskData!]! }
type KeyValuePair { key: ExtensionParameterType! value: String }
enum TaskStatus { FAILURE PENDING RECEIVED REVOKED STARTED SUCCESS }
type TaskData { uuid: UUID! experiment: ExperimentData! extensionName: String! actionName: String! parameters: [KeyValuePair!]! createdBy: String!
  receivedAt: DateTime! endedAt: DateTime taskStatus: TaskStatus! stdOut: String stdErr: String resultCode: Int }
type Tasks { tasksData: [TaskData!]! totalTasksCount: Int! }
type Mutation {
$mutations
  executeExtension(executeExtensionInput: ExecuteExtensionInput!): TaskData!
  cancelTask(cancelTaskInput: CancelTaskInput!): TaskData!
}
type Query {
$queries
  task(taskId: UUID!): TaskData
  tasks(offset: Int!, limit: Int!, filters: TasksFilterInput = null): Tasks!
}
"""
)
TASKS_SDL = Template(TASKS_SDL).substitute(mutations=COMMON_MUTATIONS.strip("\n"), queries=COMMON_QUERIES.strip("\n"))

SCOPES = ["experiment::view::own", "experiment::view::all", "experiment::create::own", "experiment::edit::own", "experiment::edit::all",
          "experiment::delete::own", "experiment::delete::all", "job::view::own", "job::view::all", "job::create", "job::cancel::own", "job::cancel::all"]  # fmt: skip
#: the released generation stops an action's script after this many seconds (``timeout=60`` in core 0.5.0)
SCRIPT_LIMIT = 60.0


def _param(name: str, data_type: str, default: str | None = None, options: list[str] | None = None, description: str = "") -> dict[str, Any]:
    return {"name": name, "displayName": None, "description": description or name, "dataType": data_type, "defaultValue": default, "options": options}


DEMO_EXTENSION = {
    "name": "demo",
    "authors": "research@example.com",
    "description": "Demo extension: echo, fail, sleep",
    "actions": [
        {"name": "echo", "description": "prints its parameters", "experimentVariableName": "experiment",
         "parameters": [_param("experiment", "experiment"), _param("message", "str"), _param("count", "int", "1"), _param("flag", "bool", "0"),
                        _param("mode", "select", "fast", ["fast", "slow"])]},
        {"name": "fail", "description": "exits with the given code", "experimentVariableName": "experiment",
         "parameters": [_param("experiment", "experiment"), _param("code", "int", "3")]},
        {"name": "sleep", "description": "runs for the given seconds", "experimentVariableName": "experiment",
         "parameters": [_param("experiment", "experiment"), _param("seconds", "float", "1")]},
    ],
}  # fmt: skip


def now_iso(ts: float | None = None) -> str:
    return dt.datetime.fromtimestamp(ts if ts is not None else time.time(), tz=dt.UTC).isoformat()


class GraphQLFault(Exception):
    """An error a resolver reports (HTTP 200 with ``errors``, as strawberry does)."""


@dataclass
class Task:
    uuid: str
    experiment_uuid: str
    extension: str
    action: str
    params: list[tuple[dict[str, Any], str]]
    received: float
    duration: float
    code: int
    stdout: str
    stderr: str
    revoked_at: float | None = None
    queue_delay: float = 0.1

    @property
    def started(self) -> float:
        return self.received + self.queue_delay

    def revoked_while_queued(self) -> bool:
        return self.revoked_at is not None and self.revoked_at < self.started

    def status(self, now: float) -> tuple[str, float | None]:
        started = self.started
        end = started + self.duration
        if self.revoked_at is not None and self.revoked_at < end:
            return "REVOKED", self.revoked_at
        if now < started:
            return "PENDING", None
        if now < end:
            return "STARTED", None
        return ("SUCCESS" if self.code == 0 else "FAILURE"), end


@dataclass
class AqueductState:
    generation: str = "released"
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, tuple[bytes, float]]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # lower -> first-seen spelling
    tasks: dict[str, Task] = field(default_factory=dict)
    extensions: list[dict[str, Any]] = field(default_factory=lambda: [DEMO_EXTENSION])
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: seconds the first call of an extension spends building its environment (venv + requirements)
    venv_build_seconds: float = 0.0
    #: released generation: the script limit (the server answers with an error after it)
    script_limit: float = SCRIPT_LIMIT
    #: task generation: seconds a task stays queued (PENDING) before a worker starts it
    queue_delay: float = 0.1
    venvs: set[str] = field(default_factory=set)

    # --- experiments -----------------------------------------------------------------------
    def create_experiment(self, title: str, description: str, tags: list[str]) -> dict[str, Any]:
        rules.title(title)
        rules.description(description)
        rules.tag_list(tags, "tags")
        if len(tags) > rules.TAGS_PER_EXPERIMENT:
            raise GraphQLFault(f"You can have a maximum of {rules.TAGS_PER_EXPERIMENT} tags in an experiment.")
        # the server makes a set of the tags (exact duplicates collapse); two spellings of a new tag collide on its key
        unique = list(dict.fromkeys(tags))
        new_keys = [t.lower() for t in unique if t.lower() not in self.tags]
        if len(set(new_keys)) != len(new_keys):
            raise GraphQLFault('(sqlalchemy.exc.IntegrityError) duplicate key value violates unique constraint "tags_pkey"')
        today = dt.datetime.now().strftime("%Y%m%d")
        used = [int(str(e["eid"]).split("-")[1]) for e in self.experiments.values() if e["eid"].startswith(today + "-")]
        now = time.time()
        exp: dict[str, Any] = {"uuid": str(uuidlib.uuid4()), "title": title, "description": description, "eid": f"{today}-{max(used, default=0) + 1}",
               "createdAt": now_iso(now), "updatedAt": now_iso(now + 0.000007), "createdBy": "admin", "tags": []}  # fmt: skip
        self.experiments[exp["uuid"]] = exp
        self.link_tags(exp, unique)
        return exp

    def by_uuid(self, value: str, message: str = "Non-existing experiment with the specified UUID for the user.") -> dict[str, Any]:
        try:
            key = str(uuidlib.UUID(str(value)))
        except ValueError:
            raise GraphQLFault("badly formed hexadecimal UUID string") from None
        if key not in self.experiments:
            raise GraphQLFault(message)
        return self.experiments[key]

    def by_eid(self, eid: str) -> dict[str, Any]:
        for exp in self.experiments.values():
            if exp["eid"] == eid:
                return exp
        raise GraphQLFault("Non-existing experiment with the specified eid for the user.")

    def add_tags(self, exp: dict[str, Any], tags: list[str]) -> None:
        """``addTagsToExperiment``: no cap on the count (only creation has one), no duplicates in one request."""
        lowered = [t.lower() for t in tags]
        if len(set(lowered)) != len(lowered):
            raise GraphQLFault("Duplicate tags are not allowed in the request.")
        self.link_tags(exp, tags)

    def link_tags(self, exp: dict[str, Any], tags: list[str]) -> None:
        # tags are keyed by their lower case; a tag keeps the spelling it was first created with, server-wide
        for tag in tags:
            spelling = self.tags.setdefault(tag.lower(), tag)
            if spelling.lower() not in [t.lower() for t in exp["tags"]]:
                exp["tags"].append(spelling)

    def view(self, exp: dict[str, Any]) -> dict[str, Any]:
        files = [{"name": n, "path": f"/api/files/{exp['uuid']}", "modifiedAt": now_iso(m)} for n, (_, m) in self.files.get(exp["uuid"], {}).items()]
        out = {**exp, "tags": list(exp["tags"]), "files": files}
        if self.generation == "tasks":
            out["tasks"] = [self.task_view(t) for t in self.tasks.values() if t.experiment_uuid == exp["uuid"]]
        return out

    # --- extensions ------------------------------------------------------------------------
    def action(self, extension: str, action: str) -> dict[str, Any]:
        exts = [e for e in self.extensions if e["name"] == extension]
        if len(exts) != 1:
            raise GraphQLFault(f"There should be exactly 1 extension with name {extension}")
        acts: list[dict[str, Any]] = [a for a in exts[0]["actions"] if a["name"] == action]
        if len(acts) != 1:
            raise GraphQLFault(f"There should be exactly 1 action with name {action}")
        return acts[0]

    def validate(self, action: dict[str, Any], params: list[list[str]]) -> list[tuple[dict[str, Any], str]]:
        given = {p[0]: p[1] for p in params if len(p) == 2}
        declared = {p["name"]: p for p in action["parameters"]}
        missing, unexpected = set(declared) - set(given), set(given) - set(declared)
        if missing or unexpected:
            raise GraphQLFault(f"Parameters error: keys don't match expected set. Missing keys: {missing or '{}'}; Unexpected keys: {unexpected or '{}'}")
        return [(d, rules.parameter_value(d["dataType"], given[name], d["options"])) for name, d in declared.items()]

    def prepare_environment(self, extension: str) -> None:
        """The first call of an extension builds its venv before anything else happens (the server blocks meanwhile)."""
        if extension not in self.venvs:
            time.sleep(self.venv_build_seconds)
            self.venvs.add(extension)

    def run_script(self, action: str, values: dict[str, str]) -> tuple[int, str, str, float]:
        """(return code, stdout, stderr, duration) of the demo actions."""
        if action == "fail":
            return int(values["code"]), "out-before-fail\n", "err-msg\n", 0.3
        if action == "sleep":
            return 0, f"slept {values['seconds']}\n", "", float(values["seconds"])
        line = " ".join(f"{k}={v}" for k, v in values.items() if k != "experiment")
        return 0, f"experiment={values['experiment']}\n{line}\n", "to-stderr\n", 0.2

    def task_view(self, task: Task) -> dict[str, Any]:
        status, ended = task.status(time.time())
        done = status in ("SUCCESS", "FAILURE")
        revoked = ("revoked" if task.revoked_while_queued() else "terminated") if status == "REVOKED" else None
        return {"uuid": task.uuid, "extensionName": task.extension, "actionName": task.action, "createdBy": "admin", "receivedAt": now_iso(task.received),
                "endedAt": now_iso(ended) if ended else None, "taskStatus": status, "resultCode": task.code if done else None,
                "stdOut": task.stdout if done else None, "stdErr": task.stderr if done else revoked,
                "parameters": [{"key": d, "value": v} for d, v in task.params], "_experiment": task.experiment_uuid}  # fmt: skip


def _resolvers(state: AqueductState) -> dict[str, Any]:
    def experiment(_: Any, info: Any, experimentIdentifier: dict[str, str]) -> dict[str, Any]:
        value = experimentIdentifier["value"]
        if experimentIdentifier["type"] == "EID":
            return state.view(state.by_eid(value))
        return state.view(state.by_uuid(value, "DB query failed due to non-existing experiment with the specified UUID."))

    def experiments(_: Any, info: Any, offset: int, limit: int, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        if limit > rules.LIST_LIMIT:
            raise GraphQLFault(f"Maximum allowed limit for experiments is {rules.LIST_LIMIT}")
        filters = filters or {}
        search = filters.get("title")
        if search is not None:
            rules.title(search, rules.TITLE_FILTER_MAX)
        any_of = rules.tag_list(filters["tags"], "tags", rules.FILTER_TAGS_MAX) if filters.get("tags") is not None else None
        all_of = rules.tag_list(filters["shouldIncludeTags"], "should_include_tags", rules.FILTER_MUST_TAGS_MAX) if filters.get("shouldIncludeTags") is not None else None  # fmt: skip
        items = sorted(state.experiments.values(), key=lambda e: e["createdAt"], reverse=True)
        if search is not None:  # ILIKE '%search%' on the title or the EID
            items = [e for e in items if any(rules.like(f"%{search}%", e[k], case_insensitive=True) for k in ("title", "eid"))]
        start, end = (_utc(filters.get(k)) for k in ("startDate", "endDate"))
        items = [e for e in items if (start is None or _utc(e["createdAt"]) >= start) and (end is None or _utc(e["createdAt"]) <= end)]  # type: ignore[operator]
        if any_of is not None:
            wanted = {t.lower() for t in any_of}
            items = [e for e in items if wanted & {t.lower() for t in e["tags"]}]
        if all_of is not None:
            needed = {t.lower() for t in all_of}
            items = [e for e in items if needed <= {t.lower() for t in e["tags"]}]
        if not (all_of and rules.ARCHIVED in {t.lower() for t in all_of}):  # archived experiments are listed only when asked for
            items = [e for e in items if not rules.is_archived(t.lower() for t in e["tags"])]
        return {"experimentsData": [state.view(e) for e in items[offset : offset + limit]], "totalExperimentsCount": len(items)}

    def tags(_: Any, info: Any, limit: int | None = None, offset: int | None = None, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        if limit and limit > rules.LIST_LIMIT:
            raise GraphQLFault(f"Maximum allowed limit for tags is {rules.LIST_LIMIT}")
        linked = {t.lower() for e in state.experiments.values() for t in e["tags"]}
        names = [v for k, v in sorted(state.tags.items()) if (filters or {}).get("includeDangling") or k in linked]
        start = offset or 0
        return {"tagsData": names[start : start + limit] if limit else names[start:], "totalTagsCount": len(names)}

    def create(_: Any, info: Any, createExperimentInput: dict[str, Any]) -> dict[str, Any]:
        i = createExperimentInput
        return state.view(state.create_experiment(i["title"], i["description"], i["tags"]))

    def update(_: Any, info: Any, uuid: str, experimentUpdateInput: dict[str, Any]) -> dict[str, Any]:
        new_title, new_description = experimentUpdateInput.get("title"), experimentUpdateInput.get("description")
        if new_title is not None:
            rules.title(new_title)
        if new_description is not None:
            rules.description(new_description)
        exp = state.by_uuid(uuid)
        for key, value in (("title", new_title), ("description", new_description)):
            if value:  # the server ignores empty values: setting "" changes nothing
                exp[key] = value
        exp["updatedAt"] = now_iso()
        return state.view(exp)

    def add_tag(_: Any, info: Any, experimentTagInput: dict[str, Any]) -> dict[str, Any]:
        rules.tag(experimentTagInput["tag"])
        exp = state.by_uuid(experimentTagInput["uuid"])
        state.add_tags(exp, [experimentTagInput["tag"]])
        return state.view(exp)

    def add_tags(_: Any, info: Any, experimentTagsInput: dict[str, Any]) -> dict[str, Any]:
        rules.tag_list(experimentTagsInput["tags"], "tags")
        exp = state.by_uuid(experimentTagsInput["uuid"])
        state.add_tags(exp, experimentTagsInput["tags"])
        return state.view(exp)

    def remove_tag(_: Any, info: Any, experimentTagInput: dict[str, Any]) -> dict[str, Any]:
        rules.tag(experimentTagInput["tag"])
        exp = state.by_uuid(experimentTagInput["uuid"])
        lower = experimentTagInput["tag"].lower()
        if lower not in [t.lower() for t in exp["tags"]]:
            raise GraphQLFault("DB query failed due to non-existing tag with the provided experiment.")
        exp["tags"] = [t for t in exp["tags"] if t.lower() != lower]
        return state.view(exp)

    def remove(_: Any, info: Any, experimentRemoveInput: dict[str, Any]) -> None:
        exp = state.by_uuid(experimentRemoveInput["uuid"])
        del state.experiments[exp["uuid"]]
        state.files.pop(exp["uuid"], None)
        for tid in [t.uuid for t in state.tasks.values() if t.experiment_uuid == exp["uuid"]]:
            del state.tasks[tid]

    def execute_released(_: Any, info: Any, extension: str, action: str, params: list[list[str]]) -> dict[str, Any]:
        # core 0.5.0 runs all of this inside the request, on the server's only event loop: every other request waits
        definition = state.action(extension, action)
        state.prepare_environment(extension)
        values = dict((d["name"], v) for d, v in state.validate(definition, params))
        code, out, err, duration = state.run_script(action, values)
        if duration > state.script_limit:
            # communicate(timeout=60) gives up, then leaving ``with Popen`` waits for the script anyway
            time.sleep(duration)
            raise GraphQLFault(f"Command '{VENV_PYTHON} {action}.py' timed out after {state.script_limit:g} seconds")
        time.sleep(duration)
        target = state.by_eid(values["experiment"])
        log_name = f"{extension}-{action}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.log"
        state.files.setdefault(target["uuid"], {})[log_name] = (f"result code:\n{code}\n======\nstdout:\n{out}\n======\nstderr:\n{err}".encode(), time.time())
        return {"returnCode": code, "stdout": out, "stderr": err, "logExperiment": target["eid"], "logFile": log_name}

    def execute_task(_: Any, info: Any, executeExtensionInput: dict[str, Any]) -> dict[str, Any]:
        i = executeExtensionInput
        exp = state.by_uuid(i["experimentUuid"], "Experiment not found in the database.")
        definition = state.action(i["extension"], i["action"])
        state.prepare_environment(i["extension"])
        validated = state.validate(definition, i["params"])
        code, out, err, duration = state.run_script(i["action"], {d["name"]: v for d, v in validated})
        task = Task(
            str(uuidlib.uuid4()), exp["uuid"], i["extension"], i["action"], validated, time.time(), duration, code, out, err, queue_delay=state.queue_delay
        )
        state.tasks[task.uuid] = task
        return state.task_view(task)

    def task(_: Any, info: Any, taskId: str) -> dict[str, Any]:
        try:
            found = state.tasks.get(str(uuidlib.UUID(str(taskId))))
        except ValueError:
            raise GraphQLFault("badly formed hexadecimal UUID string") from None
        if found is None:
            raise GraphQLFault("DB query failed due to non-existing task with the specified task id.")
        return state.task_view(found)

    def tasks(_: Any, info: Any, offset: int, limit: int, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        if limit > rules.LIST_LIMIT:
            raise GraphQLFault(f"Maximum allowed limit for experiments is {rules.LIST_LIMIT}")  # sic: the task resolver reuses it
        f = filters or {}
        items = sorted(state.tasks.values(), key=lambda t: t.received, reverse=True)
        start, end = _utc(f.get("startDate")), _utc(f.get("endDate"))
        items = [t for t in items if (start is None or t.received >= start.timestamp()) and (end is None or t.received <= end.timestamp())]
        if f.get("username") is not None:
            items = [t for t in items if f["username"] == "admin"]  # every task is admin's on the open-source server
        if f.get("extensionName"):
            items = [t for t in items if t.extension == f["extensionName"]]
        if f.get("actionName"):
            items = [t for t in items if t.action == f["actionName"]]
        if f.get("experiment"):
            if f["experiment"]["type"] != "UUID":
                raise GraphQLFault("Only UUID is supported as experiment identifier in Task filter")
            items = [t for t in items if t.experiment_uuid == f["experiment"]["value"]]
        return {"tasksData": [state.task_view(t) for t in items[offset : offset + limit]], "totalTasksCount": len(items)}

    def cancel(_: Any, info: Any, cancelTaskInput: dict[str, Any]) -> dict[str, Any]:
        found = state.tasks.get(str(cancelTaskInput["taskId"]))
        if found is None:
            raise GraphQLFault("DB query failed as task does not exist, or user has no access to cancel it.")
        before = state.task_view(found)  # the status at the time of the call, as Celery reports it
        if found.status(time.time())[0] in ("PENDING", "STARTED"):
            found.revoked_at = time.time()
        return before

    query = {"getCurrentUserInfo": lambda *_: {"username": "admin", "scopes": SCOPES}, "experiments": experiments, "experiment": experiment,
             "tags": tags, "extensions": lambda *_: state.extensions}  # fmt: skip
    mutation = {"createExperiment": create, "updateExperiment": update, "addTagToExperiment": add_tag, "addTagsToExperiment": add_tags,
                "removeTagFromExperiment": remove_tag, "removeExperiment": remove}  # fmt: skip
    if state.generation == "tasks":
        query.update(task=task, tasks=tasks)
        mutation.update(executeExtension=execute_task, cancelTask=cancel)
    else:
        mutation["executeExtension"] = execute_released
    return {"Query": query, "Mutation": mutation}


#: the released server substitutes the extension venv's python for ``$python`` in the action's script
VENV_PYTHON = "/extensions/demo/.aqueduct-extension-venv/bin/python"


def _utc(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.astimezone()).astimezone(dt.UTC)


def build_schema(state: AqueductState) -> Any:
    import graphql

    schema = graphql.build_schema(TASKS_SDL if state.generation == "tasks" else RELEASED_SDL)
    for type_name, fields in _resolvers(state).items():
        gql_type = schema.get_type(type_name)
        for name, fn in fields.items():
            gql_type.fields[name].resolve = fn  # type: ignore[union-attr]
    if state.generation == "tasks":
        schema.get_type("TaskData").fields["experiment"].resolve = lambda task, info: state.view(state.experiments[task["_experiment"]])  # type: ignore[union-attr]
    return schema


def create_app(
    demo: bool = False,
    generation: str | None = None,
    venv_build_seconds: float = 0.0,
    script_limit: float = SCRIPT_LIMIT,
    queue_delay: float = 0.1,
    **_: Any,
) -> Emulator:
    """``generation``: ``released`` (default) or ``tasks`` (default in demo mode, so the example waits on a task).

    ``venv_build_seconds``: how long an extension's first call builds its environment (the real server
    took 7 s with no requirements); ``script_limit``: the released generation's 60 s script limit;
    ``queue_delay``: how long a task stays PENDING before a worker starts it."""
    import graphql

    generation = generation or ("tasks" if demo else "released")
    if generation not in ("released", "tasks"):
        raise ValueError(f"generation must be 'released' or 'tasks', got {generation!r}")
    state = AqueductState(generation=generation, venv_build_seconds=venv_build_seconds, script_limit=script_limit, queue_delay=queue_delay)
    schema = build_schema(state)
    app = FastAPI(title="Aqueduct emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/api/graphql")
    async def gql(request: Request) -> Response:
        if "json" not in request.headers.get("content-type", ""):
            return PlainTextResponse("Unsupported content type", status_code=400)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("Unable to parse request body as JSON", status_code=400)
        if not isinstance(body, dict) or not body.get("query"):
            return PlainTextResponse("No GraphQL query found in the request", status_code=400)
        with state.lock:
            result = graphql.graphql_sync(schema, body["query"], variable_values=body.get("variables"), operation_name=body.get("operationName"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(out)

    # path UUIDs are typed as on the server: a malformed one is FastAPI's 422 ``uuid_parsing``
    def _exp_or_404(exp_uuid: uuidlib.UUID) -> dict[str, Any]:
        exp = state.experiments.get(str(exp_uuid))
        if exp is None:
            raise _Http(404, "The specified experiment was not found.")
        return exp

    @app.post("/api/files/{exp_uuid}")
    async def upload(exp_uuid: uuidlib.UUID, file: UploadFile | None = File(None), file_name: str | None = Header(None, convert_underscores=False)) -> Any:  # noqa: B008
        if file_name is None:
            raise _Http(422, "Filename header is missing.")
        if not rules.file_name_ok(file_name):
            raise _Http(400, "Invalid file name.")
        _exp_or_404(exp_uuid)
        if file is None:
            raise _Http(400, "The file is not sent correctly.")
        state.files.setdefault(str(exp_uuid), {})[file_name] = (await file.read(), time.time())
        return {"result": f"Successfuly uploaded {file_name}"}

    @app.get("/api/files/{exp_uuid}/{file_name}")
    def download(exp_uuid: uuidlib.UUID, file_name: str) -> Any:
        if not rules.file_name_ok(file_name):
            raise _Http(400, "Invalid file name.")
        _exp_or_404(exp_uuid)
        found = state.files.get(str(exp_uuid), {}).get(file_name)
        if found is None:
            raise _Http(404, "The requested file is not found.")
        media = "text/plain; charset=utf-8" if file_name.endswith((".txt", ".log", ".csv")) else "application/octet-stream"
        return Response(found[0], media_type=media)

    @app.post("/api/files/{exp_uuid}/delete_files")
    async def delete_files(exp_uuid: uuidlib.UUID, request: Request) -> Any:
        body = await request.json()
        names = body.get("file_list") if isinstance(body, dict) else None
        if not isinstance(names, list):
            raise _Http(422, "file_list is required")
        names = list(dict.fromkeys(str(n) for n in names))
        if not names:
            raise _Http(400, "File list can not be empty.")
        if not all(rules.file_name_ok(n) for n in names):
            raise _Http(400, "Invalid file names.")
        _exp_or_404(exp_uuid)
        present = state.files.get(str(exp_uuid))
        if not present:
            raise _Http(400, "No files were found for this experiment")
        missing = [n for n in names if n not in present]
        if missing:
            raise _Http(409, f"File(s) not found - {rules.human_list(missing)}")
        for name in names:
            del present[name]
        return {"result": f"Successfully deleted {rules.human_list(sorted(names))}"}

    # the web UI (a single-page app): the routes of its router, the experiment page looked up by EID
    @app.get("/aqd/experiments/{eid}")
    def experiment_page(eid: str) -> Response:
        with state.lock:
            found = next((e for e in state.experiments.values() if e["eid"] == eid), None)
        body = f"<h1>{html.escape(found['title'])}</h1><p>{found['eid']}</p>" if found else "<p>Experiment not found</p>"
        return HTMLResponse(f"<!doctype html><title>Aqueduct</title><div id=root>{body}</div>")

    @app.exception_handler(Exception)
    async def http_error(_: Request, exc: Exception) -> Response:
        if isinstance(exc, _Http):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)
        return PlainTextResponse("Internal Server Error", status_code=500)

    if demo:
        exp = state.create_experiment("Calibration run", "seeded by the emulator", ["demo"])
        state.files[exp["uuid"]] = {"readme.txt": (b"calibration data goes here\n", time.time())}
    faults = Faults()
    return Emulator(app=FaultInjector(app, faults), state=state, faults=faults)


class _Http(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def connection(url: str, token: str | None = None) -> dict[str, Any]:
    conn: dict[str, Any] = {"conn_type": "aqueduct", "host": url}
    if token:
        conn["password"] = token
    return conn
