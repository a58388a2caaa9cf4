"""DSS futures: long-running jobs (template builds, code studio start/stop, scenario runs)."""

from __future__ import annotations

from typing import Any

from airflow_provider.common.errors import ProviderError
from airflow_provider.common.flow import Call, Flow, Now, Sleep
from airflow_provider.common.transport import quote_segment as q
from airflow_provider.dataiku.api.models import FutureState


class FutureAborted(ProviderError):
    """The future was aborted before it produced a result."""


def get_future(job_id: str, peek: bool = False) -> Flow[FutureState]:
    data = yield Call("GET", f"/futures/{q(job_id)}", params={"peek": peek}, final_statuses=frozenset({500}))
    return FutureState.model_validate(data or {})


def abort_future(job_id: str) -> Flow[None]:
    yield Call("DELETE", f"/futures/{q(job_id)}", expect="none")


def list_futures(all_users: bool = False) -> Flow[list[FutureState]]:
    data = yield Call("GET", "/futures/", params={"withScenarios": False, "withNotScenarios": True, "allUsers": all_users})
    return [FutureState.model_validate(item) for item in data or []]


def list_running_scenarios(all_users: bool = False) -> Flow[list[FutureState]]:
    data = yield Call("GET", "/futures/", params={"withScenarios": True, "withNotScenarios": False, "allUsers": all_users})
    return [FutureState.model_validate(item) for item in data or []]


def wait_for_future(started: dict[str, Any] | FutureState, poll_interval: float = 1.0, timeout: float | None = None) -> Flow[Any]:
    """Wait for a future given the answer that started it, and return its result.

    DSS answers ``{"hasResult": true}`` (no ``jobId``) when nothing had to be done; the official
    client then polls ``/futures/None``. A failed future answers with an HTTP error, raised as-is.
    """
    state = started if isinstance(started, FutureState) else FutureState.model_validate(started or {})
    begun = yield Now()
    while not state.has_result:
        if not state.job_id:
            raise ProviderError(f"DSS answered a future without a jobId and without a result: {state.get_raw()}")
        now = yield Now()
        if timeout is not None and now - begun > timeout:
            raise ProviderError(f"DSS future {state.job_id} still running after {timeout:.0f}s")
        yield Sleep(poll_interval)
        state = yield from get_future(state.job_id, peek=True)
    if state.aborted:
        raise FutureAborted(f"DSS future {state.job_id} was aborted")
    if state.job_id and state.result is None:
        # peek answers leave the result out: fetch it once
        state = yield from get_future(state.job_id, peek=False)
    return state.result
