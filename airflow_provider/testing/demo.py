"""The main job: every example DAG in real Airflow (SQLite, ``dag.test()``) against the emulators.

``python -m airflow_provider.testing demo [--dags-folder DIR] [--only DAG_ID ...]``
(also ``python -m airflow_provider.testing.demo``). The DAGs folder defaults to the example DAGs
shipped in the package. Exits non-zero when no DAG is found, a DAG file does not import, or a DAG
run does not succeed: a run that checked nothing must not look green.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider.example_dags import DAGS_FOLDER
from airflow_provider.testing import airflow_env, available, emulator_module


def _short(result: object, limit: int = 160) -> str:
    text = json.dumps(result, default=str) if result is not None else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stop(servers: dict[str, Any], message: str) -> int:
    for server in servers.values():
        server.stop()
    print(message, file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider.testing demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dags-folder", default=str(DAGS_FOLDER))
    parser.add_argument("--only", nargs="*", help="DAG ids to run (default: all)")
    parser.add_argument("--verbose", action="store_true", help="show Airflow's own task logs")
    parser.add_argument("--no-events", action="store_true", help="skip the event-driven part (a short-lived scheduler + triggerer)")
    args = parser.parse_args(argv)
    if not args.verbose:
        # task logs of dag.test() go to stdout; keep the outcome table readable
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

    import warnings

    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    home = tempfile.mkdtemp(prefix="airflow-provider-demo-")
    airflow_env.configure(home, args.dags_folder)

    servers = {}
    for platform in available():
        module = emulator_module(platform)
        server = module.create_app(demo=True).serve()
        servers[platform] = server
        airflow_env.set_connection(f"{platform}_default", module.connection(server.url))
        print(f"emulator {platform:<10} {server.url}")

    print(f"Airflow home {home} (SQLite); preparing the database…", flush=True)
    airflow_env.reset_db()
    try:
        dags = airflow_env.load_dags(args.dags_folder)
    except RuntimeError as err:
        return _stop(servers, f"demo: {err}")
    if not dags:
        return _stop(servers, f"demo: no DAGs found in {args.dags_folder}; nothing was run (pass --dags-folder DIR with your DAG files)")
    unknown = sorted(set(args.only or ()) - set(dags))
    if unknown:
        return _stop(servers, f"demo: no DAG with id {', '.join(unknown)} in {args.dags_folder} (found: {', '.join(sorted(dags))})")
    selected = [d for d in sorted(dags) if not args.only or d in args.only]
    failed = []
    deferred_tasks = 0
    for dag_id in selected:
        started = time.time()
        dag_run = dags[dag_id].test()
        outcomes = airflow_env.task_outcomes(dag_run)
        print(f"\nDAG {dag_id}: {dag_run.state} in {time.time() - started:.1f}s")
        for task_id, outcome in outcomes.items():
            result = outcome["result"]
            waited = result.get("waited") if isinstance(result, dict) else None
            deferred_tasks += waited == "deferred"
            mark = " (deferred)" if waited == "deferred" else ""
            print(f"  {task_id:<34} {outcome['state']:<16}{mark} {_short(result)}")
        if str(dag_run.state) != "success":
            failed.append(dag_id)

    events_ok = None
    cross = Path(args.dags_folder) / "cross_system_pipeline.py"
    if not args.no_events and cross.exists() and any(d.startswith("cross_system_") for d in selected):
        from airflow_provider.testing import event_demo

        events_ok = event_demo.run(cross)
        if not events_ok:
            failed.append("event-driven cross_system_pipeline")
    for server in servers.values():
        server.stop()
    print(f"\n{len(selected) - len(failed)} of {len(selected)} DAG runs succeeded; {deferred_tasks} task(s) waited deferred.")
    if events_ok is not None:
        print(f"event-driven part (assets chaining PaddleFlow -> DSS -> DigitalHub, a watcher on DSS): {'succeeded' if events_ok else 'FAILED'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
