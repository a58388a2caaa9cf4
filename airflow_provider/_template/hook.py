"""Acme hooks: ``AcmeHook`` (sync, for operators) and ``AcmeAsyncHook`` (triggers), one method list."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider._template.api import runs, server
from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Flow, endpoint
from airflow_provider.common.hook import AsyncPlatformHook, SyncPlatformHook, base_url, common_target_options
from airflow_provider.common.transport import ErrorParser, HeaderAuth, Target

if TYPE_CHECKING:
    from airflow.sdk import Connection


def parse_acme_error(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str, str | None, Any]:
    """(platform error code, message, request id, raw body) of an error answer, in whatever shape it came."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, body[:500].decode("utf-8", errors="replace").strip() or f"HTTP {status}", headers.get("x-request-id"), None
    if not isinstance(data, dict):
        return None, str(data)[:500], headers.get("x-request-id"), data
    return data.get("code"), str(data.get("message") or data)[:500], headers.get("x-request-id"), data


class AcmeCalls:
    conn_name_attr = "acme_conn_id"
    default_conn_name = "acme_default"
    conn_type = "acme"
    hook_name = "Acme"
    parse_error: ClassVar[ErrorParser] = staticmethod(parse_acme_error)

    start_run = endpoint(runs.start_run)
    get_run = endpoint(runs.get_run)
    list_runs = endpoint(runs.list_runs)
    cancel_run = endpoint(runs.cancel_run)
    whoami = endpoint(server.whoami)

    @classmethod
    def build_target(cls, conn: Connection) -> Target:
        """Host is the server URL; Password the API token, sent as ``Authorization: Bearer``."""
        if not conn.password:
            raise ConfigError(f"connection {conn.conn_id!r}: no Acme API token; put it in the Password field")
        return Target(platform="Acme", base_url=base_url(conn, platform="acme"), auth=HeaderAuth(conn.password), **common_target_options(conn))

    @staticmethod
    def ping() -> Flow[Any]:
        return (yield from server.whoami())


class AcmeHook(AcmeCalls, SyncPlatformHook):
    def __init__(self, acme_conn_id: str = AcmeCalls.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=acme_conn_id, **kwargs)


class AcmeAsyncHook(AcmeCalls, AsyncPlatformHook):
    def __init__(self, acme_conn_id: str = AcmeCalls.default_conn_name) -> None:
        super().__init__(conn_id=acme_conn_id)
