"""Lenient models of DSS answers.

DSS drops null-valued properties from its JSON, so every field is optional and unknown fields
are kept. Properties mirror the official client's (``DSSScenarioRun.outcome`` ...) so users
moving from ``dataikuapi`` find the same names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def ms_to_datetime(value: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC) if value else None


class DSSModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def get_raw(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class ScenarioRef(DSSModel):
    project_key: str = Field("", alias="projectKey")
    id: str = ""
    name: str | None = None
    type: str | None = None
    marked_as_test: bool = Field(False, alias="markedAsTest")


class TriggerFire(DSSModel):
    """What ``POST .../run`` answers: a trigger fire, not a run."""

    trigger: dict[str, Any] = Field(default_factory=dict)
    run_id: str = Field("", alias="runId")  # the trigger's run id, not a scenario run id
    cancelled: bool = False
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def trigger_id(self) -> str:
        return str(self.trigger.get("id", ""))

    def is_cancelled(self) -> bool:
        return self.cancelled


class ScenarioRun(DSSModel):
    run_id: str = Field("", alias="runId")
    start: int = 0
    end: int = 0
    scenario: ScenarioRef = Field(default_factory=lambda: ScenarioRef())
    trigger_info: dict[str, Any] = Field(default_factory=dict, alias="trigger")
    result: dict[str, Any] | None = None
    future_id: str | None = Field(None, alias="futureId")

    @property
    def id(self) -> str:
        return self.run_id

    @property
    def running(self) -> bool:
        return self.result is None

    @property
    def outcome(self) -> str | None:
        return None if self.result is None else self.result.get("outcome")

    @property
    def trigger(self) -> dict[str, Any]:
        return dict(self.trigger_info.get("trigger") or {})

    @property
    def trigger_params(self) -> dict[str, Any]:
        return dict(self.trigger_info.get("params") or {})

    def get_info(self) -> dict[str, Any]:
        return self.get_raw()

    @property
    def start_time(self) -> dt.datetime | None:
        return ms_to_datetime(self.start)

    def get_start_time(self) -> dt.datetime | None:
        return self.start_time

    @property
    def end_time(self) -> dt.datetime | None:
        return ms_to_datetime(self.end)

    def get_end_time(self) -> dt.datetime | None:
        return self.end_time

    @property
    def duration(self) -> float:
        """Seconds: to the end, or to now while running."""
        end = self.end or int(dt.datetime.now(tz=dt.UTC).timestamp() * 1000)
        return max(0.0, (end - self.start) / 1000) if self.start else 0.0

    def get_duration(self) -> float:
        return self.duration


class StepRunDetails(DSSModel):
    run_id: str = Field("", alias="runId")
    step: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    additional_report_items: list[dict[str, Any]] = Field(default_factory=list, alias="additionalReportItems")
    start: int = 0
    end: int = 0

    @property
    def outcome(self) -> str | None:
        return None if self.result is None else self.result.get("outcome")

    @property
    def job_ids(self) -> list[str]:
        return [item["jobId"] for item in self.additional_report_items if item.get("type") == "JOB_EXECUTED" and "jobId" in item]

    @property
    def first_error_details(self) -> dict[str, Any] | None:
        if self.result and self.result.get("outcome") == "FAILED" and self.result.get("thrown"):
            return dict(self.result["thrown"])
        for item in self.additional_report_items:
            if item.get("outcome") == "FAILED" and item.get("thrown"):
                return dict(item["thrown"])
        return None


class ScenarioRunDetails(DSSModel):
    scenario_run: ScenarioRun = Field(default_factory=lambda: ScenarioRun(), alias="scenarioRun")
    step_runs: list[StepRunDetails] = Field(default_factory=list, alias="stepRuns")

    @property
    def steps(self) -> list[StepRunDetails]:
        return self.step_runs

    @property
    def last_step(self) -> StepRunDetails | None:
        return self.step_runs[-1] if self.step_runs else None

    @property
    def first_error_details(self) -> dict[str, Any] | None:
        for step in self.step_runs:
            found = step.first_error_details
            if found:
                return found
        return None


class ScenarioStatus(DSSModel):
    project_key: str = Field("", alias="projectKey")
    id: str = ""
    active: bool = False
    running_flag: bool = Field(False, alias="running")
    start: int = 0
    next_run_ms: int | None = Field(None, alias="nextRun")

    @property
    def running(self) -> bool:
        return self.running_flag

    @property
    def next_run(self) -> dt.datetime | None:
        return ms_to_datetime(self.next_run_ms)


class ScenarioListItem(DSSModel):
    project_key: str = Field("", alias="projectKey")
    id: str = ""
    name: str | None = None
    running: bool = False
    start: int = 0
    tags: list[str] = Field(default_factory=list)
    marked_as_test: bool = Field(False, alias="markedAsTest")

    @property
    def start_time(self) -> dt.datetime | None:
        return ms_to_datetime(self.start) if self.running else None


class TestingStatus(DSSModel):
    nb_total_ran_scenarios_raw: int = Field(0, alias="nbTotalRanScenarios")
    nb_scenarios_per_outcome_raw: dict[str, int] = Field(default_factory=dict, alias="nbScenariosPerOutcome")

    @property
    def nb_total_ran_scenarios(self) -> int:
        return self.nb_total_ran_scenarios_raw

    @property
    def nb_scenarios_per_outcome(self) -> dict[str, int]:
        return self.nb_scenarios_per_outcome_raw


class FutureState(DSSModel):
    job_id: str | None = Field(None, alias="jobId")
    has_result: bool = Field(False, alias="hasResult")
    aborted: bool = False
    alive: bool = False
    result: Any = None
    progress: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None


class CodeStudioListItem(DSSModel):
    id: str = ""
    name: str = ""
    owner: str = ""
    templateId: str = ""
    desc: dict[str, Any] = {}
    projectKey: str = ""

    @property
    def template_id(self) -> str:
        return self.templateId

    @property
    def template_label(self) -> str:
        return str(self.desc.get("label") or self.templateId)

    @property
    def template_description(self) -> str:
        return str(self.desc.get("shortDesc") or "")


class CodeStudioSettings(DSSModel):
    id: str = ""
    name: str = ""
    owner: str = ""
    templateId: str = ""
    libName: str = ""

    @property
    def template_id(self) -> str:
        return self.templateId

    @property
    def lib_name(self) -> str:
        return self.libName


class CodeStudioStatus(DSSModel):
    state: str = "STOPPED"
    lastStateChange: int = 0
    syncedZones: list[dict[str, Any]] = []

    @property
    def last_state_change(self) -> Any:
        return ms_to_datetime(self.lastStateChange)

    def get_zones(self, as_type: str = "names") -> list[Any]:
        return [z["id"] for z in self.syncedZones] if as_type == "names" else list(self.syncedZones)


class CodeStudioConflicts:
    """Conflicting files of one zone: changed in the studio *and* on the DSS side since the last sync."""

    def __init__(self, zone: str, raw: dict[str, Any]) -> None:
        self.zone = zone
        self.raw = raw

    def get_raw(self) -> dict[str, Any]:
        return self.raw

    @property
    def is_error(self) -> bool:
        return "error" in self.raw

    @property
    def error(self) -> str | None:
        return self.raw.get("error")

    def _list(self, key: str) -> list[str]:
        return list((self.raw.get(self.zone) or {}).get(key) or [])

    @property
    def authors(self) -> list[str]:
        return self._list("authors")

    @property
    def added(self) -> list[str]:
        return self._list("added")

    @property
    def modified(self) -> list[str]:
        return self._list("modified")

    @property
    def deleted(self) -> list[str]:
        return self._list("deleted")

    @property
    def files(self) -> list[str]:
        return self.added + self.modified + self.deleted

    def summary(self) -> dict[str, Any]:
        return {"zone": self.zone, "error": self.error, "added": self.added, "modified": self.modified, "deleted": self.deleted, "authors": self.authors}


class TemplateListItem(DSSModel):
    id: str = ""
    label: str = ""
    buildFor: list[str] = []
    lastBuilt: int = 0

    @property
    def build_for_configs(self) -> list[str]:
        return list(self.buildFor)

    @property
    def last_built(self) -> Any:
        return ms_to_datetime(self.lastBuilt)


class TemplateSettings:
    """Template settings as DSS returns them; ``save`` sends every field back."""

    def __init__(self, template_id: str, data: dict[str, Any]) -> None:
        self.template_id = template_id
        self.data = data

    def get_raw(self) -> dict[str, Any]:
        return self.data

    def get_built_for_all_container_confs(self) -> bool:
        return bool(self.data.get("allContainerConfs", False))

    def get_built_container_confs(self) -> list[str]:
        return list(self.data.get("containerConfs") or [])

    def set_built_container_confs(self, *configs: str, all: bool = False) -> None:
        self.data["allContainerConfs"] = all
        if not all:
            self.data["containerConfs"] = list(configs)
