"""Dataiku DSS hooks: ``DataikuHook`` (sync, for operators) and ``DataikuAsyncHook`` (triggers).

Both inherit one method list, so every endpoint is described once (``api/``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow, endpoint
from airflow_provider.common.hook import AsyncPlatformHook, SyncPlatformHook, base_url, common_target_options, extra_of
from airflow_provider.common.transport import Auth, BasicAuth, ErrorParser, HeaderAuth, Target
from airflow_provider.dataiku.api import codestudios, futures, scenarios

if TYPE_CHECKING:
    from airflow.sdk import Connection

DEFAULT_PATH_PREFIX = "/public/api"


def parse_dss_error(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str, str | None, Any]:
    """DSS error envelope: ``{"errorType", "message", "detailedMessage", "code"}``."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, body[:500].decode("utf-8", errors="replace").strip() or f"HTTP {status}", None, None
    if not isinstance(data, dict):
        return None, str(data), None, data
    error_type = str(data.get("errorType") or "")
    message = str(data.get("detailedMessage") or data.get("message") or "no message")
    short_type = error_type.rsplit(".", 1)[-1] or None
    hint = ERROR_HINTS.get(short_type or "")
    return data.get("code") or short_type, f"{message} ({hint})" if hint else message, headers.get("x-dku-request-id"), data


#: DSS's messages for these are terse; say what to check
ERROR_HINTS = {
    "NotAuthenticatedException": "check the API key in the Password field of the Dataiku connection",
    "UnauthorizedException": "the project key does not exist, or this API key may not read it: check project_key and the key's permissions",
}


class ScenarioCalls:
    """Seed 001: scenarios, their runs, trigger fires, settings, reports and logs."""

    list_scenarios = endpoint(scenarios.list_scenarios)
    list_test_scenarios = endpoint(scenarios.list_test_scenarios)
    create_scenario = endpoint(scenarios.create_scenario)
    get_testing_status = endpoint(scenarios.get_testing_status)
    run_scenario = endpoint(scenarios.run)
    run_scenario_and_wait = endpoint(scenarios.run_and_wait)
    abort_scenario = endpoint(scenarios.abort)
    get_last_runs = endpoint(scenarios.get_last_runs)
    get_runs_by_date = endpoint(scenarios.get_runs_by_date)
    get_last_finished_run = endpoint(scenarios.get_last_finished_run)
    get_last_successful_run = endpoint(scenarios.get_last_successful_run)
    get_current_run = endpoint(scenarios.get_current_run)
    get_scenario_run = endpoint(scenarios.get_run)
    get_scenario_run_details = endpoint(scenarios.get_run_details)
    get_scenario_status = endpoint(scenarios.get_status)
    get_scenario_settings = endpoint(scenarios.get_settings)
    save_scenario_settings = endpoint(scenarios.save_settings)
    get_average_duration = endpoint(scenarios.get_average_duration)
    delete_scenario = endpoint(scenarios.delete)
    list_scenario_discussions = endpoint(scenarios.list_discussions)
    get_scenario_definition = endpoint(scenarios.get_definition)
    set_scenario_definition = endpoint(scenarios.set_definition)
    get_scenario_payload = endpoint(scenarios.get_payload)
    set_scenario_payload = endpoint(scenarios.set_payload)
    get_trigger_fire = endpoint(scenarios.get_trigger_fire)
    get_run_for_trigger = endpoint(scenarios.get_run_for_trigger)
    wait_for_scenario_run = endpoint(scenarios.wait_for_scenario_run)
    wait_for_scenario_run_completion = endpoint(scenarios.wait_for_completion)
    get_scenario_run_report = endpoint(scenarios.get_run_report)
    get_step_run_report = endpoint(scenarios.get_step_run_report)
    get_scenario_run_log = endpoint(scenarios.get_run_log)


class CodeStudioCalls:
    list_code_studios = endpoint(codestudios.list_code_studios)
    create_code_studio = endpoint(codestudios.create_code_studio)
    get_code_studio_settings = endpoint(codestudios.get_settings)
    get_code_studio_status = endpoint(codestudios.get_status)
    restart_code_studio = endpoint(codestudios.restart)
    stop_code_studio = endpoint(codestudios.stop)
    check_code_studio_conflicts = endpoint(codestudios.check_conflicts)
    pull_from_code_studio = endpoint(codestudios.pull_from_code_studio)
    push_to_code_studio = endpoint(codestudios.push_to_code_studio)
    change_code_studio_owner = endpoint(codestudios.change_owner)
    delete_code_studio = endpoint(codestudios.delete)
    list_code_studio_templates = endpoint(codestudios.list_templates)
    get_code_studio_template_settings = endpoint(codestudios.get_template_settings)
    save_code_studio_template_settings = endpoint(codestudios.save_template_settings)
    build_code_studio_template = endpoint(codestudios.build_template)


class FutureCalls:
    get_future = endpoint(futures.get_future)
    abort_future = endpoint(futures.abort_future)
    list_futures = endpoint(futures.list_futures)
    list_running_scenarios = endpoint(futures.list_running_scenarios)
    wait_for_future = endpoint(futures.wait_for_future)


class DataikuCalls(ScenarioCalls, CodeStudioCalls, FutureCalls):
    conn_name_attr = "dataiku_conn_id"
    default_conn_name = "dataiku_default"
    conn_type = "dataiku"
    hook_name = "Dataiku DSS"
    parse_error: ClassVar[ErrorParser] = staticmethod(parse_dss_error)

    @classmethod
    def build_target(cls, conn: Connection) -> Target:
        extra = extra_of(conn)
        key = conn.password or extra.get("api_key")
        if not key:
            raise ConfigError(f"connection {conn.conn_id!r}: no DSS API key; put it in the Password field (or extra 'api_key')")
        mode = str(extra.get("auth") or "basic").strip().lower()
        if mode not in ("basic", "bearer"):
            raise ConfigError(f"connection {conn.conn_id!r}: extra field 'auth' must be 'basic' or 'bearer', got {extra.get('auth')!r}")
        auth: Auth = HeaderAuth(str(key)) if mode == "bearer" else BasicAuth(str(key), "")
        return Target(
            platform="Dataiku DSS",
            base_url=base_url(conn, platform="dataiku", default_path=DEFAULT_PATH_PREFIX),
            auth=auth,
            **common_target_options(conn),
        )

    @staticmethod
    def ping(with_secrets: bool = False) -> Flow[Any]:
        return (yield Call("GET", "/auth/info", params={"withSecrets": with_secrets}))

    get_auth_info = endpoint(ping)


class DataikuHook(DataikuCalls, SyncPlatformHook):
    """Sync DSS hook. The connection: Host (``https://dss:11200``), Password (API key), extra
    ``path_prefix`` (default ``/public/api``; ``/dip/publicapi`` also works), ``auth`` (``basic``
    default, or ``bearer`` for DSS 13+), ``verify_ssl``, timeouts and retry budget."""

    def __init__(self, dataiku_conn_id: str = DataikuCalls.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=dataiku_conn_id, **kwargs)


class DataikuAsyncHook(DataikuCalls, AsyncPlatformHook):
    def __init__(self, dataiku_conn_id: str = DataikuCalls.default_conn_name) -> None:
        super().__init__(conn_id=dataiku_conn_id)


def dss_ui_base(target: Target) -> str:
    """The DSS UI root: the API base without its ``/public/api`` or ``/dip/publicapi`` prefix."""
    url = target.base_url
    for prefix in (DEFAULT_PATH_PREFIX, "/dip/publicapi"):
        if url.endswith(prefix):
            return url[: -len(prefix)]
    return url
