"""The task instance identity that tags remote runs, so a retry re-attaches only to its own run."""

from __future__ import annotations

import hashlib
from typing import Any

TAG_PREFIX = "airflow"


def ti_identity(context: Any) -> dict[str, Any]:
    ti = context["ti"]
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "map_index": getattr(ti, "map_index", -1),
    }


def ti_tag(context: Any) -> str:
    """``airflow:<dag>/<task>/<run>/<map>`` — readable, for platforms that take free text."""
    i = ti_identity(context)
    return f"{TAG_PREFIX}:{i['dag_id']}/{i['task_id']}/{i['run_id']}/{i['map_index']}"


def ti_tag_short(context: Any, length: int = 20) -> str:
    """``af-<hash>`` — for labels and names with length or charset limits."""
    digest = hashlib.sha256(ti_tag(context).encode()).hexdigest()
    return f"af-{digest[: max(8, length - 3)]}"
