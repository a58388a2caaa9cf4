"""OpenLineage from the run operators, offline: a real DAG run with the file transport, events checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow.providers.openlineage")
pytestmark = pytest.mark.usefixtures("airflow_db")

HERE = Path(__file__).parent


def _events(tmp_path: Path, emulators: dict) -> list[dict[str, Any]]:
    scenarios = emulators["dataiku"][0].state.scenarios
    scenarios.add_scenario("OL", "GOOD")
    scenarios.add_scenario("OL", "BAD", outcome="FAILED", error="Job failed: column amount is missing")
    log = tmp_path / "ol.jsonl"
    env = {**os.environ, "AIRFLOW__OPENLINEAGE__NAMESPACE": "events-test",
           "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(log), "append": True})}  # fmt: skip
    dag_id = f"ol_run_{int(time.time())}"
    proc = subprocess.run([sys.executable, str(HERE / "ol_dag_run.py"), dag_id], env=env, capture_output=True, text=True, timeout=240)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if "Error" in line or "Exception" in line]
    assert "STATE failed" in proc.stdout, "\n".join(errors[-20:]) + proc.stderr[-2000:]  # dss_fail fails the run
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_run_operators_emit_remote_run_facets(tmp_path: Path, emulators: dict) -> None:
    events = _events(tmp_path, emulators)
    by = {(e["eventType"], e["job"]["name"].rsplit(".", 1)[-1]): e for e in events}
    ok = by[("COMPLETE", "dss_ok")]
    facets = ok["run"]["facets"]
    run_id = facets["remoteRun"]["runId"]
    assert facets["externalQuery"] == {**facets["externalQuery"], "externalQueryId": run_id, "source": "dataiku://dataiku_default"}
    assert facets["remoteRun"]["platform"] == "dataiku" and facets["remoteRun"]["outcome"] == "SUCCESS"
    assert facets["remoteRun"]["url"].endswith(f"/projects/OL/scenarios/GOOD/runs/list/{run_id}")
    assert facets["remoteRun"]["ids"]["scenario_id"] == "GOOD"
    assert ok["job"]["facets"]["remoteJob"]["namespace"] == "dataiku://dataiku_default" and ok["job"]["facets"]["remoteJob"]["platform"] == "dataiku"
    assert ok["outputs"] == [{**ok["outputs"][0], "namespace": "dataiku://dataiku_default", "name": "OL/scenarios/GOOD"}]
    assert ok["job"]["namespace"] == "events-test"

    fail = by[("FAIL", "dss_fail")]["run"]["facets"]
    assert fail["remoteRun"]["outcome"] == "FAILED" and fail["remoteRun"]["runId"]
    assert "column amount is missing" in fail["remoteRun"]["error"]
    assert "column amount is missing" in fail["errorMessage"]["message"]  # the adapter's, from the exception text

    pf = by[("COMPLETE", "pf_ok")]["run"]["facets"]  # deferred: facets survive the trip through the triggerer
    assert (
        pf["remoteRun"]["platform"] == "paddleflow"
        and pf["remoteRun"]["outcome"] == "succeeded"
        and pf["externalQuery"]["source"] == "paddleflow://paddleflow_default"
    )
    assert by[("START", "dss_ok")]["outputs"][0]["name"] == "OL/scenarios/GOOD"
    text = json.dumps(events)
    from airflow_provider.testing.dataiku import DEMO_API_KEY

    assert DEMO_API_KEY not in text


def test_operators_work_without_openlineage_methods_being_called() -> None:
    from airflow_provider.dataiku.operators import DataikuRunScenarioOperator

    op = DataikuRunScenarioOperator(task_id="t", project_key="P", scenario_id="S")
    lineage = op.get_openlineage_facets_on_complete(None)  # nothing ran yet: the output, no run facets
    assert [d.name for d in lineage.outputs] == ["P/scenarios/S"] and lineage.run_facets == {}
