"""A template that renders to nothing fails the task with the field's name and the fix, before any
remote call (runs without a logical date have no ``ds``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.templating import FIX, empty_renderings
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.testing import airflow_env


def test_empty_renderings_names_nested_fields() -> None:
    raw = {"date": "{{ ds }}", "fixed": "", "ok": "{{ run_id }}", "list": ["{{ x }}"]}
    rendered = {"date": "", "fixed": "", "ok": "manual__1", "list": ["None"]}
    assert empty_renderings("params", raw, rendered) == [("params['date']", "{{ ds }}"), ("params['list'][0]", "{{ x }}")]
    assert empty_renderings("scenario_id", "BUILD", "") == []  # a literal is the author's choice, not a template gone empty


def _render(op: DataikuRunScenarioOperator, logical_date: dt.datetime | None) -> None:
    class _Run:
        run_after = dt.datetime(2026, 5, 4, tzinfo=dt.UTC)

    _Run.logical_date = logical_date  # type: ignore[attr-defined]
    context: dict[str, Any] = {"dag_run": _Run(), "run_id": "manual__x"}
    if logical_date is not None:
        context["ds"] = logical_date.strftime("%Y-%m-%d")
    op.render_template_fields(context)  # type: ignore[arg-type]


def test_undefined_ds_is_refused_with_the_fix() -> None:
    with DAG("t_undefined_ds", schedule=None):
        op = DataikuRunScenarioOperator(task_id="build", project_key="P", scenario_id="S", scenario_params={"run_date": "{{ ds }}"})
    with pytest.raises(ConfigError) as err:
        _render(op, None)
    assert "'ds' is undefined" in str(err.value) and "'build'" in str(err.value) and FIX in str(err.value)


def test_identifier_rendering_empty_is_refused_and_fallback_renders() -> None:
    with DAG("t_empty_id", schedule=None):
        empty = DataikuRunScenarioOperator(task_id="build", project_key="P", scenario_id="{{ dag_run.logical_date | ds }}")
        fallback = DataikuRunScenarioOperator(
            task_id="build2", project_key="P", scenario_id="S", scenario_params={"d": "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"}
        )
    with pytest.raises(ConfigError, match=r"scenario_id = '\{\{ dag_run.logical_date \| ds \}\}' rendered to an empty value"):
        _render(empty, None)
    _render(fallback, None)
    assert fallback.scenario_params == {"d": "2026-05-04"}


@pytest.mark.usefixtures("airflow_db")
def test_the_task_fails_before_calling_the_platform(dataiku_emulator: Any) -> None:
    dataiku_emulator.state.scenarios.add_scenario("P", "S")
    with DAG("t_no_call_on_empty_template", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        DataikuRunScenarioOperator(task_id="build", project_key="P", scenario_id="S", scenario_params={"day": "{{ dag_run.logical_date | ds }}"})
    dag_run = airflow_env.run_dag(dag, logical_date=None)
    assert dag_run.logical_date is None
    assert str(dag_run.state) == "failed"
    assert dataiku_emulator.faults.calls("POST") == [] and dataiku_emulator.faults.calls("GET") == []
