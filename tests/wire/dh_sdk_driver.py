"""Runs digitalhub SDK 0.15.11 operations for the wire tests, in the SDK's own venv.

Reads a plan (JSON file, argv[1]): ``[{"label", "op", "args"}]``. Before each operation's
requests it sends ``GET /_recorder/mark/<label>`` to the recording proxy (``DHCORE_ENDPOINT``),
so the test can cut the recording per operation; whatever an operation needs first (reading the
run it then stops) is done before the mark. Prints ``{label: result or {"error": ...}}`` as JSON.
Imports nothing from the provider: it runs where only the SDK is installed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import digitalhub as dh
import requests
from digitalhub.entities._processors.processors import context_processor

ENDPOINT = os.environ["DHCORE_ENDPOINT"]


def mark(label: str) -> None:
    requests.get(f"{ENDPOINT}/_recorder/mark/{label}", timeout=10)


def run_op(label: str, op: str, a: dict[str, Any]) -> Any:
    # what an operation needs first is recorded under "<label>/prep", apart from the operation
    mark(f"{label}/prep")
    if op in ("stop", "resume", "logs", "metrics", "get_metric", "refresh", "update_run"):
        run = dh.get_run(a["key"])
        mark(label)
        if op == "stop":
            return run.stop()
        if op == "resume":
            return run.resume()
        if op == "logs":
            return [entry.text or "" for entry in run.logs()]
        if op == "metrics":
            return run.metrics
        if op == "get_metric":
            # Run.get_metric is not in SDK 0.15.11: the call its metrics code makes for one name
            return context_processor.read_metrics(run.project, "run", run.id, metric_name=a["name"])
        if op == "refresh":
            return run.refresh().status.state
        run.metadata.description = a["description"]
        return dh.update_run(run).metadata.description
    if op.startswith("project_"):
        project = dh.get_project(a.pop("project"))
        mark(label)
        method = op[len("project_") :]
        result = getattr(project, method)(**a)
        return getattr(result, "id", None) if not isinstance(result, list) else [r.id for r in result]
    mark(label)
    if op == "get_credentials_and_config":
        return sorted(dh.get_credentials_and_config())
    result = getattr(dh, op)(**a)
    if isinstance(result, list):
        return [r.id for r in result]
    return {"id": getattr(result, "id", None), "state": getattr(getattr(result, "status", None), "state", None)}


def main() -> None:
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    out: dict[str, Any] = {}
    for step in plan:
        try:
            out[step["label"]] = run_op(step["label"], step["op"], dict(step.get("args") or {}))
        except Exception as exc:
            out[step["label"]] = {"error": f"{type(exc).__name__}: {exc}"}
    mark("end")
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
