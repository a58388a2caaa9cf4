"""Decoding the listings thousands of waits share, straight from the bytes."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from airflow_provider.common.errors import ApiError

T = TypeVar("T")


def decode_fields(adapter: TypeAdapter[T], body: bytes, platform: str) -> T | Any:
    """``body`` as ``adapter``'s typed dicts: only the fields they name are built.

    A listing a triggerer reads for 10,000 waits every interval is mostly fields no wait needs
    (specs, metadata, transitions); decoding all of them with ``json.loads`` was most of its CPU.
    A field of an unexpected type (a null where an object was expected) falls back to the plain
    decoding, every field included; an answer that is not JSON is named as such.
    """
    try:
        return adapter.validate_json(body or b"{}")
    except ValidationError:
        pass
    try:
        return json.loads(body) or {}
    except ValueError:
        snippet = body[:200].decode("utf-8", errors="replace")
        raise ApiError(f"expected JSON from {platform}, got: {snippet!r}", status=200, method="GET") from None
