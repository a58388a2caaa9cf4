"""DHCore endpoints (seed 002; wire: reference/digitalhub.md §4, §6), one flow each."""

from __future__ import annotations

import base64
import re
import uuid as uuidlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_provider.common.errors import ConfigError, NotFoundError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.common.transport import quote_segment as q
from airflow_provider.digitalhub.models import Project, Run

RUN_KEY = re.compile(r"^store://(?P<project>[^/]+)/run/(?P<kind>[^/]+)/(?P<id>[^/:]+)(?::(?P=id))?$")
TASK_STRING = re.compile(r"^(?P<kind>[^:/]+)://(?P<project>[^/]+)/(?P<id>[^:/]+)$")
RUN_KIND = re.compile(r"^[a-zA-Z0-9._-]+\+[a-zA-Z0-9._-]+:run$")
LEGACY_KIND = re.compile(r"^[a-zA-Z0-9._-]+\+run$")
PAGE_SIZE = 50


def check_kind(kind: str) -> str:
    """DHCore 0.15 run kinds are ``<task kind>:run``; the seed's older ``python+run`` is refused clearly."""
    if LEGACY_KIND.match(kind):
        runtime = kind.split("+", 1)[0]
        raise ConfigError(f"run kind {kind!r} is the pre-0.15 naming that DHCore no longer accepts; use '<runtime>+<action>:run', e.g. {runtime}+job:run")
    if not RUN_KIND.match(kind):
        raise ConfigError(f"run kind {kind!r} is not a DHCore run kind; expected '<runtime>+<action>:run', e.g. python+job:run")
    return kind


def parse_key(identifier: str, project: str | None = None) -> tuple[str, str]:
    """``(project, id)`` from a run key (``store://p/run/<kind>/<id>`` or with ``:<id>``) or an id + project."""
    if identifier.startswith("store://"):
        m = RUN_KEY.match(identifier)
        if not m:
            raise ConfigError(f"malformed run key {identifier!r}: expected store://<project>/run/<kind>/<id>")
        return m["project"], m["id"]
    if "/" in identifier or not identifier:
        raise ConfigError(f"run identifier {identifier!r} is neither a key (store://...) nor an id")
    if not project:
        raise ConfigError(f"run id {identifier!r} given without a project: pass project=... or the full key store://<project>/run/<kind>/<id>")
    return project, identifier


def _runs(project: str) -> str:
    return f"/api/v1/-/{q(project)}/runs"


# --- projects --------------------------------------------------------------------------
def get_project(name: str) -> Flow[Project]:
    data = yield Call("GET", f"/api/v1/projects/{q(name)}")
    return Project.model_validate(data)


def create_project(name: str, description: str | None = None, **spec: Any) -> Flow[Project]:
    body = {"kind": "project", "id": name, "name": name, "metadata": {"project": name, "name": name, "description": description}, "spec": spec}
    data = yield Call("POST", "/api/v1/projects", json=body)
    return Project.model_validate(data)


def get_or_create_project(name: str, **spec: Any) -> Flow[Project]:
    try:
        return (yield from get_project(name))
    except NotFoundError:
        return (yield from create_project(name, **spec))


# --- runs ------------------------------------------------------------------------------
def new_run(
    project: str,
    kind: str,
    uuid: str | None = None,
    labels: list[str] | None = None,
    task: str | None = None,
    local_execution: bool = False,
    **kwargs: Any,
) -> Flow[Run]:
    """Create a run; unless ``local_execution``, DHCore builds and dispatches it in this same call."""
    check_kind(kind)
    if task is None:
        raise ConfigError("new_run needs task='<task kind>://<project>/<task id>' (the task the run executes)")
    if not TASK_STRING.match(task):
        raise ConfigError(f"task {task!r} is not a task string; expected '<task kind>://<project>/<task id>', e.g. python+job://{project}/<id>")
    run_id = uuid or uuidlib.uuid4().hex
    body = {
        "kind": kind,
        "project": project,
        "id": run_id,
        "name": run_id,
        "metadata": {"project": project, "name": run_id, **({"labels": list(labels)} if labels else {})},
        "spec": {**kwargs, "task": task, "local_execution": local_execution},
        "status": {"state": "CREATED"},
    }
    # creating a run starts it: never resent blindly (the operator re-attaches by label instead)
    data = yield Call("POST", _runs(project), json=body)
    return Run.model_validate(data)


def get_run(identifier: str, project: str | None = None) -> Flow[Run]:
    project, run_id = parse_key(identifier, project)
    data = yield Call("GET", f"{_runs(project)}/{q(run_id)}")
    return Run.model_validate(data)


def list_runs_page(project: str, page: int = 0, size: int = PAGE_SIZE, **filters: Any) -> Flow[dict[str, Any]]:
    data = yield Call("GET", _runs(project), params={**filters, "page": page, "size": size})
    return dict(data or {})


def list_runs(project: str, max_pages: int | None = None, **filters: Any) -> Flow[list[Run]]:
    """Every run matching the filters (``q``, ``name``, ``kind``, ``user``, ``state``, ``created``,
    ``updated``, ``task``, ``action``, ``function``, ``sort``), newest first, walking all pages."""
    runs: list[Run] = []
    page = 0
    while True:
        envelope = yield from list_runs_page(project, page=page, **filters)
        content = envelope.get("content") or []
        runs.extend(Run.model_validate(item) for item in content)
        page += 1
        if not content or page >= int(envelope.get("totalPages", 1)) or (max_pages is not None and page >= max_pages):
            return runs


#: runs per page when looking for waited runs (Spring clamps ``size`` at its max-page-size, 2000 by default)
FIND_PAGE_SIZE = 1000
#: how far back (in pages, newest first) the look-up goes before the missing runs are read one by one
FIND_MAX_PAGES = 5


def find_runs(project: str, run_ids: Sequence[str], max_pages: int | None = None, size: int | None = None) -> Flow[dict[str, Run]]:
    """The runs among ``run_ids`` found in the project's newest runs: one listing for many waits.

    Pages newest first (``created,DESC``) and stops once every id is seen; a run created while
    paging shifts the rest down one place (seen twice, never missed). Runs older than
    ``max_pages`` pages are absent from the answer: the caller reads those itself.
    """
    max_pages = FIND_MAX_PAGES if max_pages is None else max_pages
    size = FIND_PAGE_SIZE if size is None else size
    wanted = set(run_ids)
    found: dict[str, Run] = {}
    page = 0
    while wanted - found.keys() and page < max_pages:
        envelope = yield from list_runs_page(project, page=page, size=size, sort="created,DESC")
        content = envelope.get("content") or []
        for item in content:
            if isinstance(item, dict) and item.get("id") in wanted:
                found[item["id"]] = Run.model_validate(item)
        page += 1
        if not content or page >= int(envelope.get("totalPages", 1)):
            break
    return found


def import_run(file: str | Path, reset_id: bool = False, labels: list[str] | None = None) -> Flow[Run]:
    """Create a run from an exported YAML descriptor (``run.export()``); its status starts afresh.
    ``labels`` are added to the descriptor's own."""
    import yaml

    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"yaml_file {str(path)!r} does not exist")
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    except yaml.YAMLError as exc:
        raise ConfigError(f"yaml_file {str(path)!r} is not valid YAML: {exc}") from None
    runs = [d for d in docs if isinstance(d, dict) and (str(d.get("kind", "")).endswith(":run") or LEGACY_KIND.match(str(d.get("kind", ""))))]
    if not runs:
        raise ConfigError(f"yaml_file {str(path)!r} holds no run descriptor (a document with kind '<runtime>+<action>:run')")
    doc = runs[0]
    check_kind(str(doc["kind"]))
    project = doc.get("project") or (doc.get("metadata") or {}).get("project")
    if not project:
        raise ConfigError(f"yaml_file {str(path)!r}: the run descriptor names no project (set 'project:')")
    if not isinstance(doc.get("spec"), dict) or not doc["spec"].get("task"):
        raise ConfigError(f"yaml_file {str(path)!r}: the run descriptor has no spec.task")
    body = {k: v for k, v in doc.items() if k not in ("status", "key", "user")}
    body["status"] = {"state": "CREATED"}
    if labels:
        metadata = dict(body.get("metadata") or {})
        metadata["labels"] = [*(metadata.get("labels") or []), *labels]
        body["metadata"] = metadata
    if reset_id or not body.get("id"):
        body["id"] = uuidlib.uuid4().hex
    data = yield Call("POST", _runs(project), json=body)
    return Run.model_validate(data)


def update_run(run: Run | dict[str, Any]) -> Flow[Run]:
    entity = run if isinstance(run, Run) else Run.model_validate(run)
    if not entity.id or not entity.project:
        raise ConfigError("update_run needs a run with 'id' and 'project' (get it with get_run first)")
    data = yield Call("PUT", f"{_runs(entity.project)}/{q(entity.id)}", json=entity.to_dict())
    return Run.model_validate(data)


def delete_run(identifier: str, project: str | None = None) -> Flow[Run]:
    project, run_id = parse_key(identifier, project)
    data = yield Call("DELETE", f"{_runs(project)}/{q(run_id)}")
    return Run.model_validate(data or {"id": run_id, "project": project, "status": {"state": "DELETING"}})


def run_action(identifier: str, action: str, project: str | None = None) -> Flow[Run]:
    """``stop``/``resume``: DHCore answers 200 with the unchanged run when the transition is not allowed."""
    project, run_id = parse_key(identifier, project)
    data = yield Call("POST", f"{_runs(project)}/{q(run_id)}/{q(action)}", json={}, idempotent=True)
    return Run.model_validate(data)


def stop_run(identifier: str, project: str | None = None) -> Flow[Run]:
    return (yield from run_action(identifier, "stop", project))


def get_run_logs(identifier: str, project: str | None = None) -> Flow[str]:
    """The run's log text: every log entry's base64 ``content`` decoded (both 0.15.0 and newer shapes)."""
    project, run_id = parse_key(identifier, project)
    data = yield Call("GET", f"{_runs(project)}/{q(run_id)}/logs")
    texts = []
    for entry in data or []:
        content = entry.get("content") or ""
        try:
            texts.append(base64.b64decode(content).decode("utf-8", errors="replace"))
        except ValueError:
            texts.append(str(content))
    return "".join(texts)


def get_run_metrics(identifier: str, project: str | None = None) -> Flow[dict[str, Any]]:
    project, run_id = parse_key(identifier, project)
    return dict((yield Call("GET", f"{_runs(project)}/{q(run_id)}/metrics")) or {})


def get_run_metric(identifier: str, name: str, project: str | None = None) -> Flow[Any]:
    project, run_id = parse_key(identifier, project)
    return (yield Call("GET", f"{_runs(project)}/{q(run_id)}/metrics/{q(name)}"))


def auth_check() -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", "/api/auth")) or {})
