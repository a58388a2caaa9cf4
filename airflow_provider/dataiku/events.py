"""DSS event trigger: a scenario run finished (one scenario, or every scenario of a project)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.events import Observation, RemoteEventTrigger, checked_choices
from airflow_provider.common.flow import Flow, Shared
from airflow_provider.dataiku.api import scenarios
from airflow_provider.dataiku.states import FINAL_STATES

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target

#: runs read per scenario and poll: what finished since the last poll must be among them
LAST_RUNS = 20


def last_runs(project_key: str, scenario_id: str, max_age: float) -> Flow[list[dict[str, Any]]]:
    """One scenario's last runs, shared by every watcher and wait of the triggerer on that scenario."""
    runs = yield Shared(("dss-last-runs", project_key, scenario_id), max_age, scenarios.get_last_runs(project_key, scenario_id, limit=LAST_RUNS))
    return [
        {"run_id": r.run_id, "scenario_id": r.scenario.id or scenario_id, "outcome": r.outcome, "end": r.end / 1000.0 if r.end else None}
        for r in runs
        if not r.running
    ]


class DataikuScenarioRunFinishedTrigger(RemoteEventTrigger):
    """Fires once per DSS scenario run that finishes, whoever started it (a DSS trigger, a person, Airflow).

    :param project_key: the DSS project.
    :param scenario_id: one scenario; None watches every scenario of the project (one list of the
        project's scenarios per interval, plus one last-runs call per scenario, all shared).
    :param outcomes: which outcomes fire (default all: SUCCESS, WARNING, FAILED, ABORTED).
    """

    platform = "dataiku"
    async_hook_class = "airflow_provider.dataiku.hook.DataikuAsyncHook"
    filter_fields: ClassVar[tuple[str, ...]] = ("project_key", "scenario_id", "outcomes")

    def validate(self) -> None:
        if not self.filters["project_key"]:
            raise ConfigError("project_key is required: the DSS project whose scenario runs are watched")
        self.filters["outcomes"] = checked_choices("outcomes", self.filters["outcomes"], FINAL_STATES)

    def scope(self) -> str:
        return f"{self.filters['project_key']}/{self.filters['scenario_id'] or '*'}"

    def observe(self) -> Flow[list[Observation]]:
        project = str(self.filters["project_key"])
        if self.filters["scenario_id"]:
            ids = [self.filters["scenario_id"]]
        else:
            # the same shared listing as the scenario-run waits of this project (one key, one shape)
            listing = yield Shared(("dss-scenarios", project), self.poll_interval, scenarios.run_starts(project))
            ids = sorted(listing)
        wanted = set(self.filters["outcomes"] or FINAL_STATES)
        found = []
        for scenario_id in ids:
            for run in (yield from last_runs(project, scenario_id, self.poll_interval)):
                if run["outcome"] in wanted:
                    ids_ = {"project_key": project, "scenario_id": run["scenario_id"]}
                    found.append(Observation(run["run_id"], run["outcome"], run["end"], ids_, run["outcome"]))
        return found

    def url(self, target: Target, o: Observation) -> str | None:
        from airflow_provider.dataiku.jobs import ScenarioRunJob

        return ScenarioRunJob().url(target, {"project_key": o.ids["project_key"], "scenario_id": o.ids["scenario_id"], "run_id": o.run_id})
