"""A small declarative resource layer for the emulators: a table of records by id with the platform's
404 error, filters read from the query string, and the list / get-or-404 / delete routes an emulator
declares against a table. The platform plugs in its own pagination, authentication and error bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Request, Response

Guard = Callable[[Request], Any]


class Table(dict[str, Any]):
    """Records by id: ``missing(key)`` is the platform's error for an unknown one, ``id_format`` numbers new ids."""

    def __init__(self, missing: Callable[[str], Exception], id_format: str = "{:06d}") -> None:
        super().__init__()
        self.missing, self.id_format, self.seq = missing, id_format, 0

    def new_id(self) -> str:
        self.seq += 1
        return self.id_format.format(self.seq)

    def one(self, key: str) -> Any:
        if key not in self:
            raise self.missing(key)
        return self[key]


def wanted(request: Request, filters: dict[str, str]) -> dict[str, set[str]]:
    """The filters the query sets (``{parameter: field}``): each holds comma-separated accepted values."""
    found = {}
    for param, field in filters.items():
        values = {v for v in request.query_params.get(param, "").split(",") if v}
        if values:
            found[field] = values
    return found


def where(records: Iterable[dict[str, Any]], allowed: dict[str, set[str]]) -> list[dict[str, Any]]:
    return [r for r in records if all(r[name] in values for name, values in allowed.items())]


def _open(request: Request) -> None:
    """No check of its own (e.g. the router's dependencies already authenticate)."""


class Routes:
    """Declares resources on ``router``: ``page(items, list_key, request)`` is the platform's pagination,
    ``read`` and ``write`` check a request's right to read and to change (they raise the platform's error)."""

    def __init__(self, router: APIRouter, page: Callable[[list[Any], str, Request], Any], read: Guard = _open, write: Guard = _open) -> None:
        self.router, self.page, self.read, self.write = router, page, read, write

    def declare(self, path: str, table: Table, list_key: str, *, key_field: str = "", filters: dict[str, str] | None = None,
                view: Callable[[Any], dict[str, Any]] = dict, show: Callable[[Any, Request], Any] | None = None,
                deletable: Callable[[Any], None] | None = None, read: Guard | None = None, write: Guard | None = None,
                scope: Callable[[Request, dict[str, set[str]]], None] | None = None) -> None:  # fmt: skip
        """GET ``path`` (the list under ``list_key``), GET and DELETE ``path/{key}``. A filter on ``key_field``
        (the records' id in their ``view``) looks the records up instead of scanning the table; ``scope`` may
        narrow or refuse a listing's filters for the caller."""
        can_read, can_write = read or self.read, write or self.write

        def listing(request: Request) -> Any:
            can_read(request)
            allowed = wanted(request, filters or {})
            if scope:
                scope(request, allowed)
            ids = allowed.get(key_field)
            records = table.values() if ids is None else [table[key] for key in sorted(ids) if key in table]
            return self.page(where(map(view, records), allowed), list_key, request)

        def shown(key: str, request: Request) -> Any:
            can_read(request)
            record = table.one(key)
            return show(record, request) if show else view(record)

        def delete(key: str, request: Request) -> Response:
            can_write(request)
            record = table.one(key)
            if deletable:
                deletable(record)
            del table[key]
            return Response(status_code=200)

        self.router.add_api_route(path, listing, methods=["GET"])
        self.router.add_api_route(path + "/{key}", shown, methods=["GET"])
        self.router.add_api_route(path + "/{key}", delete, methods=["DELETE"])
