"""Aqueduct: GraphQL operations and files routes (seed 003; wire: reference/aqueduct.md §3), one flow each.

GraphQL answers errors with HTTP 200 and an ``errors`` list; :func:`gql` turns them into
:class:`GraphQLError`. Two server generations exist; :func:`detect_generation` tells them apart
by introspection (``executeExtension``'s arguments).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import uuid as uuidlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider.common.errors import ApiError, ConfigError, SubmitOutcomeUnknown
from airflow_provider.common.flow import Call, Flow, Shared
from airflow_provider.common.transport import quote_segment as q

EXP = "uuid title description eid createdAt updatedAt tags files { name path modifiedAt }"
TASK = "uuid extensionName actionName receivedAt createdBy endedAt resultCode stdErr stdOut taskStatus experiment { uuid eid }"
#: executing an action on the released generation waits for the script (up to 60 s server-side) and,
#: the first time, for a venv to be built: never the official client's 0.5 s
EXECUTE_TIMEOUT = 300.0
RELEASED, TASKS = "released", "tasks"
#: both generations: a title may have 256 characters, the title *filter* of ``experiments`` only 64
TITLE_MAX, TITLE_FILTER_MAX = 256, 64


class GraphQLError(ApiError):
    """The server answered HTTP 200 with GraphQL ``errors``."""


class ExecuteTimeout(SubmitOutcomeUnknown):
    """A released server did not answer an action's execution in time (it may still be running it)."""


#: resolver messages that mean "no such object" or "this query is wrong" (reference §2.3)
_PERMANENT_MESSAGE = re.compile(r"non-existing|not found|does not exist|no access|not supported|is required|must be|Maximum allowed", re.IGNORECASE)


def _permanent(errors: list[Any]) -> bool:
    """Validation errors (no ``path``: the query never ran) and not-found resolver errors cannot heal."""
    return any(not isinstance(e, dict) or "path" not in e or _PERMANENT_MESSAGE.search(str(e.get("message", ""))) for e in errors)


class Experiment(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    uuid: str
    title: str = ""
    description: str | None = None
    eid: str = ""
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    tags: list[str] = Field(default_factory=list)
    files: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def file_names(self) -> list[str]:
        return [f["name"] for f in self.files]


class ExtensionParameter(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    data_type: str = Field("str", alias="dataType")
    default_value: str | None = Field(None, alias="defaultValue")
    options: list[str] | None = None
    description: str | None = None


class ExtensionAction(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    description: str | None = None
    experiment_variable_name: str | None = Field(None, alias="experimentVariableName")
    parameters: list[ExtensionParameter] = Field(default_factory=list)


class Extension(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None
    authors: str = ""
    actions: list[ExtensionAction] = Field(default_factory=list)


class Task(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    uuid: str
    extension_name: str = Field("", alias="extensionName")
    action_name: str = Field("", alias="actionName")
    task_status: str = Field("PENDING", alias="taskStatus")
    result_code: int | None = Field(None, alias="resultCode")
    std_out: str | None = Field(None, alias="stdOut")
    std_err: str | None = Field(None, alias="stdErr")
    received_at: str | None = Field(None, alias="receivedAt")
    ended_at: str | None = Field(None, alias="endedAt")
    experiment: dict[str, Any] | None = None
    parameters: list[dict[str, Any]] | None = None

    def parameter_values(self) -> dict[str, str]:
        return {str((p.get("key") or {}).get("name")): str(p.get("value")) for p in self.parameters or []}


class ExecutionResult(BaseModel):
    """What the released generation's synchronous ``executeExtension`` returns."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    return_code: int = Field(alias="returnCode")
    stdout: str = ""
    stderr: str = ""
    log_experiment: str = Field("", alias="logExperiment")
    log_file: str = Field("", alias="logFile")


def gql(query: str, variables: dict[str, Any] | None = None, field: str | None = None, read_timeout: float | None = None) -> Flow[Any]:
    is_mutation = query.lstrip().startswith("mutation")
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    answer = yield Call("POST", "/api/graphql", json=body, idempotent=not is_mutation, read_timeout=read_timeout)
    if not isinstance(answer, dict):
        raise ApiError(f"not a GraphQL answer: {str(answer)[:200]!r}", status=200, method="POST", url="/api/graphql")
    errors = answer.get("errors") or []
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors)
        err = GraphQLError(messages, status=200, code="GRAPHQL", method="POST", url="/api/graphql", details=errors)
        err.permanent = _permanent(errors)
        raise err
    data = answer.get("data") or {}
    return data.get(field) if field else data


# --- experiments -----------------------------------------------------------------------
def create_experiment(title: str, description: str, tags: list[str] | None = None) -> Flow[Experiment]:
    query = f"mutation CreateExperiment($title: String!, $description: String!, $tags: [String!]!) {{ createExperiment(createExperimentInput: {{title: $title, description: $description, tags: $tags}}) {{ {EXP} }} }}"
    return Experiment.model_validate((yield from gql(query, {"title": title, "description": description, "tags": tags or []}, "createExperiment")))


def _experiment(kind: str, value: str) -> Flow[Experiment]:
    query = (
        f"query GetExperimentByIdentifier($type: IDType!, $value: String!) {{ experiment(experimentIdentifier: {{value: $value, type: $type}}) {{ {EXP} }} }}"
    )
    return Experiment.model_validate((yield from gql(query, {"type": kind, "value": value}, "experiment")))


def get_experiment_by_eid(eid: str) -> Flow[Experiment]:
    return (yield from _experiment("EID", eid))


def get_experiment_by_uuid(uuid: str) -> Flow[Experiment]:
    return (yield from _experiment("UUID", str(uuid)))


def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(str(value))
    except ValueError:
        return False
    return True


def get_experiment(identifier: str) -> Flow[Experiment]:
    """By UUID or EID, whichever ``identifier`` looks like."""
    return (yield from (get_experiment_by_uuid(identifier) if is_uuid(identifier) else get_experiment_by_eid(identifier)))


def _iso(value: dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def find_experiments(
    search: str | None = None,
    limit: int = 10,
    offset: int = 0,
    tags: list[str] | None = None,
    start_datetime: dt.datetime | str | None = None,
    end_datetime: dt.datetime | str | None = None,
) -> Flow[list[Experiment]]:
    page = yield from find_experiments_page(search, limit, offset, tags, start_datetime, end_datetime)
    return page[0]


def find_experiments_page(
    search: str | None = None,
    limit: int = 10,
    offset: int = 0,
    tags: list[str] | None = None,
    start_datetime: dt.datetime | str | None = None,
    end_datetime: dt.datetime | str | None = None,
) -> Flow[tuple[list[Experiment], int]]:
    if search is not None and len(search) > TITLE_FILTER_MAX:
        raise ConfigError(
            f"search has {len(search)} characters; the server filters titles by at most {TITLE_FILTER_MAX}: search by a part of the title "
            "(title_search_key() gives one) and compare the titles found"
        )
    query = (
        "query GetExperiments($limit: Int!, $offset: Int!, $title: String = null, $startDate: DateTime = null, $endDate: DateTime = null, $tags: [String!] = null) "
        f"{{ experiments(filters: {{title: $title, startDate: $startDate, endDate: $endDate, tags: $tags}}, limit: $limit, offset: $offset) {{ experimentsData {{ {EXP} }} totalExperimentsCount }} }}"
    )
    variables = {"limit": limit, "offset": offset, "title": search, "startDate": _iso(start_datetime), "endDate": _iso(end_datetime), "tags": tags}
    data = yield from gql(query, variables, "experiments")
    return [Experiment.model_validate(e) for e in data["experimentsData"]], int(data["totalExperimentsCount"])


def title_search_key(title: str) -> str | None:
    """A title filter that finds the experiments titled exactly ``title`` (among others): the filter is a
    case-insensitive SQL ``ILIKE`` substring of at most 64 characters, where ``%`` and ``_`` match themselves
    too but a backslash escapes the next character, so take the longest backslash-free part, cut to 64."""
    part = max(title.split("\\"), key=len)[:TITLE_FILTER_MAX]
    return part or None


def find_all_experiments(search: str | None = None, tags: list[str] | None = None, page_size: int = 100, **dates: Any) -> Flow[list[Experiment]]:
    found: list[Experiment] = []
    while True:
        page, total = yield from find_experiments_page(search, page_size, len(found), tags, dates.get("start_datetime"), dates.get("end_datetime"))
        found.extend(page)
        if not page or len(found) >= total:
            return found


def remove_experiment_by_uuid(uuid: str) -> Flow[None]:
    yield from gql("mutation RemoveExperiment($uuid: UUID!) { removeExperiment(experimentRemoveInput: {uuid: $uuid}) }", {"uuid": str(uuid)})


def remove_experiment_by_eid(eid: str) -> Flow[None]:
    experiment = yield from get_experiment_by_eid(eid)
    yield from remove_experiment_by_uuid(experiment.uuid)


def update_experiment(uuid: str, title: str | None = None, description: str | None = None) -> Flow[Experiment]:
    query = f"mutation UpdateExperiment($uuid: UUID!, $title: String, $description: String) {{ updateExperiment(uuid: $uuid, experimentUpdateInput: {{title: $title, description: $description}}) {{ {EXP} }} }}"
    return Experiment.model_validate((yield from gql(query, {"uuid": str(uuid), "title": title, "description": description}, "updateExperiment")))


def add_tags(uuid: str, tags: list[str]) -> Flow[Experiment]:
    query = (
        f"mutation AddTagToExperiment($uuid: UUID!, $tags: [String!]!) {{ addTagsToExperiment(experimentTagsInput: {{uuid: $uuid, tags: $tags}}) {{ {EXP} }} }}"
    )
    return Experiment.model_validate((yield from gql(query, {"uuid": str(uuid), "tags": list(tags)}, "addTagsToExperiment")))


def remove_tag(uuid: str, tag: str) -> Flow[Experiment]:
    query = f"mutation RemoveTagFromExperiment($uuid: UUID!, $tag: String!) {{ removeTagFromExperiment(experimentTagInput: {{uuid: $uuid, tag: $tag}}) {{ {EXP} }} }}"
    return Experiment.model_validate((yield from gql(query, {"uuid": str(uuid), "tag": tag}, "removeTagFromExperiment")))


def get_tags(limit: int | None = None, offset: int | None = None, dangling: bool = True) -> Flow[list[str]]:
    query = "query GetAllTags($limit: Int, $offset: Int, $dangling: Boolean) { tags(limit: $limit, offset: $offset, filters: {includeDangling: $dangling}) { tagsData totalTagsCount } }"
    return list((yield from gql(query, {"limit": limit, "offset": offset, "dangling": dangling}, "tags"))["tagsData"])


# --- files -------------------------------------------------------------------------------
def upload_file(uuid: str, path: str | Path) -> Flow[str]:
    local = Path(path)
    if not local.is_file():
        raise ConfigError(f"file {str(local)!r} does not exist (nothing was uploaded)")
    name = local.name
    # Aqueduct stores the file under the file_name header, not the multipart filename
    answer = yield Call(
        "POST", f"/api/files/{q(uuid)}", headers={"file_name": name}, files={"file": (name, local.read_bytes(), "application/octet-stream")}, idempotent=True
    )
    return str((answer or {}).get("result", ""))


def list_files(uuid: str) -> Flow[list[dict[str, Any]]]:
    experiment = yield from get_experiment_by_uuid(uuid)
    return experiment.files


def download_file(uuid: str, name: str, dest_dir: str | Path) -> Flow[str]:
    """Fetch a file and write it to ``dest_dir/name`` only once the whole answer arrived with a 2xx
    (the official client writes the server's 404 body into the file)."""
    content = yield Call("GET", f"/api/files/{q(uuid)}/{q(name)}", expect="bytes", read_timeout=EXECUTE_TIMEOUT)
    target_dir = Path(dest_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".{name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    target = target_dir / name
    os.replace(tmp, target)
    return str(target)


def remove_files(uuid: str, files: list[str]) -> Flow[str]:
    answer = yield Call("POST", f"/api/files/{q(uuid)}/delete_files", json={"file_list": list(files)}, idempotent=True)
    return str((answer or {}).get("result", ""))


# --- extensions and tasks ----------------------------------------------------------------
def get_extensions() -> Flow[list[Extension]]:
    query = "query GetAllExtensionsQuery { extensions { name authors description actions { name description experimentVariableName parameters { name displayName description dataType defaultValue options } } } }"
    return [Extension.model_validate(e) for e in (yield from gql(query, None, "extensions"))]


def get_extension_action(extension: str, action: str) -> Flow[ExtensionAction]:
    extensions = yield from get_extensions()
    found = next((e for e in extensions if e.name == extension), None)
    if found is None:
        raise ConfigError(f"unknown extension {extension!r}; the server has: {', '.join(e.name for e in extensions) or 'none'}")
    act = next((a for a in found.actions if a.name == action), None)
    if act is None:
        raise ConfigError(f"extension {extension!r} has no action {action!r}; it has: {', '.join(a.name for a in found.actions) or 'none'}")
    return act


_EID = re.compile(r"^\d+-[a-zA-Z0-9]+$")


def validate_parameters(action: ExtensionAction, parameters: dict[str, Any]) -> list[list[str]]:
    """The action's declared parameters, checked and as strings; defaults fill the gaps (the server
    applies none and rejects any missing key)."""
    declared = {p.name: p for p in action.parameters}
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ConfigError(f"action {action.name!r} has no parameter(s) {', '.join(unknown)}; it declares: {', '.join(declared)}")
    out = []
    for name, spec in declared.items():
        if name in parameters and parameters[name] is not None:
            value: Any = parameters[name]
        elif spec.default_value is not None:
            value = spec.default_value
        else:
            raise ConfigError(f"action {action.name!r}: parameter {name!r} ({spec.data_type}) is required and has no default")
        text = _check_type(action.name, name, spec, value)
        out.append([name, text])
    return out


def _check_type(action: str, name: str, spec: ExtensionParameter, value: Any) -> str:
    kind = spec.data_type
    where = f"action {action!r}: parameter {name!r}"
    # values go as ``str(value)``, the way pyaqueduct sends them; the server checks and normalises them itself
    if kind in ("int", "float"):
        try:
            (int if kind == "int" else float)(str(value))
        except ValueError:
            raise ConfigError(f"{where} must be an {kind}, got {value!r}") from None
        return str(value)
    if kind == "bool":
        text = str(value).lower()
        if text not in ("true", "false", "1", "0"):
            raise ConfigError(f"{where} must be a bool, got {value!r}")
        # pyaqueduct sends str(True) == "True"; declared defaults come back from the server as "1"/"0"
        return "True" if text in ("true", "1") else "False"
    if kind == "select" and str(value) not in (spec.options or []):
        raise ConfigError(f"{where} must be one of {spec.options}, got {value!r}")
    if kind == "experiment" and not _EID.match(str(value)):
        raise ConfigError(f"{where} must be an experiment EID such as 20240101-1, got {value!r}")
    return str(value)


def detect_generation() -> Flow[str]:
    """``tasks`` when ``executeExtension`` takes an ``executeExtensionInput`` (core main), else ``released``."""
    fields = yield from gql('{ __type(name: "Mutation") { fields { name args { name } } } }', None, "__type")
    for f in (fields or {}).get("fields", []):
        if f["name"] == "executeExtension":
            return TASKS if any(a["name"] == "executeExtensionInput" for a in f["args"]) else RELEASED
    raise ApiError("this server has no executeExtension mutation: is it an Aqueduct server?", status=200)


def generation(max_age: float = 300.0) -> Flow[str]:
    """The detected generation, shared per connection for ``max_age`` seconds in the triggerer."""
    detected: str = yield Shared(("aqueduct-generation",), max_age, detect_generation())
    return detected


def execute_extension(
    extension: str, action: str, params: list[list[str]], experiment_uuid: str | None = None, timeout: float | None = None
) -> Flow[Task | ExecutionResult]:
    """Run an action: a :class:`Task` to poll on a task-based server, an :class:`ExecutionResult`
    (after the script ran) on a released server.

    ``timeout``: seconds to wait for the answer (default :data:`EXECUTE_TIMEOUT`). The released
    generation answers only when the script ended (it stops it after 60 s) and, on an extension's
    first call, after building its environment; when no answer came in time the request is not
    resent (the server may still be running the action) and :class:`ExecuteTimeout` says so."""
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout must be positive seconds, got {timeout!r}")
    wait = EXECUTE_TIMEOUT if timeout is None else float(timeout)
    gen = yield from generation()
    if gen == RELEASED:
        query = "mutation ExecuteExtension($extension: String!, $action: String!, $params: [[String!]!]!) { executeExtension(params: $params, extension: $extension, action: $action) { logExperiment logFile returnCode stderr stdout } }"
        try:
            data = yield from gql(query, {"extension": extension, "action": action, "params": params}, "executeExtension", read_timeout=wait)
        except SubmitOutcomeUnknown as exc:
            if exc.status is not None:
                raise
            raise ExecuteTimeout(
                f"{extension}/{action}: no answer within {wait:g} s ({exc.reason}). This server generation runs the action inside the request "
                "(up to 60 s of script, plus building the extension's environment on its first call), so it may still be running: "
                "its log file will appear in the experiment of its experiment parameter. It was not resent; raise timeout= if the action needs longer",
                method=exc.method,
                url=exc.url,
                reason=exc.reason,
                call=exc.call,
            ) from None
        return ExecutionResult.model_validate(data)
    if not experiment_uuid:
        raise ConfigError("this Aqueduct server runs actions as tasks owned by an experiment: pass the experiment (EID or UUID)")
    query = f"mutation ExecuteExtension($experimentUuid: UUID!, $extension: String!, $action: String!, $params: [[String!]!]!) {{ executeExtension(executeExtensionInput: {{experimentUuid: $experimentUuid, extension: $extension, action: $action, params: $params}}) {{ {TASK} }} }}"
    data = yield from gql(
        query, {"experimentUuid": experiment_uuid, "extension": extension, "action": action, "params": params}, "executeExtension", read_timeout=wait
    )
    return Task.model_validate(data)


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
                 "startDate": _iso(start_date), "endDate": _iso(end_date), "experiment": {"type": "UUID", "value": experiment_uuid} if experiment_uuid else None}  # fmt: skip
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


def get_current_user() -> Flow[dict[str, Any]]:
    return dict((yield from gql("{ getCurrentUserInfo { username scopes } }", None, "getCurrentUserInfo")))
