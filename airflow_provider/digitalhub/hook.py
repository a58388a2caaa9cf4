"""DigitalHub hooks: ``DigitalHubHook`` (sync) and ``DigitalHubAsyncHook`` (triggers), one method list."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Flow, endpoint
from airflow_provider.common.hook import AsyncPlatformHook, SyncPlatformHook, base_url, common_target_options, extra_of
from airflow_provider.common.transport import Auth, BasicAuth, ErrorParser, HeaderAuth, NoAuth, Target
from airflow_provider.digitalhub.api import projects, runs

if TYPE_CHECKING:
    from airflow.sdk import Connection


def parse_dhcore_error(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str, str | None, Any]:
    """DHCore: ``{"status", "message", "errorCode"}``; Spring's own 404 has ``error``/``path``; 401 is often empty."""
    if not body.strip():
        return (
            None,
            {401: "not authenticated (check the connection's login/password or token)", 403: "forbidden for this user"}.get(status, f"HTTP {status}"),
            None,
            None,
        )
    try:
        data = json.loads(body)
    except ValueError:
        return None, body[:500].decode("utf-8", errors="replace").strip(), None, None
    if not isinstance(data, dict):
        return None, str(data), None, data
    message = data.get("message") or data.get("error") or str(data)
    return data.get("errorCode"), str(message), None, data


class DigitalHubCalls:
    conn_name_attr = "digitalhub_conn_id"
    default_conn_name = "digitalhub_default"
    conn_type = "digitalhub"
    hook_name = "DigitalHub (DHCore)"
    parse_error: ClassVar[ErrorParser] = staticmethod(parse_dhcore_error)

    get_project = endpoint(projects.get_project)
    create_project = endpoint(projects.create_project)
    get_or_create_project = endpoint(projects.get_or_create_project)
    new_run = endpoint(runs.new_run)
    get_run = endpoint(runs.get_run)
    list_runs = endpoint(runs.list_runs)
    list_runs_page = endpoint(runs.list_runs_page)
    import_run = endpoint(runs.import_run)
    update_run = endpoint(runs.update_run)
    delete_run = endpoint(runs.delete_run)
    stop_run = endpoint(runs.stop_run)
    stop_run_and_wait = endpoint(runs.stop_run_and_wait)
    run_action = endpoint(runs.run_action)
    get_run_logs = endpoint(runs.get_run_logs)
    get_run_metrics = endpoint(runs.get_run_metrics)
    get_run_metric = endpoint(runs.get_run_metric)
    auth_check = endpoint(projects.auth_check)

    @classmethod
    def build_target(cls, conn: Connection) -> Target:
        """Auth as the connection says: extra ``auth_type`` = ``basic`` (Login/Password), ``token``
        (Password, or extra ``token``, sent as Bearer) or ``none``; without it: basic when a login is
        set, token when only a password is, else none. Tokens stay in memory: never written to files."""
        extra = extra_of(conn)
        kind = str(extra.get("auth_type") or ("basic" if conn.login else "token" if (conn.password or extra.get("token")) else "none")).lower()
        auth: Auth
        if kind == "basic":
            if not conn.login or not conn.password:
                raise ConfigError(f"connection {conn.conn_id!r}: basic auth needs both Login and Password")
            auth = BasicAuth(conn.login, conn.password)
        elif kind in ("token", "bearer"):
            token = extra.get("token") or conn.password
            if not token:
                raise ConfigError(f"connection {conn.conn_id!r}: token auth needs the access token in the Password field (or extra 'token')")
            auth = HeaderAuth(str(token))
        elif kind == "none":
            auth = NoAuth()
        else:
            raise ConfigError(f"connection {conn.conn_id!r}: extra 'auth_type' must be basic, token or none, got {kind!r}")
        return Target(platform="DigitalHub", base_url=base_url(conn, platform="digitalhub"), auth=auth, **common_target_options(conn))

    @staticmethod
    def ping() -> Flow[Any]:
        return (yield from projects.auth_check())


class DigitalHubHook(DigitalHubCalls, SyncPlatformHook):
    """Sync DHCore hook. Connection: Host (``https://dhcore.example.com``), Login/Password (basic)
    or Password/extra ``token`` (bearer), extra ``auth_type``, ``verify_ssl``, timeouts."""

    def __init__(self, digitalhub_conn_id: str = DigitalHubCalls.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=digitalhub_conn_id, **kwargs)


class DigitalHubAsyncHook(DigitalHubCalls, AsyncPlatformHook):
    def __init__(self, digitalhub_conn_id: str = DigitalHubCalls.default_conn_name) -> None:
        super().__init__(conn_id=digitalhub_conn_id)
