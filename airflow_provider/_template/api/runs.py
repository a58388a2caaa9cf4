"""Acme runs: start, read, list by tag, cancel (one flow each; cite the platform's wire reference here)."""

from __future__ import annotations

from typing import Any

from airflow_provider._template.models import Run
from airflow_provider.common.flow import Call, Flow
from airflow_provider.common.transport import quote_segment as q


def start_run(name: str, tag: str, parameters: dict[str, Any] | None = None) -> Flow[Run]:
    """A submit: a POST is never resent after an answer that may mean the run started (the submit rule)."""
    data = yield Call("POST", "/api/runs", json={"name": name, "tag": tag, "parameters": parameters or {}})
    return Run.model_validate(data)


def get_run(run_id: str) -> Flow[Run]:
    return Run.model_validate((yield Call("GET", f"/api/runs/{q(run_id)}")))


def list_runs(tag: str | None = None) -> Flow[list[Run]]:
    data = yield Call("GET", "/api/runs", params={"tag": tag})
    return [Run.model_validate(r) for r in data or []]


def cancel_run(run_id: str) -> Flow[Run]:
    # cancelling twice changes nothing: the transport may resend it
    return Run.model_validate((yield Call("POST", f"/api/runs/{q(run_id)}/cancel", idempotent=True)))
