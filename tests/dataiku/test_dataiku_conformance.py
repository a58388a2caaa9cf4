"""The official ``dataiku-api-client`` against the emulator: proof that the emulator speaks DSS's protocol."""

from __future__ import annotations

import time
from typing import Any

import dataikuapi  # the dev extra; a missing client must fail, not skip
import pytest

from airflow_provider.testing.dataiku import DEMO_API_KEY


@pytest.fixture
def client(dss: Any) -> Any:
    return dataikuapi.DSSClient(dss[1].url, api_key=DEMO_API_KEY)


def test_run_and_wait_runs_and_details(client: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=0.3)
    scenario = client.get_project("TEST").get_scenario(sc.id)
    run = scenario.run_and_wait({"from": "dataikuapi"})
    assert run.outcome == "SUCCESS" and not run.running
    last = scenario.get_last_runs(limit=5)
    assert [r.id for r in last] == [run.id]
    details = scenario.get_run(run.id).get_details()
    assert [s.outcome for s in details.steps] == ["SUCCESS", "SUCCESS"]
    assert details.first_error_details is None and details.steps[0].job_ids
    assert scenario.get_last_finished_run().id == run.id
    assert "Build A" in scenario.get_run(run.id).get_log()


def test_failed_run_is_reported_by_the_official_client(client: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=0.2, outcome="FAILED", error="boom from emulator")
    scenario = client.get_project("TEST").get_scenario(sc.id)
    with pytest.raises(Exception, match="FAILED"):
        scenario.run_and_wait()
    run = scenario.get_last_finished_run()
    assert run.get_details().first_error_details["message"] == "boom from emulator"
    assert "boom from emulator" in run.get_log()


def test_abort_and_scenario_futures(client: Any, new_scenario: Any) -> None:
    sc = new_scenario(duration=30)
    scenario = client.get_project("TEST").get_scenario(sc.id)
    run = scenario.run().wait_for_scenario_run()
    assert scenario.get_current_run().id == run.id
    running = client.list_running_scenarios(all_users=True)
    job_id = next(f["jobId"] for f in running if f["payload"]["scenarioId"] == sc.id)
    assert client.get_future(job_id).peek_state()["alive"] is True
    scenario.abort()
    run.refresh()
    assert run.outcome == "ABORTED" and scenario.get_current_run() is None


def test_future_wait_for_result_and_abort(client: Any, dss_state: Any) -> None:
    job = dss_state.core.add_future("admin", "Rebuild", 0.3, on_done=lambda: {"rebuilt": 3})
    assert client.get_future(job.job_id).wait_for_result() == {"rebuilt": 3}
    slow = dss_state.core.add_future("admin", "Slow", 30)
    client.get_future(slow.job_id).abort()
    assert client.get_future(slow.job_id).get_state()["aborted"] is True


def test_settings_status_and_errors(client: Any, new_scenario: Any) -> None:
    sc = new_scenario()
    scenario = client.get_project("TEST").get_scenario(sc.id)
    settings = scenario.get_settings()
    settings.add_periodic_trigger(10)
    settings.save()
    assert scenario.get_settings().raw_triggers[0]["params"]["repeatFrequency"] == 10
    assert scenario.get_status().running is False
    with pytest.raises(dataikuapi.utils.DataikuException, match="NotFoundException: Scenario not found"):
        client.get_project("TEST").get_scenario("NOPE").get_status()
    bad = dataikuapi.DSSClient(client.host, api_key="not-a-key")
    with pytest.raises(dataikuapi.utils.DataikuException, match="Unknown API Key"):
        bad.get_project("TEST").list_scenarios()
    started = time.time()
    assert client.get_project("TEST").get_testing_status().nb_total_ran_scenarios >= 0
    assert time.time() - started < 5
