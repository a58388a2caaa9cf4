"""PaddleFlow hooks: ``PaddleflowHook`` (sync) and ``PaddleflowAsyncHook`` (triggers), one method list."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.errors import ApiError, ConfigError
from airflow_provider.common.flow import Call, Flow, endpoint
from airflow_provider.common.hook import AsyncPlatformHook, SyncPlatformHook, base_url, common_target_options
from airflow_provider.common.session import SessionAuth
from airflow_provider.common.transport import ErrorParser, Target
from airflow_provider.paddleflow import api, api_admin, api_storage

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


class PaddleflowLogin(SessionAuth):
    """Login with the connection's user and password; the minted JWT goes in ``x-pf-authorization`` (raw, no Bearer)."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self.token: str | None = None

    def login_call(self) -> Call:
        return api.login_call(self._username, self._password)

    def accept(self, answer: Any) -> str:
        self.token = str(answer["authorization"])
        return self.token

    def rejected(self, err: ApiError) -> bool:
        return err.code in TOKEN_REJECTED

    def headers(self) -> dict[str, str]:
        return {"x-pf-authorization": self.token} if self.token else {}

    def secrets(self) -> list[str]:
        return [s for s in (self._password, self.token) if s]


class PaddleflowCalls:
    conn_name_attr = "paddleflow_conn_id"
    default_conn_name = "paddleflow_default"
    conn_type = "paddleflow"
    hook_name = "PaddleFlow"
    parse_error: ClassVar[ErrorParser] = staticmethod(parse_paddleflow_error)

    create_run = endpoint(api.create_run)
    list_run = endpoint(api.list_run)
    show_run = endpoint(api.show_run)
    stop_run = endpoint(api.stop_run)
    retry_run = endpoint(api.retry_run)
    delete_run = endpoint(api.delete_run)
    show_log = endpoint(api.show_log)
    log_tail = endpoint(api.log_tail)
    create_pipeline = endpoint(api.create_pipeline)
    update_pipeline = endpoint(api.update_pipeline)
    list_pipeline = endpoint(api.list_pipeline)
    show_pipeline = endpoint(api.show_pipeline)
    delete_pipeline = endpoint(api.delete_pipeline)
    show_pipeline_version = endpoint(api.show_pipeline_version)
    delete_pipeline_version = endpoint(api.delete_pipeline_version)
    create_schedule = endpoint(api.create_schedule)
    list_schedule = endpoint(api.list_schedule)
    show_schedule = endpoint(api.show_schedule)
    stop_schedule = endpoint(api.stop_schedule)
    delete_schedule = endpoint(api.delete_schedule)

    # administration (mostly root-only on a real server)
    add_user = endpoint(api_admin.add_user)
    list_user = endpoint(api_admin.list_user)
    update_password = endpoint(api_admin.update_password)
    del_user = endpoint(api_admin.del_user)
    create_queue = endpoint(api_admin.create_queue)
    list_queue = endpoint(api_admin.list_queue)
    show_queue = endpoint(api_admin.show_queue)
    update_queue = endpoint(api_admin.update_queue)
    stop_queue = endpoint(api_admin.stop_queue)
    del_queue = endpoint(api_admin.del_queue)
    grant_queue = endpoint(api_admin.grant_queue)
    ungrant_queue = endpoint(api_admin.ungrant_queue)
    show_queue_grant = endpoint(api_admin.show_queue_grant)
    add_flavour = endpoint(api_admin.add_flavour)
    list_flavour = endpoint(api_admin.list_flavour)
    show_flavour = endpoint(api_admin.show_flavour)
    update_flavour = endpoint(api_admin.update_flavour)
    del_flavour = endpoint(api_admin.del_flavour)
    create_cluster = endpoint(api_admin.create_cluster)
    list_cluster = endpoint(api_admin.list_cluster)
    show_cluster = endpoint(api_admin.show_cluster)
    update_cluster = endpoint(api_admin.update_cluster)
    delete_cluster = endpoint(api_admin.delete_cluster)
    list_cluster_resource = endpoint(api_admin.list_cluster_resource)
    get_statistics = endpoint(api_admin.get_statistics)
    get_statistics_detail = endpoint(api_admin.get_statistics_detail)
    # storage and tracking
    add_fs = endpoint(api_storage.add_fs)
    list_fs = endpoint(api_storage.list_fs)
    show_fs = endpoint(api_storage.show_fs)
    delete_fs = endpoint(api_storage.delete_fs)
    mount = endpoint(api_storage.mount)
    add_link = endpoint(api_storage.add_link)
    list_link = endpoint(api_storage.list_link)
    show_link = endpoint(api_storage.show_link)
    delete_link = endpoint(api_storage.delete_link)
    list_cache = endpoint(api_storage.list_cache)
    show_cache = endpoint(api_storage.show_cache)
    delete_cache = endpoint(api_storage.delete_cache)
    list_artifact = endpoint(api_storage.list_artifact)

    @classmethod
    def build_target(cls, conn: Connection) -> Target:
        if not conn.login or not conn.password:
            raise ConfigError(f"connection {conn.conn_id!r}: PaddleFlow needs Login and Password (the server mints a token from them)")
        url = base_url(conn, platform="paddleflow", default_scheme="http", default_port=8999)
        return Target(platform="PaddleFlow", base_url=url, auth=PaddleflowLogin(conn.login, conn.password), **common_target_options(conn))

    @staticmethod
    def ping() -> Flow[Any]:
        return (yield from api.list_run(max_keys=1))


class PaddleflowHook(PaddleflowCalls, SyncPlatformHook):
    """Sync PaddleFlow hook. Connection: Host (and Port, default 8999; a full URL also works),
    Login/Password (``root``/``paddleflow`` on a fresh server)."""

    def __init__(self, paddleflow_conn_id: str = PaddleflowCalls.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=paddleflow_conn_id, **kwargs)


class PaddleflowAsyncHook(PaddleflowCalls, AsyncPlatformHook):
    def __init__(self, paddleflow_conn_id: str = PaddleflowCalls.default_conn_name) -> None:
        super().__init__(conn_id=paddleflow_conn_id)
