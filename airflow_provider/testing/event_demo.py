"""The event-driven part of the main job: ``example_dags/cross_system_pipeline.py`` in a short-lived
Airflow (api-server, scheduler, dag-processor, triggerer; SQLite) against the running emulators.

It triggers the PaddleFlow training DAG (its outlet asset schedules the DSS scenario DAG, whose
asset schedules the DigitalHub DAG), runs the DSS scenario ``CROSS.NIGHTLY_EXPORT`` "by hand" (as
somebody outside Airflow would), and prints every asset event and DAG run that followed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from airflow_provider.testing.cluster import Deployment, wait_until

DAG_IDS = ("cross_system_train", "cross_system_score", "cross_system_publish", "cross_system_on_nightly_export")
CHAINED = {"cross_system_train": "manual", "cross_system_score": "asset_triggered", "cross_system_publish": "asset_triggered",
           "cross_system_on_nightly_export": "asset_triggered"}  # fmt: skip


def _runs(airflow: Deployment) -> dict[str, tuple[str, str]]:
    rows = airflow.sql("select dag_id, run_type, state from dag_run")
    return {str(d): (str(t), str(s)) for d, t, s in rows}


def run(dag_file: Path, timeout: float = 420) -> bool:
    """Returns True when all four DAGs ran as the assets said, each once, and succeeded."""
    from airflow_provider.testing import remote_events

    env = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW_CONN_")}
    # a busy machine must not have a slow task declared dead (it would fail the chain)
    config = {"dag_processor": {"min_file_process_interval": "10"}, "triggerer": {"job_heartbeat_sec": "1"}, "logging": {"logging_level": "WARNING"},
              "scheduler": {"task_instance_heartbeat_timeout": "600"}}  # fmt: skip
    airflow = Deployment({dag_file.name: dag_file.read_text()}, env=env, config=config)
    started = time.time()
    print(f"\nevent-driven part: a short-lived Airflow in {airflow.home} (api-server, scheduler, dag-processor, triggerer)…", flush=True)
    try:
        airflow.migrate()
        for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
            airflow.start(component)
        airflow.wait_for_dags(list(DAG_IDS), timeout=timeout)
        wait_until(lambda: airflow.sql("select count(*) from asset_state_store where key like %s", ("events:%",))[0][0], timeout, "the watcher's first poll", 1)
        print(f"  ready after {time.time() - started:.0f}s; the watcher on DSS CROSS.NIGHTLY_EXPORT is polling")
        airflow.trigger("cross_system_train")
        run_id = remote_events.dss_scenario_run("CROSS", "NIGHTLY_EXPORT")
        print(f"  ran DSS scenario CROSS.NIGHTLY_EXPORT outside Airflow: run {run_id}")

        def settled() -> bool:
            runs = _runs(airflow)
            return all(runs.get(d, ("", ""))[1] in ("success", "failed") for d in DAG_IDS)

        wait_until(settled, timeout, f"the four DAGs ran (logs in {airflow.home})", 1)
        for uri, source, extra in airflow.sql("select a.uri, e.source_dag_id, e.extra from asset_event e join asset a on a.id = e.asset_id order by e.id"):
            data = json.loads(extra) if isinstance(extra, str) else extra
            what = data.get("payload") or data
            print(f"  asset event {uri}  from {source or 'a watcher (outside Airflow)'}: run {what.get('run_id')} {what.get('outcome')} {what.get('url')}")
        runs = _runs(airflow)
        ok = True
        for dag_id in DAG_IDS:
            run_type, state = runs[dag_id]
            ok = ok and state == "success" and run_type == CHAINED[dag_id]
            print(f"  DAG {dag_id:<32} {run_type:<16} {state}")
        count = airflow.sql("select count(*) from dag_run")[0][0]
        ok = ok and count == len(DAG_IDS)
        print(f"  {count} DAG runs in {time.time() - started:.0f}s: {'as expected' if ok else 'NOT as expected'}")
        return ok
    except (AssertionError, RuntimeError) as err:
        print(f"  event-driven part failed: {err}")
        for name in ("scheduler", "triggerer", "dag-processor"):
            print(f"--- {name} log tail ---\n{airflow.log_tail(name, 30)}")
        return False
    finally:
        airflow.remove()
