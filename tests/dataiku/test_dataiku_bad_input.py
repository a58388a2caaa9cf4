"""Bad input fails with a message that names the problem (and leaks no secret)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.common.errors import ConfigError
from airflow_provider.dataiku.hook import DataikuHook
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.testing.airflow_env import run_dag, task_outcomes
from airflow_provider.testing.dataiku import DEMO_API_KEY, connection


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        ({"conn_type": "dataiku", "host": "http://dss:1"}, "no DSS API key; put it in the Password field"),
        ({"conn_type": "dataiku", "host": "", "password": "k"}, "the Host field is empty"),
        ({"conn_type": "http", "host": "http://dss:1", "password": "k"}, "has type 'http'; DataikuHook needs a 'dataiku' connection"),
        ({"conn_type": "dataiku", "host": "http://dss:1", "password": "k", "extra": {"read_timeout": "soon"}}, "extra field 'read_timeout' must be a number"),
    ],
)
def test_bad_connections(monkeypatch: pytest.MonkeyPatch, conn: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DataikuHook(_conn(monkeypatch, "dss_bad", conn)).list_scenarios("DEMO")


@pytest.mark.usefixtures("airflow_db")
def test_bad_inputs_in_a_dag_name_the_problem(dss: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    wrong_key = _conn(monkeypatch, "dss_wrong_key", connection(dss[1].url, api_key="sk-wrong-0000"))
    with DAG("dss_bad_inputs", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        DataikuRunScenarioOperator(task_id="unknown_project", project_key="NOPE", scenario_id="X", poll_interval=0.1)
        DataikuRunScenarioOperator(task_id="unknown_scenario", project_key="DEMO", scenario_id="NOPE", poll_interval=0.1)
        DataikuRunScenarioOperator(task_id="wrong_key", project_key="DEMO", scenario_id="BUILD_ORDERS", dataiku_conn_id=wrong_key)
        DataikuRunScenarioOperator(task_id="malformed_params", project_key="DEMO", scenario_id="BUILD_ORDERS", scenario_params=["not", "a", "dict"])  # type: ignore[arg-type]
        DataikuRunScenarioOperator(task_id="unserialisable_params", project_key="DEMO", scenario_id="BUILD_ORDERS", scenario_params={"when": dt})
    dag_run = run_dag(dag)
    out = capfd.readouterr().out
    assert {k: v["state"] for k, v in task_outcomes(dag_run).items()} == dict.fromkeys(
        ["unknown_project", "unknown_scenario", "wrong_key", "malformed_params", "unserialisable_params"], "failed"
    )
    assert "Failed to read project permissions (the project key does not exist, or this API key may not read it" in out
    assert "Scenario not found: DEMO.NOPE" in out
    assert "Unknown API Key (check the API key in the Password field of the Dataiku connection)" in out
    assert "scenario_params must be a dict of JSON values" in out
    assert "scenario_params must be JSON-serialisable" in out
    assert "sk-wrong-0000" not in out


@pytest.mark.usefixtures("airflow_db")
def test_no_secret_in_any_log_of_a_run(example_dags: dict, dss: Any, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    import base64
    import os

    dag_run = example_dags["dataiku_scenarios"].test()
    assert dag_run.state == "success"
    secrets = [DEMO_API_KEY, base64.b64encode(f"{DEMO_API_KEY}:".encode()).decode()]
    captured = capfd.readouterr()
    texts = {"stdout": captured.out, "stderr": captured.err, "caplog": caplog.text}
    for path in Path(os.environ["AIRFLOW_HOME"], "logs").rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_text(errors="replace")
    assert len(texts["stdout"]) > 1000, "the run logged nothing: this check would prove nothing"
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"secret found in {where}"
    xcoms = json.dumps([v["result"] for v in task_outcomes(dag_run).values()], default=str)
    assert DEMO_API_KEY not in xcoms
