"""Emulated DSS code studios and code studio templates (seed 000; reference/dataiku.md §3.7, §4.8-4.10).

Each zone keeps three copies of its files: ``dss`` (the instance), ``pod`` (the running studio) and
``base`` (both sides at the last sync). A file changed on both sides since ``base`` is a conflict.
Tests edit either side with :meth:`CodeStudios.edit_dss` / :meth:`CodeStudios.edit_pod`.
"""

import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from airflow_provider.testing.dataiku.core import CODED, ILLEGAL_ARGUMENT, UNAUTHORIZED, DSSError, DSSState, User, boolean, get_or_404, json_body

ZONES = ("project-lib-versioned", "recipes", "notebooks", "code_studio-versioned", "user-versioned")
Files = dict[str, str]


def _changes(side: Files, base: Files) -> tuple[set[str], set[str], set[str]]:
    """The paths ``side`` added, modified and deleted since ``base``."""
    modified = {p for p in set(side) & set(base) if side[p] != base[p]}
    return set(side) - set(base), modified, set(base) - set(side)


def _commit(files: Files) -> str:
    return f"{abs(hash(tuple(sorted(files.items())))):x}"[:7]


def _edit(files: Files, path: str, content: str | None) -> None:
    if content is None:
        files.pop(path, None)
    else:
        files[path] = content


@dataclass
class Zone:
    dss: Files = field(default_factory=dict)
    pod: Files = field(default_factory=dict)
    base: Files = field(default_factory=dict)
    dss_authors: dict[str, str] = field(default_factory=dict)

    def conflicts(self, name: str) -> dict[str, Any]:
        dss_changed = set().union(*_changes(self.dss, self.base))
        added, modified, deleted = (sorted(p for p in paths if p in dss_changed) for paths in _changes(self.pod, self.base))
        files = {*added, *modified, *deleted}
        return {name: {"commitFrom": _commit(self.base), "commitTo": _commit(self.dss), "added": added, "modified": modified,
                       "deleted": deleted, "authors": sorted({self.dss_authors.get(p, "admin") for p in files}), "nbConflicts": len(files)}}  # fmt: skip

    def push(self, name: str) -> dict[str, Any]:
        self.pod, self.base = dict(self.dss), dict(self.dss)
        return {"count": len(self.dss), "size": sum(len(c.encode()) for c in self.dss.values())}

    def pull(self, name: str) -> dict[str, Any]:
        added, modified, deleted = _changes(self.pod, self.base)
        self.dss, self.base = dict(self.pod), dict(self.pod)
        return {name: {"added": sorted(added), "modified": sorted(modified), "deleted": sorted(deleted), "count": len(added | modified | deleted),
                       "size": sum(len(self.pod[p].encode()) for p in added | modified)}}  # fmt: skip


@dataclass
class Studio:
    project_key: str
    id: str
    name: str
    owner: str
    template_id: str
    state: str = "STOPPED"
    last_change: int = 0
    zones: dict[str, Zone] = field(default_factory=lambda: {z: Zone() for z in ZONES})

    def set_state(self, state: str) -> None:
        self.state = state
        self.last_change = int(time.time() * 1000)

    def view(self) -> dict[str, Any]:
        return {"projectKey": self.project_key, "id": self.id, "name": self.name, "owner": self.owner, "templateId": self.template_id}


@dataclass
class Template:
    id: str
    label: str
    containers: list[str] = field(default_factory=lambda: ["k8s-default"])
    all_containers: bool = False
    last_built: int = 0
    #: knob: the next builds fail with this message
    build_error: str | None = None
    params: dict[str, Any] = field(default_factory=lambda: {"blocks": []})


class CodeStudios:
    """The code-studio part of the emulated DSS; knobs are attributes and methods of this object."""

    def __init__(self, state: DSSState, start_duration: float = 0.5, stop_duration: float = 0.3, build_duration: float = 0.5) -> None:
        self.state = state
        self.start_duration, self.stop_duration, self.build_duration = start_duration, stop_duration, build_duration
        self.studios: dict[tuple[str, str], Studio] = {}
        self.templates: dict[str, Template] = {}

    def seed_demo(self) -> None:
        self.templates["vscode_py311"] = Template("vscode_py311", "VS Code (Python 3.11)")
        self.templates["jupyter_lab"] = Template("jupyter_lab", "JupyterLab")
        studio = self.add_studio("DEMO", "alice-vscode", "admin", "vscode_py311", studio_id="k3Xw9ZqR")
        studio.zones["recipes"].dss.update({"compute_orders.py": "import dataiku\n", "clean.py": "print('clean')\n"})
        studio.zones["project-lib-versioned"].dss.update({"python/helpers.py": "def helper():\n    return 1\n"})

    def add_studio(self, project_key: str, name: str, owner: str, template_id: str, studio_id: str | None = None) -> Studio:
        studio = Studio(project_key, studio_id or secrets.token_urlsafe(6), name, owner, template_id)
        self.studios[(project_key, studio.id)] = studio
        return studio

    def edit_dss(self, project_key: str, studio_id: str, zone: str, path: str, content: str | None, author: str = "bob") -> None:
        """Change a file on the DSS instance (``None`` deletes it)."""
        z = self.studio(project_key, studio_id).zones[zone]
        _edit(z.dss, path, content)
        z.dss_authors[path] = author

    def edit_pod(self, project_key: str, studio_id: str, zone: str, path: str, content: str | None) -> None:
        """Change a file inside the running studio (``None`` deletes it)."""
        _edit(self.studio(project_key, studio_id).zones[zone].pod, path, content)

    def studio(self, project_key: str, studio_id: str) -> Studio:
        self.state.project(project_key)
        return get_or_404(self.studios, (project_key, studio_id), f"Code studio not found: {project_key}.{studio_id}")

    def template(self, template_id: str) -> Template:
        return get_or_404(self.templates, template_id, f"Code studio template not found: {template_id}")

    def switch(self, studio: Studio, user: User, start: bool) -> dict[str, Any]:
        """Start (stop) ``studio``: it is STARTING (STOPPING) until its future completes, then RUNNING (STOPPED)."""
        verb, moving, final = ("start", "STARTING", "RUNNING") if start else ("stop", "STOPPING", "STOPPED")
        studio.set_state(moving)

        def done() -> dict[str, Any]:
            if start:
                for name, z in studio.zones.items():  # DSS copies its files into the pod at start
                    z.push(name)
            studio.set_state(final)
            return {"state": final}

        target = {"objectType": "CODE_STUDIO", "projectKey": studio.project_key, "objectId": studio.id}
        fut = self.state.add_future(user.login, f"{moving.title()} code studio", self.start_duration if start else self.stop_duration,
                                    on_done=done, payload={"type": f"code_studio_{verb}", "targets": [target]})  # fmt: skip
        return fut.state(time.time(), peek=True)


def router(part: CodeStudios) -> APIRouter:
    """The code studio and template routes; path parameters resolve to the objects they name, after DSS's auth."""
    state = part.state
    Caller = Annotated[User, Depends(state.authenticate)]

    def studio(pk: str, cs: str) -> Studio:
        return part.studio(pk, cs)

    StudioArg = Annotated[Studio, Depends(studio)]

    def running(s: StudioArg) -> Studio:
        if s.state != "RUNNING":
            raise DSSError(500, CODED, f"Code studio {s.project_key}.{s.id} is not running (state {s.state})")
        return s

    def admin(user: Caller) -> User:
        if not user.admin:
            raise DSSError(403, UNAUTHORIZED, "Action forbidden, you are not admin")
        return user

    Admin = Annotated[User, Depends(admin)]

    def template(_: Admin, tid: str) -> Template:
        return part.template(tid)

    TemplateArg = Annotated[Template, Depends(template)]
    api = APIRouter(dependencies=[Depends(state.authenticate)])

    @api.get("/projects/{pk}/code-studios/")
    def list_studios(pk: str) -> Any:
        state.project(pk)
        labels = {key: t.label for key, t in part.templates.items()}
        return [{**s.view(), "desc": {"label": labels.get(s.template_id, s.template_id), "shortDesc": ""}, "tags": []}
                for (p, _), s in part.studios.items() if p == pk]  # fmt: skip

    @api.post("/projects/{pk}/code-studios/")
    async def create_studio(user: Caller, pk: str, request: Request) -> Any:
        state.project(pk)
        body = await json_body(request, {})
        if not isinstance(body, dict) or not body.get("name") or not body.get("templateId"):
            raise DSSError(400, ILLEGAL_ARGUMENT, "A code studio needs a name and a templateId")
        part.template(body["templateId"])
        new = part.add_studio(pk, body["name"], user.login, body["templateId"])
        return {"codeStudio": {**new.view(), "libName": new.id}}

    @api.get("/projects/{pk}/code-studios/{cs}")
    def settings(s: StudioArg) -> Any:
        return {**s.view(), "libName": s.id, "tags": []}

    @api.delete("/projects/{pk}/code-studios/{cs}")
    def delete_studio(s: StudioArg) -> Any:
        del part.studios[(s.project_key, s.id)]
        return JSONResponse({}, status_code=200)

    @api.get("/projects/{pk}/code-studios/{cs}/status")
    def status(s: StudioArg) -> Any:
        now = time.time()
        for fut in list(state.futures.values()):
            fut.tick(now)  # transitions happen when their future completes
        up = s.state == "RUNNING"
        return {"state": s.state, "lastStateChange": s.last_change, "syncedZones": [{"id": z} for z in s.zones] if up else [],
                "exposed": [{"label": "VS Code", "port": 8080}] if up else []}  # fmt: skip

    @api.post("/projects/{pk}/code-studios/{cs}/restart")
    def restart(user: Caller, s: StudioArg) -> Any:
        return part.switch(s, user, start=True)

    @api.post("/projects/{pk}/code-studios/{cs}/stop")
    def stop(user: Caller, s: StudioArg) -> Any:
        if s.state == "STOPPED":
            return {"hasResult": True}  # nothing to do: no future
        return part.switch(s, user, start=False)

    def sync_route(action: str) -> None:
        @api.get(f"/projects/{{pk}}/code-studios/{{cs}}/{action}/{{zone}}", name=action)
        def sync(s: Annotated[Studio, Depends(running)], zone: str) -> Any:
            z = s.zones.get(zone)
            return getattr(z, action)(zone) if z else {"error": f"Unknown zone: {zone}"}

    for action in ("conflicts", "push", "pull"):  # the same shape: a running studio's zone (or an error for an unknown one)
        sync_route(action)

    @api.post("/projects/{pk}/code-studios/{cs}/change-owner")
    def change_owner(user: Caller, s: StudioArg, newOwner: str = "") -> Any:
        if not (user.admin or user.login == s.owner):
            raise DSSError(403, UNAUTHORIZED, "Only the owner of the code studio or an administrator can change its owner")
        if not newOwner:
            raise DSSError(400, ILLEGAL_ARGUMENT, "newOwner is required")
        s.owner = newOwner
        return {"projectKey": s.project_key, "id": s.id, "owner": s.owner}

    @api.get("/admin/code-studios/")
    def list_templates(_: Admin) -> Any:
        return [{"id": t.id, "label": t.label, "type": "block_based", "buildFor": t.containers, "lastBuilt": t.last_built} for t in part.templates.values()]

    @api.get("/admin/code-studios/{tid}")
    def template_settings(t: TemplateArg) -> Any:
        return {"id": t.id, "label": t.label, "type": "block_based", "allContainerConfs": t.all_containers, "containerConfs": t.containers, "params": t.params}

    @api.put("/admin/code-studios/{tid}")
    async def save_template(t: TemplateArg, request: Request) -> Any:
        body = await json_body(request, {})
        t.all_containers = bool(body.get("allContainerConfs", t.all_containers))
        t.containers = list(body.get("containerConfs", t.containers))
        t.params = body.get("params", t.params)
        t.label = body.get("label", t.label)
        return JSONResponse({}, status_code=200)

    @api.post("/admin/code-studios/{tid}/build")
    def build(user: Admin, t: TemplateArg, withNoCache: str = "false") -> Any:
        def built() -> dict[str, Any]:
            t.last_built = int(time.time() * 1000)
            return {"templateId": t.id, "noCache": boolean(withNoCache), "images": [f"dku-cs-{t.id}:latest"]}

        error = (CODED, f"Failed to build code studio template {t.id}: {t.build_error}") if t.build_error else None
        fut = state.add_future(user.login, f"Building code studio template {t.id}", part.build_duration, on_done=None if error else built, error=error)
        return fut.state(time.time(), peek=True)

    return api
