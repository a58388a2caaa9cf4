"""What every PaddleFlow call shares: the API prefix, path quoting, body cleaning, YAML bodies and marker paging."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.common.transport import quote_segment as q

PREFIX = "/api/paddleflow/v1"


def api_path(*parts: str) -> str:
    return PREFIX + "".join(f"/{q(p)}" for p in parts)


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None and v != ""}


def list_page(path: str, list_key: str, params: dict[str, Any], max_keys: int, marker: str | None, all_pages: bool) -> Flow[dict[str, Any]]:
    items: list[Any] = []
    while True:
        data = yield Call("GET", path, params={**params, "maxKeys": max_keys, "marker": marker})
        data = data or {}
        items.extend(data.get(list_key) or [])
        marker = data.get("nextMarker")
        if not all_pages or not data.get("isTruncated") or not marker:
            return {list_key: items, "isTruncated": bool(data.get("isTruncated")), "nextMarker": marker}


def yaml_text(yaml_file: str | Path | None = None, yaml_raw: str | bytes | None = None) -> str | None:
    """Read a YAML file, or take raw YAML; check it parses so a syntax error names its line here."""
    import yaml

    if yaml_file is not None:
        path = Path(yaml_file)
        if not path.is_file():
            raise ConfigError(f"yaml file {str(path)!r} does not exist")
        text = path.read_text()
    elif yaml_raw is not None:
        text = yaml_raw.decode() if isinstance(yaml_raw, bytes) else yaml_raw
    else:
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"pipeline YAML is malformed{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict) or "entry_points" not in doc:
        raise ConfigError("pipeline YAML must be a mapping with entry_points (see PaddleFlow's run.yaml format)")
    return text


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
