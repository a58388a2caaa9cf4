"""Emulator of the template's toy platform "Acme" (docs/adding-a-platform.md): runs that queue, run
``duration`` seconds and succeed (or fail, when named ``fail``), behind a bearer token."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from airflow_provider.testing import Emulator
from airflow_provider.testing.server import FaultInjector, Faults

DEMO_TOKEN = "acme-demo-token"


@dataclass
class AcmeState:
    duration: float = 0.5
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def view(self, run: dict[str, Any]) -> dict[str, Any]:
        if run["state"] in ("QUEUED", "RUNNING"):
            age = time.time() - run["created"]
            if age >= self.duration:
                run["state"] = "FAILED" if run["name"] == "fail" else "SUCCEEDED"
                run["message"] = "the step 'fail' exited with 1" if run["state"] == "FAILED" else None
            elif age > 0:
                run["state"] = "RUNNING"
        return dict(run)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def create_app(**knobs: Any) -> Emulator:
    state = AcmeState(**knobs)
    app = FastAPI(title="Acme emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Any:
        if request.headers.get("authorization") != f"Bearer {DEMO_TOKEN}":
            return _error(401, "Unauthorized", "missing or wrong API token")
        return await call_next(request)

    @app.get("/api/me")
    async def me() -> dict[str, Any]:
        return {"user": "demo"}

    @app.post("/api/runs")
    async def start(request: Request) -> JSONResponse:
        body = await request.json()
        with state.lock:
            run_id = f"run-{next(state.ids):04d}"
            state.runs[run_id] = {"id": run_id, "name": str(body.get("name") or ""), "tag": str(body.get("tag") or ""), "state": "QUEUED",
                                  "message": None, "created": time.time(), "parameters": dict(body.get("parameters") or {})}  # fmt: skip
            return JSONResponse(state.view(state.runs[run_id]), status_code=201)

    @app.get("/api/runs")
    async def listing(tag: str | None = None) -> list[dict[str, Any]]:
        with state.lock:
            return [state.view(r) for r in state.runs.values() if tag is None or r["tag"] == tag]

    @app.get("/api/runs/{run_id}", response_model=None)
    async def read(run_id: str) -> dict[str, Any] | JSONResponse:
        with state.lock:
            run = state.runs.get(run_id)
            return state.view(run) if run else _error(404, "RunNotFound", f"no run {run_id}")

    @app.post("/api/runs/{run_id}/cancel", response_model=None)
    async def cancel(run_id: str) -> dict[str, Any] | JSONResponse:
        with state.lock:
            run = state.runs.get(run_id)
            if run is None:
                return _error(404, "RunNotFound", f"no run {run_id}")
            if state.view(run)["state"] in ("QUEUED", "RUNNING"):
                run["state"] = "CANCELLED"
            return state.view(run)

    faults = Faults()
    return Emulator(app=FaultInjector(app, faults), state=state, faults=faults)


def connection(url: str, token: str = DEMO_TOKEN) -> dict[str, Any]:
    return {"conn_type": "acme", "host": url, "password": token}
