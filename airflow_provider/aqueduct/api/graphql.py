"""Aqueduct's one GraphQL endpoint (seed 003; wire: reference/aqueduct.md §2-3).

GraphQL answers errors with HTTP 200 and an ``errors`` list; :func:`gql` turns them into
:class:`GraphQLError`. Two server generations exist; :func:`detect_generation` tells them apart
by introspection (``executeExtension``'s arguments)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from airflow_provider.common.errors import ApiError
from airflow_provider.common.flow import Call, Flow, Shared

RELEASED, TASKS = "released", "tasks"


class GraphQLError(ApiError):
    """The server answered HTTP 200 with GraphQL ``errors``."""


#: resolver messages that mean "no such object" or "this query is wrong" (reference §2.3)
_PERMANENT_MESSAGE = re.compile(r"non-existing|not found|does not exist|no access|not supported|is required|must be|Maximum allowed", re.IGNORECASE)


def _permanent(errors: list[Any]) -> bool:
    """Validation errors (no ``path``: the query never ran) and not-found resolver errors cannot heal."""
    return any(not isinstance(e, dict) or "path" not in e or _PERMANENT_MESSAGE.search(str(e.get("message", ""))) for e in errors)


def gql(query: str, variables: dict[str, Any] | None = None, field: str | None = None, read_timeout: float | None = None) -> Flow[Any]:
    is_mutation = query.lstrip().startswith("mutation")
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    answer = yield Call("POST", "/api/graphql", json=body, idempotent=not is_mutation, read_timeout=read_timeout)
    if not isinstance(answer, dict):
        raise ApiError(f"not a GraphQL answer: {str(answer)[:200]!r}", status=200, method="POST", url="/api/graphql")
    errors = answer.get("errors") or []
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors)
        err = GraphQLError(messages, status=200, code="GRAPHQL", method="POST", url="/api/graphql", details=errors)
        err.permanent = _permanent(errors)
        raise err
    data = answer.get("data") or {}
    return data.get(field) if field else data


def detect_generation() -> Flow[str]:
    """``tasks`` when ``executeExtension`` takes an ``executeExtensionInput`` (core main), else ``released``."""
    fields = yield from gql('{ __type(name: "Mutation") { fields { name args { name } } } }', None, "__type")
    for f in (fields or {}).get("fields", []):
        if f["name"] == "executeExtension":
            return TASKS if any(a["name"] == "executeExtensionInput" for a in f["args"]) else RELEASED
    raise ApiError("this server has no executeExtension mutation: is it an Aqueduct server?", status=200)


def generation(max_age: float = 300.0) -> Flow[str]:
    """The detected generation, shared per connection for ``max_age`` seconds in the triggerer."""
    detected: str = yield Shared(("aqueduct-generation",), max_age, detect_generation())
    return detected


def get_current_user() -> Flow[dict[str, Any]]:
    return dict((yield from gql("{ getCurrentUserInfo { username scopes } }", None, "getCurrentUserInfo")))


def iso_datetime(value: dt.datetime | str | None) -> str | None:
    """A GraphQL DateTime argument: naive datetimes are taken as UTC."""
    if value is None or isinstance(value, str):
        return value
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
