"""DigitalHub event trigger: a run of a project reached a state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.errors import ConfigError
from airflow_provider.common.events import Observation, RemoteEventTrigger, parse_time
from airflow_provider.common.flow import Flow, Shared
from airflow_provider.digitalhub.api import runs
from airflow_provider.digitalhub.states import RunState

if TYPE_CHECKING:
    from airflow_provider.common.transport import Target

DEFAULT_STATES = ("COMPLETED", "ERROR", "STOPPED")
#: newest runs read per project and poll
PAGE = 100


def recent_runs(project: str, max_age: float) -> Flow[list[dict[str, Any]]]:
    """The project's newest runs (one page), shared by every watcher of the project."""
    page = yield Shared(("dh-recent-runs", project), max_age, runs.list_runs_page(project, page=0, size=PAGE, sort="created,DESC"))
    return list(page.get("content") or [])


def function_name(key: str) -> str:
    """``python://project/name:id`` -> ``name``."""
    return key.rsplit("/", 1)[-1].split(":", 1)[0]


class DigitalHubRunStateTrigger(RemoteEventTrigger):
    """Fires once per DigitalHub run of ``project`` that reaches one of ``states``.

    :param project: the DigitalHub project.
    :param states: run states that fire (default COMPLETED, ERROR, STOPPED).
    :param function: only runs of this function (its name, or its full key ``kind://project/name:id``).
    :param kind: only runs of this kind (``python+run``, ``container+job``...).
    """

    platform = "digitalhub"
    async_hook_class = "airflow_provider.digitalhub.hook.DigitalHubAsyncHook"
    filter_fields: ClassVar[tuple[str, ...]] = ("project", "states", "function", "kind")

    def validate(self) -> None:
        if not self.filters["project"]:
            raise ConfigError("project is required: the DigitalHub project whose runs are watched")
        states = self.filters["states"]
        if states is not None:
            bad = [s for s in states if RunState.parse(s) is RunState.UNKNOWN]
            if bad or isinstance(states, str):
                raise ConfigError(
                    f"states must be a list of DigitalHub run states ({', '.join(s.value for s in RunState if s is not RunState.UNKNOWN)}); got {states!r}"
                )
            self.filters["states"] = sorted(str(s).upper() for s in states)

    def scope(self) -> str:
        return str(self.filters["project"])

    def observe(self) -> Flow[list[Observation]]:
        project = str(self.filters["project"])
        wanted = set(self.filters["states"] or DEFAULT_STATES)
        function, kind = self.filters["function"], self.filters["kind"]
        found = []
        for run in (yield from recent_runs(project, self.poll_interval)):
            state = str((run.get("status") or {}).get("state", "")).upper()
            spec = run.get("spec") or {}
            if (
                state not in wanted
                or (kind and run.get("kind") != kind)
                or (function and function not in (fn := str(spec.get("function", "")), function_name(fn)))
            ):
                continue
            ids = {"project": project, "kind": run.get("kind"), "function": function_name(str(spec.get("function", "")))}
            found.append(Observation(str(run.get("id")), state, parse_time((run.get("metadata") or {}).get("updated")), ids))
        return found

    def url(self, target: Target, o: Observation) -> str | None:
        from airflow_provider.digitalhub.jobs import DigitalHubRunJob

        return DigitalHubRunJob().url(target, {"project": o.ids["project"], "run_id": o.run_id})
