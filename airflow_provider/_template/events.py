"""Acme event trigger: a run finished (for asset watchers: DAGs scheduled on remote events)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow_provider._template.api import runs
from airflow_provider._template.states import FINAL_STATES
from airflow_provider.common.events import Observation, RemoteEventTrigger, checked_choices
from airflow_provider.common.flow import Flow, Shared

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target


class AcmeRunFinishedTrigger(RemoteEventTrigger):
    """Fires once per Acme run that finishes.

    :param name: only runs with this name.
    :param states: final states that fire (default all of them).
    """

    platform = "acme"
    async_hook_class = "airflow_provider._template.hook.AcmeAsyncHook"
    filter_fields: ClassVar[tuple[str, ...]] = ("name", "states")

    def validate(self) -> None:
        self.filters["states"] = checked_choices("states", self.filters["states"], FINAL_STATES)

    def scope(self) -> str:
        return "runs"

    def observe(self) -> Flow[list[Observation]]:
        wanted = set(self.filters["states"] or FINAL_STATES)
        # one listing per poll for every watcher of this connection, whatever its filters
        listed = yield Shared(("acme-runs",), self.poll_interval, runs.list_runs())
        name = self.filters["name"]
        return [Observation(r.id, r.state, r.created, {"name": r.name}) for r in listed if r.state in wanted and (not name or r.name == name)]

    def url(self, target: Target, o: Observation) -> str | None:
        return f"{target.base_url}/ui/runs/{o.run_id}"
