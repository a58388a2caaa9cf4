"""Emulated DSS code studios and code studio templates (seed 000; reference/dataiku.md §3.7, §4.8-4.10).

Each zone keeps three copies of its files: ``dss`` (the instance), ``pod`` (the running studio) and
``base`` (both sides at the last sync). A file changed on both sides since ``base`` is a conflict.
Tests edit either side with :meth:`CodeStudios.edit_dss` / :meth:`CodeStudios.edit_pod`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider.testing.dataiku.core import CODED, ILLEGAL_ARGUMENT, NOT_FOUND, UNAUTHORIZED, DSSError, DSSState, User, boolean, json_body

ZONES = ("project-lib-versioned", "recipes", "notebooks", "code_studio-versioned", "user-versioned")
Files = dict[str, str]


@dataclass
class Zone:
    dss: Files = field(default_factory=dict)
    pod: Files = field(default_factory=dict)
    base: Files = field(default_factory=dict)
    dss_authors: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def changes(side: Files, base: Files) -> tuple[set[str], set[str], set[str]]:
        added = set(side) - set(base)
        deleted = set(base) - set(side)
        modified = {p for p in set(side) & set(base) if side[p] != base[p]}
        return added, modified, deleted


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

    # --- seeding and test helpers ----------------------------------------------------------
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
        if content is None:
            z.dss.pop(path, None)
        else:
            z.dss[path] = content
        z.dss_authors[path] = author

    def edit_pod(self, project_key: str, studio_id: str, zone: str, path: str, content: str | None) -> None:
        """Change a file inside the running studio (``None`` deletes it)."""
        z = self.studio(project_key, studio_id).zones[zone]
        if content is None:
            z.pod.pop(path, None)
        else:
            z.pod[path] = content

    # --- lookups ---------------------------------------------------------------------------
    def studio(self, project_key: str, studio_id: str) -> Studio:
        self.state.project(project_key)
        found = self.studios.get((project_key, studio_id))
        if found is None:
            raise DSSError(404, NOT_FOUND, f"Code studio not found: {project_key}.{studio_id}")
        return found

    def template(self, template_id: str) -> Template:
        found = self.templates.get(template_id)
        if found is None:
            raise DSSError(404, NOT_FOUND, f"Code studio template not found: {template_id}")
        return found

    def zone(self, studio: Studio, zone: str) -> Zone | None:
        return studio.zones.get(zone)

    # --- behaviour -------------------------------------------------------------------------
    def start(self, studio: Studio, user: User) -> dict[str, Any]:
        studio.set_state("STARTING")

        def started() -> dict[str, Any]:
            for z in studio.zones.values():  # DSS copies its files into the pod at start
                z.pod, z.base = dict(z.dss), dict(z.dss)
            studio.set_state("RUNNING")
            return {"state": "RUNNING"}

        fut = self.state.add_future(user.login, "Starting code studio", self.start_duration, on_done=started,
                                    payload={"type": "code_studio_start", "targets": [{"objectType": "CODE_STUDIO", "projectKey": studio.project_key, "objectId": studio.id}]})  # fmt: skip
        return fut.state(time.time(), peek=True)

    def stop(self, studio: Studio, user: User) -> dict[str, Any]:
        if studio.state == "STOPPED":
            return {"hasResult": True}  # nothing to do: no future
        studio.set_state("STOPPING")

        def stopped() -> dict[str, Any]:
            studio.set_state("STOPPED")
            return {"state": "STOPPED"}

        fut = self.state.add_future(user.login, "Stopping code studio", self.stop_duration, on_done=stopped,
                                    payload={"type": "code_studio_stop", "targets": [{"objectType": "CODE_STUDIO", "projectKey": studio.project_key, "objectId": studio.id}]})  # fmt: skip
        return fut.state(time.time(), peek=True)

    def conflicts(self, studio: Studio, zone_name: str) -> dict[str, Any]:
        zone = self.zone(studio, zone_name)
        if zone is None:
            return {"error": f"Unknown zone: {zone_name}"}
        pod_added, pod_modified, pod_deleted = Zone.changes(zone.pod, zone.base)
        dss_changed = set().union(*Zone.changes(zone.dss, zone.base))

        def conflicting(paths: Iterable[str]) -> list[str]:
            return sorted(p for p in paths if p in dss_changed)

        files = set(conflicting(pod_added) + conflicting(pod_modified) + conflicting(pod_deleted))
        return {zone_name: {"commitFrom": f"{abs(hash(tuple(sorted(zone.base.items())))):x}"[:7], "commitTo": f"{abs(hash(tuple(sorted(zone.dss.items())))):x}"[:7],
                            "added": conflicting(pod_added), "modified": conflicting(pod_modified), "deleted": conflicting(pod_deleted),
                            "authors": sorted({zone.dss_authors.get(p, "admin") for p in files}), "nbConflicts": len(files)}}  # fmt: skip

    def require_running(self, studio: Studio) -> None:
        if studio.state != "RUNNING":
            raise DSSError(500, CODED, f"Code studio {studio.project_key}.{studio.id} is not running (state {studio.state})")


def router(part: CodeStudios) -> APIRouter:
    state = part.state
    api = APIRouter()

    @api.get("/projects/{pk}/code-studios/")
    def list_studios(pk: str, request: Request) -> Any:
        state.authenticate(request)
        state.project(pk)
        out = []
        for (p, _), s in part.studios.items():
            if p == pk:
                t = part.templates.get(s.template_id)
                out.append({"projectKey": pk, "id": s.id, "name": s.name, "owner": s.owner, "templateId": s.template_id,
                            "desc": {"label": t.label if t else s.template_id, "shortDesc": ""}, "tags": []})  # fmt: skip
        return out

    @api.post("/projects/{pk}/code-studios/")
    async def create_studio(pk: str, request: Request) -> Any:
        user = state.authenticate(request)
        state.project(pk)
        body = await json_body(request, {})
        if not isinstance(body, dict) or not body.get("name") or not body.get("templateId"):
            raise DSSError(400, ILLEGAL_ARGUMENT, "A code studio needs a name and a templateId")
        part.template(body["templateId"])
        studio = part.add_studio(pk, body["name"], user.login, body["templateId"])
        return {
            "codeStudio": {
                "projectKey": pk,
                "id": studio.id,
                "name": studio.name,
                "owner": studio.owner,
                "templateId": studio.template_id,
                "libName": studio.id,
            }
        }

    @api.get("/projects/{pk}/code-studios/{cs}")
    def settings(pk: str, cs: str, request: Request) -> Any:
        state.authenticate(request)
        s = part.studio(pk, cs)
        return {"projectKey": pk, "id": s.id, "name": s.name, "owner": s.owner, "templateId": s.template_id, "libName": s.id, "tags": []}

    @api.delete("/projects/{pk}/code-studios/{cs}")
    def delete_studio(pk: str, cs: str, request: Request) -> Any:
        state.authenticate(request)
        part.studio(pk, cs)
        del part.studios[(pk, cs)]
        return JSONResponse({}, status_code=200)

    @api.get("/projects/{pk}/code-studios/{cs}/status")
    def status(pk: str, cs: str, request: Request) -> Any:
        state.authenticate(request)
        s = part.studio(pk, cs)
        now = time.time()
        for fut in list(state.futures.values()):
            fut.tick(now)  # transitions happen when their future completes
        running = s.state == "RUNNING"
        return {"state": s.state, "lastStateChange": s.last_change, "syncedZones": [{"id": z} for z in s.zones] if running else [],
                "exposed": [{"label": "VS Code", "port": 8080}] if running else []}  # fmt: skip

    @api.post("/projects/{pk}/code-studios/{cs}/restart")
    def restart(pk: str, cs: str, request: Request) -> Any:
        user = state.authenticate(request)
        return part.start(part.studio(pk, cs), user)

    @api.post("/projects/{pk}/code-studios/{cs}/stop")
    def stop(pk: str, cs: str, request: Request) -> Any:
        user = state.authenticate(request)
        return part.stop(part.studio(pk, cs), user)

    @api.get("/projects/{pk}/code-studios/{cs}/conflicts/{zone}")
    def conflicts(pk: str, cs: str, zone: str, request: Request) -> Any:
        state.authenticate(request)
        s = part.studio(pk, cs)
        part.require_running(s)
        return part.conflicts(s, zone)

    @api.get("/projects/{pk}/code-studios/{cs}/push/{zone}")
    def push(pk: str, cs: str, zone: str, request: Request) -> Any:
        state.authenticate(request)
        s = part.studio(pk, cs)
        part.require_running(s)
        z = part.zone(s, zone)
        if z is None:
            return {"error": f"Unknown zone: {zone}"}
        z.pod, z.base = dict(z.dss), dict(z.dss)
        return {"count": len(z.dss), "size": sum(len(c.encode()) for c in z.dss.values())}

    @api.get("/projects/{pk}/code-studios/{cs}/pull/{zone}")
    def pull(pk: str, cs: str, zone: str, request: Request) -> Any:
        state.authenticate(request)
        s = part.studio(pk, cs)
        part.require_running(s)
        z = part.zone(s, zone)
        if z is None:
            return {"error": f"Unknown zone: {zone}"}
        added, modified, deleted = Zone.changes(z.pod, z.base)
        z.dss, z.base = dict(z.pod), dict(z.pod)
        return {zone: {"added": sorted(added), "modified": sorted(modified), "deleted": sorted(deleted), "count": len(added | modified | deleted),
                       "size": sum(len(z.pod[p].encode()) for p in added | modified)}}  # fmt: skip

    @api.post("/projects/{pk}/code-studios/{cs}/change-owner")
    def change_owner(pk: str, cs: str, request: Request, newOwner: str = "") -> Any:
        user = state.authenticate(request)
        s = part.studio(pk, cs)
        if not (user.admin or user.login == s.owner):
            raise DSSError(403, UNAUTHORIZED, "Only the owner of the code studio or an administrator can change its owner")
        if not newOwner:
            raise DSSError(400, ILLEGAL_ARGUMENT, "newOwner is required")
        s.owner = newOwner
        return {"projectKey": pk, "id": s.id, "owner": s.owner}

    def admin(request: Request) -> User:
        user = state.authenticate(request)
        if not user.admin:
            raise DSSError(403, UNAUTHORIZED, "Action forbidden, you are not admin")
        return user

    @api.get("/admin/code-studios/")
    def list_templates(request: Request) -> Any:
        admin(request)
        return [{"id": t.id, "label": t.label, "type": "block_based", "buildFor": t.containers, "lastBuilt": t.last_built} for t in part.templates.values()]

    @api.get("/admin/code-studios/{tid}")
    def template_settings(tid: str, request: Request) -> Any:
        admin(request)
        t = part.template(tid)
        return {"id": t.id, "label": t.label, "type": "block_based", "allContainerConfs": t.all_containers, "containerConfs": t.containers, "params": t.params}

    @api.put("/admin/code-studios/{tid}")
    async def save_template(tid: str, request: Request) -> Any:
        admin(request)
        t = part.template(tid)
        body = await json_body(request, {})
        t.all_containers = bool(body.get("allContainerConfs", t.all_containers))
        t.containers = list(body.get("containerConfs", t.containers))
        t.params = body.get("params", t.params)
        t.label = body.get("label", t.label)
        return JSONResponse({}, status_code=200)

    @api.post("/admin/code-studios/{tid}/build")
    def build(tid: str, request: Request, withNoCache: str = "false") -> Any:
        user = admin(request)
        t = part.template(tid)

        def built() -> dict[str, Any]:
            t.last_built = int(time.time() * 1000)
            return {"templateId": tid, "noCache": boolean(withNoCache), "images": [f"dku-cs-{tid}:latest"]}

        error = (CODED, f"Failed to build code studio template {tid}: {t.build_error}") if t.build_error else None
        fut = state.add_future(user.login, f"Building code studio template {tid}", part.build_duration, on_done=None if error else built, error=error)
        return fut.state(time.time(), peek=True)

    return api
