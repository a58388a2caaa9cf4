"""DSS code studios and code studio templates (seed 000; wire: reference/dataiku.md §2.5-2.7, §3.7)."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.flow import Call, Flow
from airflow_provider.common.transport import quote_segment as q
from airflow_provider.dataiku.models import CodeStudioConflicts, CodeStudioListItem, CodeStudioSettings, CodeStudioStatus, TemplateListItem, TemplateSettings


def _studio(project_key: str, code_studio_id: str) -> str:
    return f"/projects/{q(project_key)}/code-studios/{q(code_studio_id)}"


# --- code studios ---------------------------------------------------------------------------------
def list_code_studios(project_key: str) -> Flow[list[CodeStudioListItem]]:
    return [CodeStudioListItem.model_validate(i) for i in (yield Call("GET", f"/projects/{q(project_key)}/code-studios/")) or []]


def create_code_studio(project_key: str, name: str, template_id: str) -> Flow[str]:
    data = yield Call("POST", f"/projects/{q(project_key)}/code-studios/", json={"name": name, "templateId": template_id})
    return str(data["codeStudio"]["id"])


def get_settings(project_key: str, code_studio_id: str) -> Flow[CodeStudioSettings]:
    return CodeStudioSettings.model_validate((yield Call("GET", _studio(project_key, code_studio_id))))


def get_status(project_key: str, code_studio_id: str) -> Flow[CodeStudioStatus]:
    return CodeStudioStatus.model_validate((yield Call("GET", f"{_studio(project_key, code_studio_id)}/status")) or {})


def restart(project_key: str, code_studio_id: str) -> Flow[dict[str, Any]]:
    """Start (or restart) the studio: the answer starts a future (``jobId``), or says ``hasResult``."""
    return dict((yield Call("POST", f"{_studio(project_key, code_studio_id)}/restart")) or {})


def stop(project_key: str, code_studio_id: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("POST", f"{_studio(project_key, code_studio_id)}/stop", idempotent=True)) or {})


def check_conflicts(project_key: str, code_studio_id: str, zone: str) -> Flow[CodeStudioConflicts]:
    return CodeStudioConflicts(zone, dict((yield Call("GET", f"{_studio(project_key, code_studio_id)}/conflicts/{q(zone)}")) or {}))


def pull_from_code_studio(project_key: str, code_studio_id: str, zone: str) -> Flow[dict[str, Any]]:
    """Copy the studio's files of ``zone`` back into DSS (a side-effecting GET, safe to repeat)."""
    return dict((yield Call("GET", f"{_studio(project_key, code_studio_id)}/pull/{q(zone)}")) or {})


def push_to_code_studio(project_key: str, code_studio_id: str, zone: str) -> Flow[dict[str, Any]]:
    """Copy DSS's files of ``zone`` into the studio; answers ``{"count", "size"}``."""
    return dict((yield Call("GET", f"{_studio(project_key, code_studio_id)}/push/{q(zone)}")) or {})


def change_owner(project_key: str, code_studio_id: str, new_owner: str) -> Flow[Any]:
    # sent as a real query parameter: the official client pastes it into the path unencoded
    return (yield Call("POST", f"{_studio(project_key, code_studio_id)}/change-owner", params={"newOwner": new_owner}, idempotent=True))


def delete(project_key: str, code_studio_id: str) -> Flow[None]:
    yield Call("DELETE", _studio(project_key, code_studio_id), expect="none")


# --- templates ----------------------------------------------------------------------------------------
def list_templates() -> Flow[list[TemplateListItem]]:
    return [TemplateListItem.model_validate(i) for i in (yield Call("GET", "/admin/code-studios/")) or []]


def get_template_settings(template_id: str) -> Flow[TemplateSettings]:
    return TemplateSettings(template_id, dict((yield Call("GET", f"/admin/code-studios/{q(template_id)}")) or {}))


def save_template_settings(settings: TemplateSettings) -> Flow[None]:
    yield Call("PUT", f"/admin/code-studios/{q(settings.template_id)}", json=settings.data, expect="none")


def build_template(template_id: str, disable_docker_cache: bool = False) -> Flow[dict[str, Any]]:
    """Start an image build; the answer starts a future (``jobId``)."""
    return dict((yield Call("POST", f"/admin/code-studios/{q(template_id)}/build", params={"withNoCache": disable_docker_cache})) or {})
