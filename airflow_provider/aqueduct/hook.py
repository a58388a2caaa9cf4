"""Aqueduct hooks: ``AqueductHook`` (sync) and ``AqueductAsyncHook`` (triggers), one method list."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.aqueduct.api import experiments, extensions, files, graphql, tasks
from airflow_provider.common.flow import Flow, endpoint
from airflow_provider.common.hook import AsyncPlatformHook, SyncPlatformHook, base_url, common_target_options, extra_of
from airflow_provider.common.transport import Auth, ErrorParser, HeaderAuth, NoAuth, Target

if TYPE_CHECKING:
    from airflow.sdk import Connection


def parse_aqueduct_error(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str, str | None, Any]:
    """REST routes answer FastAPI's ``{"detail": ...}``; the GraphQL route answers 400 in plain text."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, body[:500].decode("utf-8", errors="replace").strip() or f"HTTP {status}", None, None
    detail = data.get("detail") if isinstance(data, dict) else data
    if detail is None and isinstance(data, dict):
        # a proxy or gateway in front of the server answers in its own shape
        detail = data.get("message") or data.get("error") or json.dumps(data)[:500]
    if isinstance(detail, list):
        detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    return None, str(detail), None, data


class AqueductCalls:
    conn_name_attr = "aqueduct_conn_id"
    default_conn_name = "aqueduct_default"
    conn_type = "aqueduct"
    hook_name = "Aqueduct"
    parse_error: ClassVar[ErrorParser] = staticmethod(parse_aqueduct_error)

    create_experiment = endpoint(experiments.create_experiment)
    find_experiments = endpoint(experiments.find_experiments)
    find_all_experiments = endpoint(experiments.find_all_experiments)
    get_experiment_by_eid = endpoint(experiments.get_experiment_by_eid)
    get_experiment_by_uuid = endpoint(experiments.get_experiment_by_uuid)
    get_experiment = endpoint(experiments.get_experiment)
    remove_experiment_by_eid = endpoint(experiments.remove_experiment_by_eid)
    remove_experiment_by_uuid = endpoint(experiments.remove_experiment_by_uuid)
    update_experiment = endpoint(experiments.update_experiment)
    add_tags = endpoint(experiments.add_tags)
    remove_tag = endpoint(experiments.remove_tag)
    get_tags = endpoint(experiments.get_tags)
    upload_file = endpoint(files.upload_file)
    list_files = endpoint(files.list_files)
    download_file = endpoint(files.download_file)
    remove_files = endpoint(files.remove_files)
    get_extensions = endpoint(extensions.get_extensions)
    get_extension_action = endpoint(extensions.get_extension_action)
    detect_generation = endpoint(graphql.detect_generation)
    execute_extension = endpoint(extensions.execute_extension)
    get_task = endpoint(tasks.get_task)
    get_tasks = endpoint(tasks.get_tasks)
    find_action_tasks = endpoint(tasks.find_action_tasks)
    cancel_task = endpoint(tasks.cancel_task)
    get_current_user = endpoint(graphql.get_current_user)

    @classmethod
    def build_target(cls, conn: Connection) -> Target:
        """Host is the server URL (without ``/api``). The open-source server has no auth; a token in
        Password (or extra ``token``) is sent as ``Authorization: Bearer`` for deployments that want one."""
        extra = extra_of(conn)
        token = conn.password or extra.get("token")
        auth: Auth = HeaderAuth(str(token)) if token else NoAuth()
        options = common_target_options(conn)
        return Target(platform="Aqueduct", base_url=base_url(conn, platform="aqueduct"), auth=auth, **options)

    @staticmethod
    def ping() -> Flow[Any]:
        return (yield from graphql.get_current_user())


class AqueductHook(AqueductCalls, SyncPlatformHook):
    def __init__(self, aqueduct_conn_id: str = AqueductCalls.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=aqueduct_conn_id, **kwargs)


class AqueductAsyncHook(AqueductCalls, AsyncPlatformHook):
    def __init__(self, aqueduct_conn_id: str = AqueductCalls.default_conn_name) -> None:
        super().__init__(conn_id=aqueduct_conn_id)
