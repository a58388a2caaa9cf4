"""PaddleFlow event trigger: a run finished."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.events import Observation, RemoteEventTrigger, checked_choices, parse_time
from airflow_provider.common.flow import Flow, Shared
from airflow_provider.paddleflow.api import runs
from airflow_provider.paddleflow.states import FINAL_STATES

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target

#: runs read per poll (PaddleFlow's largest page)
PAGE = 1000


def finished_runs(username: str | None, max_age: float) -> Flow[list[dict[str, Any]]]:
    """Finished runs (of one user, or all the connection may see), shared by every watcher with that scope."""
    page = yield Shared(("pf-finished-runs", username), max_age, runs.list_run(username=username, status=",".join(FINAL_STATES), max_keys=PAGE))
    return list(page.get("runList") or [])


class PaddleFlowRunFinishedTrigger(RemoteEventTrigger):
    """Fires once per PaddleFlow run that finishes.

    :param username: only runs of this user (the list call is per user; None: every run the connection sees).
    :param pipeline_id: only runs started from this pipeline (the run's ``source``).
    :param run_name: only runs with this name.
    :param states: final states that fire (default succeeded, failed, terminated, skipped).
    """

    platform = "paddleflow"
    async_hook_class = "airflow_provider.paddleflow.hook.PaddleFlowAsyncHook"
    filter_fields: ClassVar[tuple[str, ...]] = ("username", "pipeline_id", "run_name", "states")

    def validate(self) -> None:
        self.filters["states"] = checked_choices("states", self.filters["states"], FINAL_STATES, "PaddleFlow final states: ")

    def scope(self) -> str:
        return f"user/{self.filters['username']}" if self.filters["username"] else "runs"

    def observe(self) -> Flow[list[Observation]]:
        wanted = set(self.filters["states"] or FINAL_STATES)
        pipeline, name = self.filters["pipeline_id"], self.filters["run_name"]
        found = []
        for run in (yield from finished_runs(self.filters["username"], self.poll_interval)):
            status = str(run.get("status", ""))
            if status not in wanted or (name and run.get("name") != name) or (pipeline and run.get("source") != pipeline):
                continue
            ids = {"name": run.get("name"), "username": run.get("username"), "source": run.get("source")}
            found.append(Observation(str(run["runID"]), status, parse_time(run.get("updateTime")), ids))
        return found

    def url(self, target: Target, o: Observation) -> str | None:
        from airflow_provider.paddleflow.jobs import PaddleFlowRunJob

        return PaddleFlowRunJob().url(target, {"run_id": o.run_id})
