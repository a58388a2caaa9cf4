"""PaddleFlow administration endpoints (reference/paddleflow.md §2.1, §2.7, §2.9-2.11): login and users,
queues and grants, flavours, clusters, statistics. Mostly root-only on a real server."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.paddleflow.api.base import api_path, drop_none, list_page


def _resources(cpu: str | None, mem: str | None, scalar: dict[str, str] | None) -> dict[str, Any] | None:
    # requests say "mem"; answers say "memory"
    if cpu is None and mem is None and not scalar:
        return None
    return drop_none({"cpu": cpu, "mem": mem, "scalarResources": scalar or None})


# --- users --------------------------------------------------------------------------------
def add_user(username: str, password: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("POST", api_path("user"), json={"username": username, "password": password})))


def list_user(max_keys: int = 100, marker: str | None = None, all_pages: bool = False) -> Flow[dict[str, Any]]:
    return (yield from list_page(api_path("user"), "userList", {}, max_keys, marker, all_pages))


def update_password(username: str, password: str) -> Flow[None]:
    yield Call("PUT", api_path("user", username), json={"password": password}, expect="none")


def del_user(username: str) -> Flow[None]:
    yield Call("DELETE", api_path("user", username), expect="none")


# --- queues and grants ----------------------------------------------------------------------
def create_queue(
    name: str,
    namespace: str,
    cluster_name: str,
    max_cpu: str,
    max_mem: str,
    max_scalar_resources: dict[str, str] | None = None,
    min_cpu: str | None = None,
    min_mem: str | None = None,
    min_scalar_resources: dict[str, str] | None = None,
    scheduling_policy: list[str] | None = None,
    location: dict[str, str] | None = None,
    quota_type: str | None = None,
) -> Flow[dict[str, Any]]:
    body = drop_none({
        "name": name, "namespace": namespace, "clusterName": cluster_name, "maxResources": _resources(max_cpu, max_mem, max_scalar_resources),
        "minResources": _resources(min_cpu, min_mem, min_scalar_resources), "schedulingPolicy": scheduling_policy, "location": location, "quotaType": quota_type,
    })  # fmt: skip
    return dict((yield Call("POST", api_path("queue"), json=body)))


def list_queue(max_keys: int = 100, marker: str | None = None, name: str | None = None, all_pages: bool = False) -> Flow[dict[str, Any]]:
    return (yield from list_page(api_path("queue"), "queueList", {"name": name}, max_keys, marker, all_pages))


def show_queue(name: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("queue", name))))


def update_queue(name: str, max_cpu: str | None = None, max_mem: str | None = None, max_scalar_resources: dict[str, str] | None = None,
                 min_cpu: str | None = None, min_mem: str | None = None, min_scalar_resources: dict[str, str] | None = None,
                 scheduling_policy: list[str] | None = None, location: dict[str, str] | None = None) -> Flow[dict[str, Any]]:  # fmt: skip
    body = drop_none({"maxResources": _resources(max_cpu, max_mem, max_scalar_resources), "minResources": _resources(min_cpu, min_mem, min_scalar_resources),
                       "schedulingPolicy": scheduling_policy, "location": location})  # fmt: skip
    return dict((yield Call("PUT", api_path("queue", name), json=body)))


def stop_queue(name: str) -> Flow[None]:
    """Refused: today's server cannot close a queue. Its router (``pkg/apiserver/router/v1/queue.go``)
    sends ``PUT /queue/{name}`` to the queue *update*, whose status field is not settable (``json:"-"``),
    and answers an empty body with 400 MalformedJSON; the SDK dropped ``stop_queue`` with the old
    ``?action=close`` route. Nothing is sent."""
    if False:  # pragma: no cover - a flow that sends nothing
        yield
    raise ConfigError(
        f"stop_queue({name!r}): PaddleFlow's server has no way to close a queue any more (PUT /queue/{{name}} is the queue update "
        "and a queue's status cannot be set through it). Delete the queue with del_queue, or shrink it with update_queue(max_resources=...)"
    )


def del_queue(name: str) -> Flow[None]:
    yield Call("DELETE", api_path("queue", name), expect="none")


def grant_queue(username: str, queue_name: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("POST", api_path("grant"), json={"username": username, "resourceType": "queue", "resourceID": queue_name})))


def ungrant_queue(username: str, queue_name: str) -> Flow[None]:
    yield Call("DELETE", api_path("grant"), params={"username": username, "resourceType": "queue", "resourceID": queue_name}, expect="none")


def show_queue_grant(username: str | None = None, max_keys: int = 100, marker: str | None = None, all_pages: bool = False) -> Flow[dict[str, Any]]:
    return (yield from list_page(api_path("grant"), "grantList", {"username": username}, max_keys, marker, all_pages))


# --- flavours ----------------------------------------------------------------------------------
def add_flavour(name: str, cpu: str, mem: str, scalar_resources: dict[str, str] | None = None, cluster_name: str | None = None) -> Flow[dict[str, Any]]:
    return dict(
        (
            yield Call(
                "POST",
                api_path("flavour"),
                json=drop_none({"name": name, "cpu": cpu, "mem": mem, "scalarResources": scalar_resources, "clusterName": cluster_name}),
            )
        )
    )


def list_flavour(
    max_keys: int = 100, marker: str | None = None, cluster_name: str | None = None, name: str | None = None, all_pages: bool = False
) -> Flow[dict[str, Any]]:
    return (yield from list_page(api_path("flavour"), "flavourList", {"clusterName": cluster_name, "name": name}, max_keys, marker, all_pages))


def show_flavour(name: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("flavour", name))))


def update_flavour(
    name: str, cpu: str | None = None, mem: str | None = None, scalar_resources: dict[str, str] | None = None, cluster_name: str | None = None
) -> Flow[dict[str, Any]]:
    return dict(
        (
            yield Call(
                "PUT", api_path("flavour", name), json=drop_none({"cpu": cpu, "mem": mem, "scalarResources": scalar_resources, "clusterName": cluster_name})
            )
        )
    )


def del_flavour(name: str) -> Flow[None]:
    yield Call("DELETE", api_path("flavour", name), expect="none")


# --- clusters ------------------------------------------------------------------------------------
CLUSTER_TYPES = ("Kubernetes", "Local", "K3S")


def create_cluster(
    name: str,
    endpoint: str,
    cluster_type: str,
    credential: str | None = None,
    description: str | None = None,
    source: str | None = None,
    setting: str | None = None,
    status: str | None = None,
    namespace_list: list[str] | None = None,
    version: str | None = None,
) -> Flow[dict[str, Any]]:
    """``credential`` is the kubeconfig text; it is sent base64-encoded as PaddleFlow expects."""
    import base64

    if cluster_type not in CLUSTER_TYPES:
        raise ConfigError(f"cluster_type must be one of {', '.join(CLUSTER_TYPES)}, got {cluster_type!r}")
    body = drop_none({
        "clusterName": name, "endpoint": endpoint, "clusterType": cluster_type, "credential": base64.b64encode(credential.encode()).decode() if credential else None,
        "description": description, "source": source, "setting": setting, "status": status, "namespaceList": namespace_list, "version": version,
    })  # fmt: skip
    return dict((yield Call("POST", api_path("cluster"), json=body)))


def list_cluster(
    max_keys: int = 100, marker: str | None = None, cluster_names: list[str] | None = None, cluster_status: str | None = None, all_pages: bool = False
) -> Flow[dict[str, Any]]:
    params = {"clusterNames": ",".join(cluster_names) if cluster_names else None, "clusterStatus": cluster_status}
    return (yield from list_page(api_path("cluster"), "clusterList", params, max_keys, marker, all_pages))


def show_cluster(name: str) -> Flow[dict[str, Any]]:
    return dict((yield Call("GET", api_path("cluster", name))))


def update_cluster(name: str, **fields: Any) -> Flow[dict[str, Any]]:
    """Fields as in :func:`create_cluster` (``endpoint``, ``credential``, ``description``, ``status``,
    ``namespace_list``...). ``credential`` is the kubeconfig (text or bytes); it is sent base64-encoded,
    as the SDK sends it."""
    import base64

    keys = {"endpoint": "endpoint", "credential": "credential", "cluster_type": "clusterType", "description": "description", "source": "source",
            "setting": "setting", "status": "status", "namespace_list": "namespaceList", "version": "version"}  # fmt: skip
    unknown = set(fields) - set(keys)
    if unknown:
        raise ConfigError(f"update_cluster got unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(keys)}")
    credential = fields.get("credential")
    if credential is not None:
        if not isinstance(credential, str | bytes):
            raise ConfigError(f"update_cluster: credential must be the kubeconfig as text or bytes, got {type(credential).__name__}")
        fields = {**fields, "credential": base64.b64encode(credential.encode() if isinstance(credential, str) else credential).decode()}
    return dict((yield Call("PUT", api_path("cluster", name), json=drop_none({keys[k]: v for k, v in fields.items()}))))


def delete_cluster(name: str) -> Flow[None]:
    yield Call("DELETE", api_path("cluster", name), expect="none")


def list_cluster_resource(cluster_names: list[str] | None = None) -> Flow[Any]:
    return (yield Call("GET", api_path("cluster", "resource"), params={"clusterNames": ",".join(cluster_names) if cluster_names else None}))


# --- statistics ----------------------------------------------------------------------------------
def get_statistics(job_id: str) -> Flow[dict[str, Any]]:
    """Resource usage of a job (a step's ``jobID`` from ``show_run``); values are formatted strings."""
    return dict((yield Call("GET", api_path("statistics", "job", job_id))))


def get_statistics_detail(job_id: str, start: int | None = None, end: int | None = None, step: int | None = None) -> Flow[dict[str, Any]]:
    if start is not None and end is not None and start > end:
        raise ConfigError(f"start ({start}) must not be after end ({end})")
    if step is not None and step <= 0:
        raise ConfigError(f"step must be positive seconds, got {step}")
    return dict((yield Call("GET", api_path("statistics", "jobDetail", job_id), params={"start": start, "end": end, "step": step})))


# --- login --------------------------------------------------------------------------------
def login_call(username: str, password: str) -> Call:
    return Call("POST", api_path("login"), json={"username": username, "password": password}, anonymous=True, idempotent=True)
