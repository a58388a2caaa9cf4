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
import json
import re
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from string import Template
from typing import Any

from fastapi import FastAPI, File, Header, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from airflow_provider.testing import Emulator
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
TAG_RE = re.compile(r"^[a-zA-Z0-9\-_:/]{1,64}$")
EID_RE = re.compile(r"^\d+-[a-zA-Z0-9]+$")
FILE_NAME_RE = re.compile(r"^[^/\\\x00]+$")


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

    def status(self, now: float) -> tuple[str, float | None]:
        started = self.received + 0.1
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

    # --- experiments -----------------------------------------------------------------------
    def create_experiment(self, title: str, description: str, tags: list[str]) -> dict[str, Any]:
        if len(title) > 256:
            raise GraphQLFault("Title should be maximum 256 characters long.")
        today = dt.datetime.now().strftime("%Y%m%d")
        used = [int(e["eid"].split("-")[1]) for e in self.experiments.values() if e["eid"].startswith(today + "-")]
        now = time.time()
        exp = {"uuid": str(uuidlib.uuid4()), "title": title, "description": description, "eid": f"{today}-{max(used, default=0) + 1}",
               "createdAt": now_iso(now), "updatedAt": now_iso(now + 0.000007), "createdBy": "admin", "tags": []}  # fmt: skip
        self.experiments[exp["uuid"]] = exp
        self.add_tags(exp, tags)
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
        lowered = [t.lower() for t in tags]
        if len(set(lowered)) != len(lowered):
            raise GraphQLFault("Duplicate tags are not allowed in the request.")
        for tag in tags:
            if not tag:
                raise GraphQLFault("Tag cannot be empty")
            if not TAG_RE.match(tag):
                raise GraphQLFault("Tag can only contain alphanumeric characters, colons, hyphens, underscores and slashes")
        for tag in tags:
            spelling = self.tags.setdefault(tag.lower(), tag)
            if spelling.lower() not in [t.lower() for t in exp["tags"]]:
                exp["tags"].append(spelling)
        exp["updatedAt"] = now_iso()

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
        acts = [a for a in exts[0]["actions"] if a["name"] == action]
        if len(acts) != 1:
            raise GraphQLFault(f"There should be exactly 1 action with name {action}")
        return acts[0]

    def validate(self, action: dict[str, Any], params: list[list[str]]) -> list[tuple[dict[str, Any], str]]:
        given = {p[0]: p[1] for p in params if len(p) == 2}
        declared = {p["name"]: p for p in action["parameters"]}
        missing, unexpected = set(declared) - set(given), set(given) - set(declared)
        if missing or unexpected:
            raise GraphQLFault(f"Parameters error: keys don't match expected set. Missing keys: {missing or '{}'}; Unexpected keys: {unexpected or '{}'}")
        out = []
        for name, definition in declared.items():
            value, kind = given[name], definition["dataType"]
            if kind == "int":
                try:
                    value = str(int(value))
                except ValueError:
                    raise GraphQLFault(f"{value} is not int.") from None
            elif kind == "float":
                try:
                    value = str(float(value))
                except ValueError:
                    raise GraphQLFault(f"{value} is not float.") from None
            elif kind == "bool":
                if value.lower() not in ("true", "false", "1", "0"):
                    raise GraphQLFault(f"{value} is not bool.")
                value = "1" if value.lower() in ("true", "1") else "0"
            elif kind == "select" and value not in (definition["options"] or []):
                raise GraphQLFault(f"{value} is not in {definition['options']}.")
            elif kind == "experiment" and not EID_RE.match(value):
                raise GraphQLFault(f"{value} is not a valid experiment id.")
            out.append((definition, value))
        return out

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
        return {"uuid": task.uuid, "extensionName": task.extension, "actionName": task.action, "createdBy": "admin", "receivedAt": now_iso(task.received),
                "endedAt": now_iso(ended) if ended else None, "taskStatus": status, "resultCode": task.code if done else None,
                "stdOut": task.stdout if done else None, "stdErr": task.stderr if done else ("terminated" if status == "REVOKED" else None),
                "parameters": [{"key": d, "value": v} for d, v in task.params], "_experiment": task.experiment_uuid}  # fmt: skip


def _resolvers(state: AqueductState) -> dict[str, Any]:
    def experiment(_: Any, info: Any, experimentIdentifier: dict[str, str]) -> dict[str, Any]:
        value = experimentIdentifier["value"]
        if experimentIdentifier["type"] == "EID":
            return state.view(state.by_eid(value))
        return state.view(state.by_uuid(value, "DB query failed due to non-existing experiment with the specified UUID."))

    def experiments(_: Any, info: Any, offset: int, limit: int, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        if limit > 500:
            raise GraphQLFault("Maximum allowed limit for experiments is 500")
        filters = filters or {}
        items = sorted(state.experiments.values(), key=lambda e: e["createdAt"], reverse=True)
        if filters.get("title"):
            needle = filters["title"].lower()
            items = [e for e in items if needle in e["title"].lower() or needle in e["eid"].lower()]
        if filters.get("tags"):
            wanted = {t.lower() for t in filters["tags"]}
            items = [e for e in items if wanted & {t.lower() for t in e["tags"]}]
        if filters.get("startDate"):
            items = [e for e in items if e["createdAt"] >= dt.datetime.fromisoformat(filters["startDate"]).astimezone(dt.UTC).isoformat()]
        if filters.get("endDate"):
            items = [e for e in items if e["createdAt"] <= dt.datetime.fromisoformat(filters["endDate"]).astimezone(dt.UTC).isoformat()]
        return {"experimentsData": [state.view(e) for e in items[offset : offset + limit]], "totalExperimentsCount": len(items)}

    def tags(_: Any, info: Any, limit: int | None = None, offset: int | None = None, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        linked = {t.lower() for e in state.experiments.values() for t in e["tags"]}
        names = [v for k, v in sorted(state.tags.items()) if (filters or {}).get("includeDangling") or k in linked]
        start = offset or 0
        return {"tagsData": names[start : start + limit] if limit else names[start:], "totalTagsCount": len(names)}

    def create(_: Any, info: Any, createExperimentInput: dict[str, Any]) -> dict[str, Any]:
        i = createExperimentInput
        return state.view(state.create_experiment(i["title"], i["description"], i["tags"]))

    def update(_: Any, info: Any, uuid: str, experimentUpdateInput: dict[str, Any]) -> dict[str, Any]:
        exp = state.by_uuid(uuid)
        for key in ("title", "description"):
            if experimentUpdateInput.get(key) is not None:
                exp[key] = experimentUpdateInput[key]
        exp["updatedAt"] = now_iso()
        return state.view(exp)

    def add_tag(_: Any, info: Any, experimentTagInput: dict[str, Any]) -> dict[str, Any]:
        exp = state.by_uuid(experimentTagInput["uuid"])
        state.add_tags(exp, [experimentTagInput["tag"]])
        return state.view(exp)

    def add_tags(_: Any, info: Any, experimentTagsInput: dict[str, Any]) -> dict[str, Any]:
        exp = state.by_uuid(experimentTagsInput["uuid"])
        state.add_tags(exp, experimentTagsInput["tags"])
        return state.view(exp)

    def remove_tag(_: Any, info: Any, experimentTagInput: dict[str, Any]) -> dict[str, Any]:
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
        values = dict((d["name"], v) for d, v in state.validate(state.action(extension, action), params))
        target = state.by_eid(values["experiment"])
        code, out, err, _duration = state.run_script(action, values)
        log_name = f"{extension}-{action}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.log"
        state.files.setdefault(target["uuid"], {})[log_name] = (f"result code:\n{code}\n======\nstdout:\n{out}\n======\nstderr:\n{err}".encode(), time.time())
        return {"returnCode": code, "stdout": out, "stderr": err, "logExperiment": target["eid"], "logFile": log_name}

    def execute_task(_: Any, info: Any, executeExtensionInput: dict[str, Any]) -> dict[str, Any]:
        i = executeExtensionInput
        exp = state.by_uuid(i["experimentUuid"], "Experiment not found in the database.")
        validated = state.validate(state.action(i["extension"], i["action"]), i["params"])
        code, out, err, duration = state.run_script(i["action"], {d["name"]: v for d, v in validated})
        task = Task(str(uuidlib.uuid4()), exp["uuid"], i["extension"], i["action"], validated, time.time(), duration, code, out, err)
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
        if limit > 500:
            raise GraphQLFault("Maximum allowed limit for tasks is 500")
        f = filters or {}
        items = sorted(state.tasks.values(), key=lambda t: t.received, reverse=True)
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


def create_app(demo: bool = False, generation: str | None = None, **_: Any) -> Emulator:
    """``generation``: ``released`` (default) or ``tasks`` (default in demo mode, so the example waits on a task)."""
    import graphql

    generation = generation or ("tasks" if demo else "released")
    if generation not in ("released", "tasks"):
        raise ValueError(f"generation must be 'released' or 'tasks', got {generation!r}")
    state = AqueductState(generation=generation)
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

    def _exp_or_404(exp_uuid: str) -> dict[str, Any]:
        exp = state.experiments.get(exp_uuid)
        if exp is None:
            raise _Http(404, "The specified experiment was not found.")
        return exp

    @app.post("/api/files/{exp_uuid}")
    async def upload(exp_uuid: str, file: UploadFile | None = File(None), file_name: str | None = Header(None, convert_underscores=False)) -> Any:  # noqa: B008
        if not file_name:
            raise _Http(422, "Filename header is missing.")
        _exp_or_404(exp_uuid)
        if not FILE_NAME_RE.match(file_name) or file_name in (".", ".."):
            raise _Http(400, "Invalid file name.")
        if file is None:
            raise _Http(400, "The file is not sent correctly.")
        state.files.setdefault(exp_uuid, {})[file_name] = (await file.read(), time.time())
        return {"result": f"Successfuly uploaded {file_name}"}

    @app.get("/api/files/{exp_uuid}/{file_name}")
    def download(exp_uuid: str, file_name: str) -> Any:
        _exp_or_404(exp_uuid)
        found = state.files.get(exp_uuid, {}).get(file_name)
        if found is None:
            raise _Http(404, "The requested file is not found.")
        media = "text/plain; charset=utf-8" if file_name.endswith((".txt", ".log", ".csv")) else "application/octet-stream"
        return Response(found[0], media_type=media)

    @app.post("/api/files/{exp_uuid}/delete_files")
    async def delete_files(exp_uuid: str, request: Request) -> Any:
        _exp_or_404(exp_uuid)
        body = await request.json()
        names = body.get("file_list") if isinstance(body, dict) else None
        if not isinstance(names, list):
            raise _Http(422, "file_list is required")
        if not names:
            raise _Http(400, "File list can not be empty.")
        present = state.files.get(exp_uuid)
        if not present:
            raise _Http(400, "No files were found for this experiment")
        missing = sorted(n for n in names if n not in present)
        if missing:
            raise _Http(409, f"File(s) not found - {', '.join(missing)}")
        for name in names:
            del present[name]
        listed = sorted(names)
        text = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + f" and {listed[-1]}"
        return {"result": f"Successfully deleted {text}"}

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
