"""PaddleFlow answers are kept as the plain dicts the server sends (as the official client returns
them); these helpers read the fields a run's dict carries."""

from __future__ import annotations

from typing import Any


def job_ids(run: dict[str, Any]) -> list[str]:
    """Every step's job id in a ``show_run`` answer (runtime is nested: DAGs hold entryPoints)."""
    found: list[str] = []

    def walk(components: dict[str, Any] | None) -> None:
        for views in (components or {}).values():
            for view in views if isinstance(views, list) else [views]:
                if view.get("jobID"):
                    found.append(view["jobID"])
                walk(view.get("entryPoints"))

    walk(run.get("runtime"))
    walk(run.get("postProcess"))
    return found


def failed_jobs(run: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(components: dict[str, Any] | None) -> None:
        for views in (components or {}).values():
            for view in views if isinstance(views, list) else [views]:
                if view.get("jobID") and view.get("status") == "failed":
                    out.append(view)
                walk(view.get("entryPoints"))

    walk(run.get("runtime"))
    return out


def job_summary(run: dict[str, Any]) -> dict[str, str]:
    """step name -> status, for the return value."""
    out = {}
    for name, views in (run.get("runtime") or {}).items():
        for view in views if isinstance(views, list) else [views]:
            out[view.get("stepName") or view.get("name") or name] = view.get("status", "")
    return out
