"""PaddleFlow hooks: ``PaddleFlowHook`` (sync) and ``PaddleFlowAsyncHook`` (triggers), one method list."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.errors import ApiError, ConfigError
from airflow_provider.common.flow import Call, Flow, endpoint
from airflow_provider.common.hook import AsyncPlatformHook, SyncPlatformHook, base_url, common_target_options
from airflow_provider.common.session import SessionAuth
from airflow_provider.common.transport import ErrorParser, Target
from airflow_provider.paddleflow.api import admin, pipelines, runs, schedules, storage

if TYPE_CHECKING:
    from airflow.sdk import Connection

#: PaddleFlow answers auth problems with HTTP 400 and these codes; a stale token needs one re-login
TOKEN_REJECTED = frozenset({"AuthWithoutToken", "AuthInvalidToken", "AuthFailed", "UserNotExist"})
HINTS = {
    "AuthFailed": "check the Login and Password of the PaddleFlow connection",
    "UserNotExist": "check the Login of the PaddleFlow connection",
    "ActionNotAllowed": "the run or schedule is not in a state that allows this",
}


def parse_paddleflow_error(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str, str | None, Any]:
    """``{"requestID", "code", "message"}``; the request id is also echoed in ``x-pf-request-id``."""
    request_id = headers.get("x-pf-request-id")
    try:
        data = json.loads(body)
    except ValueError:
        return None, body[:500].decode("utf-8", errors="replace").strip() or f"HTTP {status}", request_id, None
    if not isinstance(data, dict):
        return None, str(data), request_id, data
    code = data.get("code") or None
    message = str(data.get("message") or "no message")
    if code in HINTS:
        message = f"{message} ({HINTS[code]})"
    return code, message, data.get("requestID") or request_id, data


class PaddleFlowLogin(SessionAuth):
    """Login with the connection's user and password; the minted JWT goes in ``x-pf-authorization`` (raw, no Bearer)."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self.token: str | None = None

    def login_call(self) -> Call:
        return admin.login_call(self._username, self._password)

    def accept(self, answer: Any) -> str:
        self.token = str(answer["authorization"])
        return self.token

    def rejected(self, err: ApiError) -> bool:
        return err.code in TOKEN_REJECTED

    def headers(self) -> dict[str, str]:
        return {"x-pf-authorization": self.token} if self.token else {}

    def secrets(self) -> list[str]:
        return [s for s in (self._password, self.token) if s]


class PaddleFlowCalls:
    conn_name_attr = "paddleflow_conn_id"
    default_conn_name = "paddleflow_default"
    conn_type = "paddleflow"
    hook_name = "PaddleFlow"
    parse_error: ClassVar[ErrorParser] = staticmethod(parse_paddleflow_error)

    create_run = endpoint(runs.create_run)
    list_run = endpoint(runs.list_run)
    show_run = endpoint(runs.show_run)
    stop_run = endpoint(runs.stop_run)
    retry_run = endpoint(runs.retry_run)
    delete_run = endpoint(runs.delete_run)
    show_log = endpoint(runs.show_log)
    log_tail = endpoint(runs.log_tail)
    create_pipeline = endpoint(pipelines.create_pipeline)
    update_pipeline = endpoint(pipelines.update_pipeline)
    list_pipeline = endpoint(pipelines.list_pipeline)
    show_pipeline = endpoint(pipelines.show_pipeline)
    delete_pipeline = endpoint(pipelines.delete_pipeline)
    show_pipeline_version = endpoint(pipelines.show_pipeline_version)
    delete_pipeline_version = endpoint(pipelines.delete_pipeline_version)
    create_schedule = endpoint(schedules.create_schedule)
    list_schedule = endpoint(schedules.list_schedule)
    show_schedule = endpoint(schedules.show_schedule)
    stop_schedule = endpoint(schedules.stop_schedule)
    delete_schedule = endpoint(schedules.delete_schedule)

    # administration (mostly root-only on a real server)
    add_user = endpoint(admin.add_user)
    list_user = endpoint(admin.list_user)
    update_password = endpoint(admin.update_password)
    del_user = endpoint(admin.del_user)
    create_queue = endpoint(admin.create_queue)
    list_queue = endpoint(admin.list_queue)
    show_queue = endpoint(admin.show_queue)
    update_queue = endpoint(admin.update_queue)
    stop_queue = endpoint(admin.stop_queue)
    del_queue = endpoint(admin.del_queue)
    grant_queue = endpoint(admin.grant_queue)
    ungrant_queue = endpoint(admin.ungrant_queue)
    show_queue_grant = endpoint(admin.show_queue_grant)
    add_flavour = endpoint(admin.add_flavour)
    list_flavour = endpoint(admin.list_flavour)
    show_flavour = endpoint(admin.show_flavour)
    update_flavour = endpoint(admin.update_flavour)
    del_flavour = endpoint(admin.del_flavour)
    create_cluster = endpoint(admin.create_cluster)
    list_cluster = endpoint(admin.list_cluster)
    show_cluster = endpoint(admin.show_cluster)
    update_cluster = endpoint(admin.update_cluster)
    delete_cluster = endpoint(admin.delete_cluster)
    list_cluster_resource = endpoint(admin.list_cluster_resource)
    get_statistics = endpoint(admin.get_statistics)
    get_statistics_detail = endpoint(admin.get_statistics_detail)
    # storage and tracking
    add_fs = endpoint(storage.add_fs)
    list_fs = endpoint(storage.list_fs)
    show_fs = endpoint(storage.show_fs)
    delete_fs = endpoint(storage.delete_fs)
    mount = endpoint(storage.mount)
    add_link = endpoint(storage.add_link)
    list_link = endpoint(storage.list_link)
    show_link = endpoint(storage.show_link)
    delete_link = endpoint(storage.delete_link)
    list_cache = endpoint(storage.list_cache)
    show_cache = endpoint(storage.show_cache)
    delete_cache = endpoint(storage.delete_cache)
    list_artifact = endpoint(storage.list_artifact)

    @classmethod
    def build_target(cls, conn: Connection) -> Target:
        if not conn.login or not conn.password:
            raise ConfigError(f"connection {conn.conn_id!r}: PaddleFlow needs Login and Password (the server mints a token from them)")
        url = base_url(conn, platform="paddleflow", default_scheme="http", default_port=8999)
        return Target(platform="PaddleFlow", base_url=url, auth=PaddleFlowLogin(conn.login, conn.password), **common_target_options(conn))

    @staticmethod
    def ping() -> Flow[Any]:
        return (yield from runs.list_run(max_keys=1))


class PaddleFlowHook(PaddleFlowCalls, SyncPlatformHook):
    """Sync PaddleFlow hook. Connection: Host (and Port, default 8999; a full URL also works),
    Login/Password (``root``/``paddleflow`` on a fresh server)."""

    def __init__(self, paddleflow_conn_id: str = PaddleFlowCalls.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=paddleflow_conn_id, **kwargs)


class PaddleFlowAsyncHook(PaddleFlowCalls, AsyncPlatformHook):
    def __init__(self, paddleflow_conn_id: str = PaddleFlowCalls.default_conn_name) -> None:
        super().__init__(conn_id=paddleflow_conn_id)
