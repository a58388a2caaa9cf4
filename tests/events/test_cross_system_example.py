"""The cross-system example: each DAG succeeds in dag.test, and the chained assets carry the runs."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider.testing.airflow_env import task_outcomes

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_cross_system_dags_succeed_and_schedule_on_each_others_assets(example_dags: dict, emulators: dict) -> None:
    scenarios = emulators["dataiku"][0].state.scenarios
    scenarios.add_scenario("CROSS", "SCORE_MODEL")
    scenarios.add_scenario("CROSS", "NIGHTLY_EXPORT")
    from airflow_provider.testing.digitalhub import DEMO_PROJECT

    dh_state = emulators["digitalhub"][0].state
    if DEMO_PROJECT not in dh_state.projects:
        dh_state.seed()
    train, score, publish, on_export = (
        example_dags[d] for d in ("cross_system_train", "cross_system_score", "cross_system_publish", "cross_system_on_nightly_export")
    )
    assert [a.uri for a in score.timetable.asset_condition.objects] == [train.tasks[0].outlets[0].uri]
    assert [a.uri for a in publish.timetable.asset_condition.objects] == [score.tasks[0].outlets[0].uri]
    (watched,) = on_export.timetable.asset_condition.objects
    assert [type(w.trigger).__name__ for w in watched.watchers] == ["DataikuScenarioRunFinishedTrigger"]
    results: dict[str, Any] = {}
    for dag in (train, score, publish, on_export):
        run = dag.test()
        results[dag.dag_id] = task_outcomes(run)
        assert run.state == "success", results[dag.dag_id]
    assert results["cross_system_train"]["train"]["result"]["state"] == "succeeded"
    assert results["cross_system_score"]["score"]["result"]["outcome"] == "SUCCESS"
    assert results["cross_system_on_nightly_export"]["handle_export"]["result"] == []  # run by hand: no remote event yet
