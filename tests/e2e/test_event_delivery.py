"""End to end: remote events reach a consumer DAG exactly once through watcher outages.

Real api-server, scheduler, dag-processor and two triggerers on PostgreSQL, the four emulators in
this process. Four watched assets (DSS scenario run finished, DigitalHub run completed, PaddleFlow
run finished, Aqueduct experiment tagged) are declared in one module; one consumer DAG
(``max_active_runs=1``) handles new events with ``unprocessed_events`` and appends each to a file.

N = 20 remote events: 8 while both triggerers run, 4 right after the watchers' owner is SIGKILLed
(taken over by the other one), 4 while no triggerer runs at all, 4 after a new one started.
Checks: every remote event handled, each exactly once; prints event -> consumer latency.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.testing import remote_events as remote
from airflow_provider.testing import serve_emulator
from airflow_provider.testing.cluster import Deployment, connection_env, wait_until
from airflow_provider.testing.postgres import PostgresServer

POLL = 2.0
ASSETS_MODULE = f'''
"""The one module that declares the watched assets (declaring one again elsewhere without its
watcher would switch the watcher off)."""
from airflow.sdk import Asset, AssetWatcher
from airflow_provider.aqueduct.events import AqueductExperimentTaggedTrigger
from airflow_provider.dataiku.events import DataikuScenarioRunFinishedTrigger
from airflow_provider.digitalhub.events import DigitalHubRunStateTrigger
from airflow_provider.paddleflow.events import PaddleFlowRunFinishedTrigger

P = {POLL}
DSS_DONE = Asset("e2e_dss_done", uri="x-e2e://dss/E2E/S", watchers=[AssetWatcher(name="dss", trigger=DataikuScenarioRunFinishedTrigger(
    conn_id="dataiku_default", project_key="E2E", scenario_id="S", poll_interval=P))])
DH_DONE = Asset("e2e_dh_done", uri="x-e2e://dh/e2e", watchers=[AssetWatcher(name="dh", trigger=DigitalHubRunStateTrigger(
    conn_id="digitalhub_default", project="e2e", states=["COMPLETED"], poll_interval=P))])
PF_DONE = Asset("e2e_pf_done", uri="x-e2e://pf/e2e_train", watchers=[AssetWatcher(name="pf", trigger=PaddleFlowRunFinishedTrigger(
    conn_id="paddleflow_default", run_name="e2e_train", poll_interval=P))])
AQ_TAGGED = Asset("e2e_aq_tagged", uri="x-e2e://aq/e2e-ready", watchers=[AssetWatcher(name="aq", trigger=AqueductExperimentTaggedTrigger(
    conn_id="aqueduct_default", tag="e2e-ready", poll_interval=P))])
ALL = [DSS_DONE, DH_DONE, PF_DONE, AQ_TAGGED]
'''
CONSUMER_DAG = """
from __future__ import annotations
import datetime as dt, json, os, time
from airflow.sdk import DAG, task
from e2e_watched_assets import ALL, AQ_TAGGED, DH_DONE, DSS_DONE, PF_DONE
from airflow_provider.common.event_consumer import unprocessed_events

with DAG("e2e_event_consumer", schedule=(DSS_DONE | DH_DONE | PF_DONE | AQ_TAGGED), start_date=dt.datetime(2026, 1, 1), catchup=False, max_active_runs=1):
    @task(inlets=ALL)
    def consume(inlet_events=None, asset_state_store=None, dag_run=None):
        with open(os.environ["E2E_EVENTS_OUT"], "a") as out:
            for asset in ALL:
                for payload in unprocessed_events(asset, inlet_events, asset_state_store):
                    out.write(json.dumps({"key": payload["dedup_key"], "finished_at": payload["finished_at"], "handled_at": time.time(),
                                          "dag_run": dag_run.run_id}) + "\\n")
                    out.flush()
    consume()
"""


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Deployment, dict[str, Any], Path]]:
    from airflow_provider.testing import aqueduct, dataiku, digitalhub, paddleflow

    out = tmp_path / "handled.jsonl"
    out.touch()
    with (
        serve_emulator("dataiku", None, run_duration=0.3, fire_delay=0.05) as (dss, dss_srv),
        serve_emulator("digitalhub", None, run_duration=0.3, pending_after=0.1) as (dh, dh_srv),
        serve_emulator("paddleflow", None, run_duration=0.3, pending_after=0.1) as (pf, pf_srv),
        serve_emulator("aqueduct", None, generation="tasks") as (aq, aq_srv),
        PostgresServer() as pg,
    ):
        dss.state.scenarios.add_scenario("E2E", "S")
        env = {"E2E_EVENTS_OUT": str(out)}
        for conn_id, module, srv in (("dataiku_default", dataiku, dss_srv), ("digitalhub_default", digitalhub, dh_srv),
                                     ("paddleflow_default", paddleflow, pf_srv), ("aqueduct_default", aqueduct, aq_srv)):  # fmt: skip
            env.update(connection_env(conn_id, module.connection(srv.url)))
        for key, value in env.items():
            monkeypatch.setenv(key, value)  # this process makes the remote events through the same connections
        config = {
            "core": {"parallelism": "4"},
            "triggerer": {"triggerer_health_check_threshold": "8", "job_heartbeat_sec": "1"},
            "scheduler": {"scheduler_health_check_threshold": "30", "task_instance_heartbeat_timeout": "600"},
            "dag_processor": {"min_file_process_interval": "10", "refresh_interval": "5"},
        }
        airflow = Deployment({"e2e_watched_assets.py": ASSETS_MODULE, "e2e_event_consumer.py": CONSUMER_DAG}, env=env, config=config, db_url=pg.url)
        try:
            airflow.migrate()
            for component in ("api-server", "scheduler", "dag-processor"):
                airflow.start(component)
            airflow.start("triggerer", "triggerer-1")
            yield airflow, {"dataiku": dss, "digitalhub": dh, "paddleflow": pf, "aqueduct": aq}, out
        finally:
            airflow.remove()


def _handled(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def _cursors(airflow: Deployment) -> int:
    return int(airflow.sql("select count(*) from asset_state_store where key like %s", ("events:%",))[0][0])


def _owners(airflow: Deployment) -> set[int | None]:
    return set(airflow.triggerer_of_triggers().values())


def test_twenty_remote_events_each_handled_exactly_once_through_outages(setup: tuple[Deployment, dict[str, Any], Path]) -> None:
    airflow, emulators, out = setup
    t0 = time.time()
    task = remote.digitalhub_function(emulators["digitalhub"].state, "e2e", "train")
    made: list[str] = []  # expected dedup keys

    def make(platform: str) -> None:
        if platform == "dataiku":
            run_id = remote.dss_scenario_run("E2E", "S")
            time.sleep(0.5)  # DSS runs a scenario once at a time
            made.append(f"dataiku:E2E/S:{run_id}:SUCCESS")
        elif platform == "digitalhub":
            made.append(f"digitalhub:e2e:{remote.digitalhub_run('e2e', task)}:COMPLETED")
        elif platform == "paddleflow":
            made.append(f"paddleflow:runs:{remote.paddleflow_run('e2e_train')}:succeeded")
        else:
            made.append(f"aqueduct:tag/e2e-ready:{remote.aqueduct_tag('e2e-ready')}:tagged")

    def make_round() -> None:
        for platform in ("dataiku", "digitalhub", "paddleflow", "aqueduct"):
            make(platform)

    def handled_keys() -> list[str]:
        return [h["key"] for h in _handled(out)]

    airflow.wait_api(timeout=180)
    # the watchers exist once the consumer DAG is parsed; they start "now" (first poll writes the cursor)
    wait_until(lambda: _cursors(airflow) >= 4, 240, f"the four watchers' first polls (logs in {airflow.home})", interval=1)
    owners = _owners(airflow)
    assert len(owners) == 1 and None not in owners, owners
    airflow.start("triggerer", "triggerer-2")
    setup_s = time.time() - t0

    make_round()
    make_round()  # 8 events, both triggerers up
    wait_until(lambda: set(made) <= set(handled_keys()), 120, "the first 8 events handled", interval=1)

    airflow.kill("triggerer-1")  # the watchers' owner: SIGKILL, no clean shutdown
    make_round()  # 4 events while the watchers are orphaned, until triggerer-2 takes over
    wait_until(lambda: _owners(airflow) - {None} and owners.isdisjoint(_owners(airflow)), 120, "triggerer-2 took the watchers over", interval=1)
    wait_until(lambda: set(made) <= set(handled_keys()), 120, "the events made during the takeover handled", interval=1)

    airflow.kill("triggerer-2")  # now no triggerer at all
    make_round()  # 4 events while nothing watches
    time.sleep(3 * POLL)
    assert not set(made[-4:]) & set(handled_keys()), "events were handled while no triggerer ran"
    airflow.start("triggerer", "triggerer-3")
    make_round()  # 4 more once a triggerer is back: 20 in all
    wait_until(lambda: set(made) <= set(handled_keys()), 180, f"all 20 events handled (logs in {airflow.home})", interval=1)
    time.sleep(2 * POLL)  # a late duplicate would show up here

    handled = _handled(out)
    keys = [h["key"] for h in handled]
    assert len(made) == 20 and len(set(made)) == 20
    lost = set(made) - set(keys)
    twice = {k for k in keys if keys.count(k) > 1}
    assert not lost and not twice, (lost, twice)
    assert set(keys) == set(made), set(keys) - set(made)  # nothing that did not happen remotely

    events_per_key: dict[str, int] = {}
    first_event_at: dict[str, float] = {}
    for extra, stamp in airflow.sql("select extra, timestamp from asset_event order by id"):
        key = (json.loads(extra) if isinstance(extra, str) else extra).get("payload", {}).get("dedup_key")
        events_per_key[key] = events_per_key.get(key, 0) + 1
        first_event_at.setdefault(key, stamp.timestamp())
    duplicates = sum(n - 1 for k, n in events_per_key.items() if k in made)
    run_started = {r: s.timestamp() for r, s in airflow.sql("select run_id, start_date from dag_run where dag_id = %s", ("e2e_event_consumer",)) if s}

    from airflow_provider.common.events import parse_time

    finished = {h["key"]: parse_time(h["finished_at"]) or h["handled_at"] for h in handled}
    latency = {h["key"]: h["handled_at"] - finished[h["key"]] for h in handled}
    to_event = [first_event_at[k] - finished[k] for k in made]
    to_run = [run_started[h["dag_run"]] - first_event_at[h["key"]] for h in handled if h["dag_run"] in run_started]
    steady = [latency[k] for k in made[:8] + made[16:]]
    outage = [latency[k] for k in made[8:16]]
    report = {"setup_s": round(setup_s, 1), "total_s": round(time.time() - t0, 1), "asset_event_duplicates": duplicates,
              "steady_median_s": round(statistics.median(steady), 2), "steady_max_s": round(max(steady), 2),
              "outage_median_s": round(statistics.median(outage), 2), "outage_max_s": round(max(outage), 2),
              "finish_to_asset_event_median_s": round(statistics.median(to_event[:8] + to_event[16:]), 2), "finish_to_asset_event_max_s": round(max(to_event[:8] + to_event[16:]), 2),
              "asset_event_to_consumer_run_start_median_s": round(statistics.median(to_run), 2), "asset_event_to_consumer_run_start_max_s": round(max(to_run), 2),
              "consumer_runs": len(run_started)}  # fmt: skip
    print("E2E_EVENT_DELIVERY", json.dumps(report))
