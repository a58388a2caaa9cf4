"""Dataiku DSS emulator: ``create_app()`` and ``connection(url)``.

Serves the public API under both ``/public/api`` (documented) and ``/dip/publicapi`` (what the
official client uses), with DSS's auth (API key as Basic username or password, or Bearer) and
error envelope. Knobs live on ``emulator.state`` (a :class:`DSS`): ``scenarios`` and
``code_studios`` parts, plus ``emulator.faults`` for latency and error bursts.
"""

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from airflow_provider.testing import Emulator
from airflow_provider.testing.dataiku.codestudios import CodeStudios
from airflow_provider.testing.dataiku.codestudios import router as code_studio_router
from airflow_provider.testing.dataiku.core import DEMO_API_KEY, USER_API_KEY, DSSError, DSSState, User
from airflow_provider.testing.dataiku.scenarios import Scenarios
from airflow_provider.testing.dataiku.scenarios import router as scenario_router
from airflow_provider.testing.server import FaultInjector, Faults

PREFIXES = ("/public/api", "/dip/publicapi")
DEMO_STEPS = [
    {"id": "build_0_true_d_orders", "name": "Build orders", "type": "build_flowitem"},
    {"id": "check_1_metrics", "name": "Check metrics", "type": "check_dataset"},
]

__all__ = ["DEMO_API_KEY", "DSS", "USER_API_KEY", "connection", "create_app"]


@dataclass
class DSS:
    core: DSSState
    scenarios: Scenarios
    code_studios: CodeStudios


def create_app(demo: bool = False, run_duration: float = 1.0, fire_delay: float = 0.1, build_duration: float = 0.5, projects: str = "", **_: Any) -> Emulator:
    core = DSSState()
    dss = DSS(core, Scenarios(core, run_duration=run_duration, fire_delay=fire_delay), CodeStudios(core, build_duration=build_duration))
    for key in filter(None, projects.split(",")):  # empty projects, e.g. for benchmarks (DSS has no create-project call here)
        dss.scenarios.add_project(key)
    seed(dss, demo)
    app = FastAPI(title="Dataiku DSS emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(DSSError)
    async def dss_error(_: Request, exc: DSSError) -> JSONResponse:
        return exc.response()

    for prefix in PREFIXES:
        for router in (misc_router(core), scenario_router(dss.scenarios), code_studio_router(dss.code_studios)):
            app.include_router(router, prefix=prefix)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["DSS-Version"] = "13.4.0-emulated"
        response.headers["DSS-API-Version"] = "1"
        return response

    faults = Faults()
    return Emulator(app=FaultInjector(app, faults, fault_body=_fault_body), state=dss, faults=faults)


def _fault_body(status: int, headers: dict[str, str]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """An emulated fault in DSS's error envelope, as the official client reads it."""
    error = DSSError(status, "com.dataiku.dip.exceptions.EmulatedFaultException", f"emulated fault {status}")
    return json.dumps(error.body()).encode(), [(b"dss-api-version", b"1")]


def seed(dss: DSS, demo: bool) -> None:
    """Projects and scenarios every emulator starts with (tests rely on them too)."""
    s = dss.scenarios
    s.add_scenario("DEMO", "BUILD_ORDERS", "Build orders", steps=DEMO_STEPS, marked_as_test=True)
    s.add_scenario("DEMO", "REFRESH_KPIS", "Refresh KPIs", steps=DEMO_STEPS[:1], duration=0.6 if demo else None)
    s.add_scenario("DEMO", "CHECK_QUALITY", "Check quality", steps=DEMO_STEPS, outcome="WARNING")
    s.add_scenario("DEMO", "PY_SCENARIO", "Python scenario", type="custom_python")
    if demo:
        # example_dags/cross_system_pipeline.py: one scenario Airflow runs, one somebody runs by hand
        s.add_scenario("CROSS", "SCORE_MODEL", "Score the trained model", steps=DEMO_STEPS[:1], duration=0.5)
        s.add_scenario("CROSS", "NIGHTLY_EXPORT", "Nightly export (run outside Airflow)", steps=DEMO_STEPS[:1], duration=0.5)
    dss.code_studios.seed_demo()


def misc_router(core: DSSState) -> APIRouter:
    api = APIRouter(dependencies=[Depends(core.authenticate)])

    @api.get("/auth/info")
    def auth_info(user: Annotated[User, Depends(core.authenticate)], withSecrets: str = "false") -> Any:
        info = {"authIdentifier": user.login, "groups": ["administrators"] if user.admin else ["readers"], "userProfile": "DESIGNER"}
        # DSS lists the user's secrets only when asked (the client asks withSecrets=False by default)
        return {**info, "secrets": []} if withSecrets.lower() == "true" else info

    @api.get("/instance-info")
    def instance_info() -> Any:
        return {"nodeId": "emulated", "nodeName": "DSS emulator", "nodeType": "DESIGN"}

    @api.get("/projects/")
    def projects() -> Any:
        return [{"projectKey": key, "name": key} for key in core.projects]

    return api


def connection(url: str, api_key: str = DEMO_API_KEY) -> dict[str, Any]:
    return {"conn_type": "dataiku", "host": url, "password": api_key, "extra": {"path_prefix": "/public/api"}}
