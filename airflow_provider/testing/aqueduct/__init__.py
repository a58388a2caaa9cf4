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
import functools
import html
import json
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, File, Header, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from airflow_provider.testing import Emulator
from airflow_provider.testing.aqueduct import rules
from airflow_provider.testing.aqueduct.rules import RuleError, check
from airflow_provider.testing.server import FaultInjector, Faults

#: the schema both generations share; each adds its own types and fields (``GENERATION_SDL``)
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
type ExperimentData { uuid: UUID! title: String! eid: String! description: String createdAt: DateTime! createdBy: String! updatedAt: DateTime!
  tags: [String!]! files: [ExperimentFile!]! }
type ExperimentFile { name: String! path: String! modifiedAt: DateTime! }
type Experiments { experimentsData: [ExperimentData!]! totalExperimentsCount: Int! }
type ExtensionActionInfo { name: String! description: String parameters: [ExtensionParameterType!]! experimentVariableName: String }
type ExtensionInfo { name: String! description: String authors: String! actions: [ExtensionActionInfo!]! }
type ExtensionParameterType { name: String! displayName: String description: String dataType: String! defaultValue: String options: [String!] }
type Tags { tagsData: [String!]! totalTagsCount: Int! }
type UserInfo { username: String! scopes: [String!]! }
type Mutation {
  createExperiment(createExperimentInput: ExperimentCreateInput!): ExperimentData!
  updateExperiment(uuid: UUID!, experimentUpdateInput: ExperimentUpdateInput!): ExperimentData!
  addTagToExperiment(experimentTagInput: ExperimentTagInput!): ExperimentData!
  addTagsToExperiment(experimentTagsInput: ExperimentTagsInput!): ExperimentData!
  removeTagFromExperiment(experimentTagInput: ExperimentTagInput!): ExperimentData!
  removeExperiment(experimentRemoveInput: ExperimentRemoveInput!): Void
}
type Query {
  getCurrentUserInfo: UserInfo!
  experiments(offset: Int!, limit: Int!, filters: ExperimentFiltersInput = null): Experiments!
  experiment(experimentIdentifier: ExperimentIdentifierInput!): ExperimentData
  tags(limit: Int = null, offset: Int = null, filters: TagsFilters = null): Tags!
  extensions: [ExtensionInfo!]!
}
"""
GENERATION_SDL = {
    "released": """
type ExtensionExecutionResult { returnCode: Int! stdout: String! stderr: String! logExperiment: String! logFile: String! }
extend type Mutation { executeExtension(extension: String!, action: String!, params: [[String!]!]!): ExtensionExecutionResult! }
""",
    "tasks": """
input CancelTaskInput { taskId: UUID! }
input ExecuteExtensionInput { experimentUuid: UUID! extension: String! action: String! params: [[String!]!]! }
input TasksFilterInput { username: String = null extensionName: String = null actionName: String = null experiment: ExperimentIdentifierInput = null
  startDate: DateTime = null endDate: DateTime = null limit: Int = null offset: Int = null }
extend type ExperimentData { tasks: [TaskData!]! }
type KeyValuePair { key: ExtensionParameterType! value: String }
enum TaskStatus { FAILURE PENDING RECEIVED REVOKED STARTED SUCCESS }
type TaskData { uuid: UUID! experiment: ExperimentData! extensionName: String! actionName: String! parameters: [KeyValuePair!]! createdBy: String!
  receivedAt: DateTime! endedAt: DateTime taskStatus: TaskStatus! stdOut: String stdErr: String resultCode: Int }
type Tasks { tasksData: [TaskData!]! totalTasksCount: Int! }
extend type Mutation {
  executeExtension(executeExtensionInput: ExecuteExtensionInput!): TaskData!
  cancelTask(cancelTaskInput: CancelTaskInput!): TaskData!
}
extend type Query {
  task(taskId: UUID!): TaskData
  tasks(offset: Int!, limit: Int!, filters: TasksFilterInput = null): Tasks!
}
""",
}

SCOPES = ["experiment::view::own", "experiment::view::all", "experiment::create::own", "experiment::edit::own", "experiment::edit::all",
          "experiment::delete::own", "experiment::delete::all", "job::view::own", "job::view::all", "job::create", "job::cancel::own", "job::cancel::all"]  # fmt: skip
#: the released generation stops an action's script after this many seconds (``timeout=60`` in core 0.5.0)
SCRIPT_LIMIT = 60.0
#: the released server substitutes the extension venv's python for ``$python`` in the action's script
VENV_PYTHON = "/extensions/demo/.aqueduct-extension-venv/bin/python"


def _param(name: str, data_type: str, default: str | None = None, options: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "displayName": None, "description": name, "dataType": data_type, "defaultValue": default, "options": options}


DEMO_EXTENSION = {
    "name": "demo", "authors": "research@example.com", "description": "Demo extension: echo, fail, sleep",
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

T = TypeVar("T")


def now_iso(ts: float | None = None) -> str:
    return dt.datetime.fromtimestamp(ts if ts is not None else time.time(), tz=dt.UTC).isoformat()


def _utc(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.astimezone()).astimezone(dt.UTC)


def _by_uuid(table: dict[str, T], value: str, message: str) -> T:
    """An experiment or a task by its UUID; a malformed UUID is refused before the lookup."""
    try:
        key = str(uuidlib.UUID(str(value)))
    except ValueError:
        raise RuleError("badly formed hexadecimal UUID string") from None
    check(key in table, message)
    return table[key]


def _require(ok: bool, status: int, detail: str) -> None:
    """A files route's refusal: ``{"detail": ...}`` with its status."""
    if not ok:
        raise HTTPException(status, detail)


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

    def view(self) -> dict[str, Any]:
        """The task as the server reports it now: its Celery state follows from the clock."""
        now, started = time.time(), self.received + self.queue_delay
        end = started + self.duration
        ended: float | None = end
        stderr: str | None = self.stderr
        status = "SUCCESS" if self.code == 0 else "FAILURE"
        if self.revoked_at is not None and self.revoked_at < end:
            # revoked before a worker took it, or terminated while it ran
            status, ended, stderr = "REVOKED", self.revoked_at, "revoked" if self.revoked_at < started else "terminated"
        elif now < end:
            status, ended, stderr = ("PENDING" if now < started else "STARTED"), None, None
        done = status in ("SUCCESS", "FAILURE")
        return {"uuid": self.uuid, "extensionName": self.extension, "actionName": self.action, "createdBy": "admin",
                "receivedAt": now_iso(self.received), "endedAt": now_iso(ended) if ended else None, "taskStatus": status,
                "resultCode": self.code if done else None, "stdOut": self.stdout if done else None, "stdErr": stderr,
                "parameters": [{"key": d, "value": v} for d, v in self.params], "_experiment": self.experiment_uuid}  # fmt: skip


@dataclass
class AqueductState:
    generation: str = "released"
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, tuple[bytes, float]]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # lower -> first-seen spelling
    tasks: dict[str, Task] = field(default_factory=dict)
    extensions: list[dict[str, Any]] = field(default_factory=lambda: [DEMO_EXTENSION])
    lock: threading.RLock = field(default_factory=threading.RLock)
    # the timing knobs (``create_app``'s docstring)
    venv_build_seconds: float = 0.0
    script_limit: float = SCRIPT_LIMIT
    queue_delay: float = 0.1
    venvs: set[str] = field(default_factory=set)

    def create_experiment(self, title: str, description: str, tags: list[str]) -> dict[str, Any]:
        rules.text("title", title)
        rules.text("description", description)
        rules.tag_list(tags, "tags")
        check(len(tags) <= rules.TAGS_PER_EXPERIMENT, f"You can have a maximum of {rules.TAGS_PER_EXPERIMENT} tags in an experiment.")
        # the server makes a set of the tags (exact duplicates collapse); two spellings of a new tag collide on its key
        unique = list(dict.fromkeys(tags))
        new_keys = [t.lower() for t in unique if t.lower() not in self.tags]
        check(len(set(new_keys)) == len(new_keys), '(sqlalchemy.exc.IntegrityError) duplicate key value violates unique constraint "tags_pkey"')
        today = dt.datetime.now().strftime("%Y%m%d")
        used = [int(str(e["eid"]).split("-")[1]) for e in self.experiments.values() if e["eid"].startswith(today + "-")]
        now = time.time()
        exp: dict[str, Any] = {"uuid": str(uuidlib.uuid4()), "title": title, "description": description, "eid": f"{today}-{max(used, default=0) + 1}",
               "createdAt": now_iso(now), "updatedAt": now_iso(now + 0.000007), "createdBy": "admin", "tags": []}  # fmt: skip
        self.experiments[exp["uuid"]] = exp
        self.link_tags(exp, unique)
        return exp

    def by_uuid(self, value: str, message: str = "Non-existing experiment with the specified UUID for the user.") -> dict[str, Any]:
        return _by_uuid(self.experiments, value, message)

    def by_eid(self, eid: str) -> dict[str, Any]:
        found = [exp for exp in self.experiments.values() if exp["eid"] == eid]
        check(bool(found), "Non-existing experiment with the specified eid for the user.")
        return found[0]

    def link_tags(self, exp: dict[str, Any], tags: list[str]) -> None:
        # tags are keyed by their lower case; a tag keeps the spelling it was first created with, server-wide
        for tag in tags:
            spelling = self.tags.setdefault(tag.lower(), tag)
            if spelling.lower() not in [t.lower() for t in exp["tags"]]:
                exp["tags"].append(spelling)

    def validate(self, extension: str, action: str, params: list[list[str]]) -> list[tuple[dict[str, Any], str]]:
        """The action's declared parameters with the values given for them; the first call of an extension builds
        its venv before the parameters are looked at (the server blocks meanwhile)."""
        exts = [e for e in self.extensions if e["name"] == extension]
        check(len(exts) == 1, f"There should be exactly 1 extension with name {extension}")
        acts = [a for a in exts[0]["actions"] if a["name"] == action]
        check(len(acts) == 1, f"There should be exactly 1 action with name {action}")
        declared = {p["name"]: p for p in acts[0]["parameters"]}
        if extension not in self.venvs:
            time.sleep(self.venv_build_seconds)
            self.venvs.add(extension)
        given = {p[0]: p[1] for p in params if len(p) == 2}
        missing, unexpected = set(declared) - set(given), set(given) - set(declared)
        keys = f"Missing keys: {missing or '{}'}; Unexpected keys: {unexpected or '{}'}"
        check(not (missing or unexpected), f"Parameters error: keys don't match expected set. {keys}")
        return [(d, rules.parameter_value(d["dataType"], given[name], d["options"])) for name, d in declared.items()]

    def run_script(self, action: str, values: dict[str, str]) -> tuple[int, str, str, float]:
        """(return code, stdout, stderr, duration) of the demo actions."""
        if action == "fail":
            return int(values["code"]), "out-before-fail\n", "err-msg\n", 0.3
        if action == "sleep":
            return 0, f"slept {values['seconds']}\n", "", float(values["seconds"])
        line = " ".join(f"{k}={v}" for k, v in values.items() if k != "experiment")
        return 0, f"experiment={values['experiment']}\n{line}\n", "to-stderr\n", 0.2


def _resolvers(state: AqueductState) -> dict[str, Any]:
    """The root value: the Query and Mutation fields by name (graphql-core calls each with ``info`` and the arguments)."""

    def experiment(info: Any, experimentIdentifier: dict[str, str]) -> dict[str, Any]:
        value = experimentIdentifier["value"]
        if experimentIdentifier["type"] == "EID":
            return state.by_eid(value)
        return state.by_uuid(value, "DB query failed due to non-existing experiment with the specified UUID.")

    def experiments(info: Any, offset: int, limit: int, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        check(limit <= rules.LIST_LIMIT, f"Maximum allowed limit for experiments is {rules.LIST_LIMIT}")
        filters = filters or {}
        search = filters.get("title")
        rules.text("title", search, rules.TITLE_FILTER_MAX)
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
        return {"experimentsData": items[offset : offset + limit], "totalExperimentsCount": len(items)}

    def tags(info: Any, limit: int | None = None, offset: int | None = None, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        check(not limit or limit <= rules.LIST_LIMIT, f"Maximum allowed limit for tags is {rules.LIST_LIMIT}")
        linked = {t.lower() for e in state.experiments.values() for t in e["tags"]}
        names = [v for k, v in sorted(state.tags.items()) if (filters or {}).get("includeDangling") or k in linked]
        start = offset or 0
        return {"tagsData": names[start : start + limit] if limit else names[start:], "totalTagsCount": len(names)}

    def update(info: Any, uuid: str, experimentUpdateInput: dict[str, Any]) -> dict[str, Any]:
        changes = {k: experimentUpdateInput.get(k) for k in ("title", "description")}
        for key, value in changes.items():
            rules.text(key, value)
        exp = state.by_uuid(uuid)
        # the server ignores empty values: setting "" changes nothing
        exp.update({k: v for k, v in changes.items() if v}, updatedAt=now_iso())
        return exp

    def add_tags(info: Any, experimentTagsInput: dict[str, Any]) -> dict[str, Any]:
        """No cap on the count (only creation has one), no duplicates in one request."""
        tags = rules.tag_list(experimentTagsInput["tags"], "tags")
        exp = state.by_uuid(experimentTagsInput["uuid"])
        check(len({t.lower() for t in tags}) == len(tags), "Duplicate tags are not allowed in the request.")
        state.link_tags(exp, tags)
        return exp

    def remove_tag(info: Any, experimentTagInput: dict[str, Any]) -> dict[str, Any]:
        rules.tag(experimentTagInput["tag"])
        exp = state.by_uuid(experimentTagInput["uuid"])
        lower = experimentTagInput["tag"].lower()
        check(lower in [t.lower() for t in exp["tags"]], "DB query failed due to non-existing tag with the provided experiment.")
        exp["tags"] = [t for t in exp["tags"] if t.lower() != lower]
        return exp

    def remove(info: Any, experimentRemoveInput: dict[str, Any]) -> None:
        exp = state.by_uuid(experimentRemoveInput["uuid"])
        del state.experiments[exp["uuid"]]
        state.files.pop(exp["uuid"], None)
        for tid in [t.uuid for t in state.tasks.values() if t.experiment_uuid == exp["uuid"]]:
            del state.tasks[tid]

    def execute(info: Any, executeExtensionInput: dict[str, Any] | None = None, **released: Any) -> dict[str, Any]:
        """Core main takes one input and queues a task; core 0.5.0 takes the arguments and runs the script inside
        the request, on the server's only event loop: every other request waits."""
        i = executeExtensionInput or released
        exp = state.by_uuid(i["experimentUuid"], "Experiment not found in the database.") if executeExtensionInput else None
        validated = state.validate(i["extension"], i["action"], i["params"])
        values = {d["name"]: v for d, v in validated}
        code, out, err, duration = state.run_script(i["action"], values)
        if exp is not None:
            task = Task(str(uuidlib.uuid4()), exp["uuid"], i["extension"], i["action"], validated, time.time(), duration, code, out, err,
                        queue_delay=state.queue_delay)  # fmt: skip
            state.tasks[task.uuid] = task
            return task.view()
        # past the limit communicate(timeout=60) gives up, then leaving ``with Popen`` waits for the script anyway
        time.sleep(duration)
        check(duration <= state.script_limit, f"Command '{VENV_PYTHON} {i['action']}.py' timed out after {state.script_limit:g} seconds")
        target = state.by_eid(values["experiment"])
        log_name = f"{i['extension']}-{i['action']}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.log"
        state.files.setdefault(target["uuid"], {})[log_name] = (f"result code:\n{code}\n======\nstdout:\n{out}\n======\nstderr:\n{err}".encode(), time.time())
        return {"returnCode": code, "stdout": out, "stderr": err, "logExperiment": target["eid"], "logFile": log_name}

    def tasks(info: Any, offset: int, limit: int, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        check(limit <= rules.LIST_LIMIT, f"Maximum allowed limit for experiments is {rules.LIST_LIMIT}")  # sic: the task resolver reuses it
        f = filters or {}
        items = sorted(state.tasks.values(), key=lambda t: t.received, reverse=True)
        start, end = _utc(f.get("startDate")), _utc(f.get("endDate"))
        items = [t for t in items if (start is None or t.received >= start.timestamp()) and (end is None or t.received <= end.timestamp())]
        if f.get("username") is not None:
            items = [t for t in items if f["username"] == "admin"]  # every task is admin's on the open-source server
        for key, attr in (("extensionName", "extension"), ("actionName", "action")):
            items = [t for t in items if not f.get(key) or getattr(t, attr) == f[key]]
        if f.get("experiment"):
            check(f["experiment"]["type"] == "UUID", "Only UUID is supported as experiment identifier in Task filter")
            items = [t for t in items if t.experiment_uuid == f["experiment"]["value"]]
        return {"tasksData": [t.view() for t in items[offset : offset + limit]], "totalTasksCount": len(items)}

    def cancel(info: Any, cancelTaskInput: dict[str, Any]) -> dict[str, Any]:
        found = state.tasks.get(str(cancelTaskInput["taskId"]))
        if found is None:
            raise RuleError("DB query failed as task does not exist, or user has no access to cancel it.")
        before = found.view()  # the status at the time of the call, as Celery reports it
        if before["taskStatus"] in ("PENDING", "STARTED"):
            found.revoked_at = time.time()
        return before

    return {"getCurrentUserInfo": lambda _: {"username": "admin", "scopes": SCOPES}, "experiments": experiments, "experiment": experiment,
            "tags": tags, "extensions": lambda _: state.extensions, "updateExperiment": update, "addTagsToExperiment": add_tags,
            "createExperiment": lambda _, createExperimentInput: state.create_experiment(**createExperimentInput),
            "addTagToExperiment": lambda _, experimentTagInput: add_tags(_, {**experimentTagInput, "tags": [experimentTagInput["tag"]]}),
            "removeTagFromExperiment": remove_tag, "removeExperiment": remove, "executeExtension": execute, "tasks": tasks, "cancelTask": cancel,
            "task": lambda _, taskId: _by_uuid(state.tasks, taskId, "DB query failed due to non-existing task with the specified task id.").view()}  # fmt: skip


#: the timing knobs ``create_app`` passes on to the state (other platforms' knobs are ignored)
KNOBS = ("venv_build_seconds", "script_limit", "queue_delay")


def create_app(demo: bool = False, generation: str | None = None, **knobs: Any) -> Emulator:
    """``generation``: ``released`` (default) or ``tasks`` (default in demo mode, so the example waits on a task).

    ``venv_build_seconds``: how long an extension's first call builds its environment (the real server
    took 7 s with no requirements); ``script_limit``: the released generation's 60 s script limit;
    ``queue_delay``: how long a task stays PENDING before a worker starts it."""
    import graphql

    generation = generation or ("tasks" if demo else "released")
    if generation not in GENERATION_SDL:
        raise ValueError(f"generation must be 'released' or 'tasks', got {generation!r}")
    state = AqueductState(generation=generation, **{k: v for k, v in knobs.items() if k in KNOBS})
    schema, root = graphql.build_schema(COMMON_SDL + GENERATION_SDL[generation]), _resolvers(state)
    # an experiment's files and tasks are read only when a query selects them: a wait reads thousands of tasks
    # per request, each with its experiment, which must not list all of that experiment's tasks every time
    types: Any = schema.type_map
    types["ExperimentData"].fields["files"].resolve = lambda exp, _: [
        {"name": n, "path": f"/api/files/{exp['uuid']}", "modifiedAt": now_iso(m)} for n, (_, m) in state.files.get(exp["uuid"], {}).items()
    ]
    if generation == "tasks":
        types["ExperimentData"].fields["tasks"].resolve = lambda exp, _: [t.view() for t in state.tasks.values() if t.experiment_uuid == exp["uuid"]]
        types["TaskData"].fields["experiment"].resolve = lambda task, _: state.experiments[task["_experiment"]]
    graphql.assert_valid_schema(schema)

    # a wait's batched query is the same text every interval (the task ids are variables): parsing and
    # validating 500 aliases costs graphql-core about ten times what executing them does
    @functools.lru_cache(maxsize=64)
    def prepared(query: str) -> graphql.DocumentNode | list[graphql.GraphQLError]:
        """The parsed and validated query, or the errors graphql_sync would answer with."""
        try:
            document = graphql.parse(query)
        except graphql.GraphQLError as error:
            return [error]
        return graphql.validate(schema, document) or document

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
        document = prepared(body["query"])
        if isinstance(document, list):
            return JSONResponse(graphql.ExecutionResult(None, document).formatted)
        with state.lock:
            result = graphql.execute_sync(schema, document, root, variable_values=body.get("variables"), operation_name=body.get("operationName"))
        return JSONResponse(result.formatted)

    # path UUIDs are typed as on the server: a malformed one is FastAPI's 422 ``uuid_parsing``
    def files_of(exp_uuid: uuidlib.UUID, names: list[str], message: str = "Invalid file name.") -> dict[str, tuple[bytes, float]]:
        """The experiment's files, after the server's checks in its order: the names (400), then the experiment (404)."""
        _require(all(rules.file_name_ok(n) for n in names), 400, message)
        _require(str(exp_uuid) in state.experiments, 404, "The specified experiment was not found.")
        return state.files.setdefault(str(exp_uuid), {})

    @app.post("/api/files/{exp_uuid}")
    async def upload(exp_uuid: uuidlib.UUID, file: UploadFile | None = File(None), file_name: str | None = Header(None, convert_underscores=False)) -> Any:  # noqa: B008
        if file_name is None:
            raise HTTPException(422, "Filename header is missing.")
        present = files_of(exp_uuid, [file_name])
        if file is None:
            raise HTTPException(400, "The file is not sent correctly.")
        present[file_name] = (await file.read(), time.time())
        return {"result": f"Successfuly uploaded {file_name}"}

    @app.get("/api/files/{exp_uuid}/{file_name}")
    def download(exp_uuid: uuidlib.UUID, file_name: str) -> Any:
        found = files_of(exp_uuid, [file_name]).get(file_name)
        if found is None:
            raise HTTPException(404, "The requested file is not found.")
        media = "text/plain; charset=utf-8" if file_name.endswith((".txt", ".log", ".csv")) else "application/octet-stream"
        return Response(found[0], media_type=media)

    @app.post("/api/files/{exp_uuid}/delete_files")
    async def delete_files(exp_uuid: uuidlib.UUID, request: Request) -> Any:
        body = await request.json()
        names: Any = body.get("file_list") if isinstance(body, dict) else None
        _require(isinstance(names, list), 422, "file_list is required")
        names = list(dict.fromkeys(str(n) for n in names))
        _require(bool(names), 400, "File list can not be empty.")
        present = files_of(exp_uuid, names, "Invalid file names.")
        _require(bool(present), 400, "No files were found for this experiment")
        missing = [n for n in names if n not in present]
        _require(not missing, 409, f"File(s) not found - {rules.human_list(missing)}")
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

    if demo:
        exp = state.create_experiment("Calibration run", "seeded by the emulator", ["demo"])
        state.files[exp["uuid"]] = {"readme.txt": (b"calibration data goes here\n", time.time())}
    faults = Faults()
    return Emulator(app=FaultInjector(app, faults), state=state, faults=faults)


def connection(url: str, token: str | None = None) -> dict[str, Any]:
    return {"conn_type": "aqueduct", "host": url, **({"password": token} if token else {})}
