"""Aqueduct event triggers: an experiment gained a tag; an extension task finished."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow_provider.aqueduct.api import experiments, tasks
from airflow_provider.aqueduct.states import FINAL_STATES
from airflow_provider.common.errors import ConfigError
from airflow_provider.common.events import Observation, RemoteEventTrigger, checked_choices, parse_time
from airflow_provider.common.flow import Flow, Shared

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target

#: experiments / tasks read per poll
PAGE = 100


def _experiment_url(target: Target, eid: str | None) -> str | None:
    from airflow_provider.aqueduct.jobs import AqueductTaskJob

    return AqueductTaskJob().url(target, {"experiment_eid": eid}) if eid else None


class AqueductExperimentTaggedTrigger(RemoteEventTrigger):
    """Fires once per experiment that gains ``tag`` (again after the tag was removed and re-added).

    :param tag: the tag to watch.
    """

    platform = "aqueduct"
    async_hook_class = "airflow_provider.aqueduct.hook.AqueductAsyncHook"
    filter_fields: ClassVar[tuple[str, ...]] = ("tag",)

    def validate(self) -> None:
        if not self.filters["tag"] or not isinstance(self.filters["tag"], str):
            raise ConfigError("tag is required: the experiment tag whose appearance fires the event")

    def scope(self) -> str:
        return f"tag/{self.filters['tag']}"

    def observe(self) -> Flow[list[Observation]]:
        tag = str(self.filters["tag"])
        tagged = yield Shared(("aq-tagged", tag), self.poll_interval, experiments.find_experiments(limit=PAGE, tags=[tag]))
        return [
            Observation(
                e.uuid, "tagged", parse_time(e.updated_at or e.created_at), {"experiment_uuid": e.uuid, "experiment_eid": e.eid, "title": e.title, "tag": tag}
            )
            for e in tagged
        ]

    def url(self, target: Target, o: Observation) -> str | None:
        return _experiment_url(target, o.ids.get("experiment_eid"))


class AqueductTaskFinishedTrigger(RemoteEventTrigger):
    """Fires once per extension task (task-based servers) that finishes.

    :param extension: only tasks of this extension (the list call is per extension; None: all).
    :param action: only tasks of this action.
    :param states: final states that fire (default SUCCESS, FAILURE, REVOKED).
    """

    platform = "aqueduct"
    async_hook_class = "airflow_provider.aqueduct.hook.AqueductAsyncHook"
    filter_fields: ClassVar[tuple[str, ...]] = ("extension", "action", "states")

    def validate(self) -> None:
        self.filters["states"] = checked_choices("states", self.filters["states"], FINAL_STATES)

    def scope(self) -> str:
        return f"tasks/{self.filters['extension'] or '*'}"

    def observe(self) -> Flow[list[Observation]]:
        extension, action = self.filters["extension"], self.filters["action"]
        listed = yield Shared(("aq-tasks", extension), self.poll_interval, tasks.get_tasks(limit=PAGE, extension_name=extension))
        wanted = set(self.filters["states"] or FINAL_STATES)
        found = []
        for t in listed:
            if t.task_status not in wanted or (action and t.action_name != action):
                continue
            exp = t.experiment or {}
            ids = {"extension": t.extension_name, "action": t.action_name, "result_code": t.result_code,
                   "experiment_uuid": exp.get("uuid"), "experiment_eid": exp.get("eid")}  # fmt: skip
            found.append(Observation(t.uuid, t.task_status, parse_time(t.ended_at), ids))
        return found

    def url(self, target: Target, o: Observation) -> str | None:
        return _experiment_url(target, o.ids.get("experiment_eid"))
