"""DSS futures: long-running jobs (template builds, code studio start/stop, scenario runs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow_provider.common.errors import ProviderError
from airflow_provider.common.flow import Call, Flow, Now, Sleep
from airflow_provider.common.transport import quote_segment as q
from airflow_provider.dataiku.models import FutureState


class FutureAborted(ProviderError):
    """The future was aborted before it produced a result."""


def get_future(job_id: str, peek: bool = False) -> Flow[FutureState]:
    data = yield Call("GET", f"/futures/{q(job_id)}", params={"peek": peek}, final_statuses=frozenset({500}))
    return FutureState.model_validate(data or {})


def abort_future(job_id: str) -> Flow[None]:
    yield Call("DELETE", f"/futures/{q(job_id)}", expect="none")


def _list(all_users: bool) -> Call:
    return Call("GET", "/futures/", params={"withScenarios": False, "withNotScenarios": True, "allUsers": all_users})


def list_futures(all_users: bool = False) -> Flow[list[FutureState]]:
    data = yield _list(all_users)
    return [FutureState.model_validate(item) for item in data or []]


def running_job_ids(all_users: bool = False) -> Flow[frozenset[str]]:
    """The ids of the futures still running, read straight from the listing: every wait of a
    connection shares it, and a model per listed future, 10,000 each window, cost more than the rest."""
    data = yield _list(all_users)
    return frozenset(str(item["jobId"]) for item in data or [] if item.get("jobId") and not item.get("hasResult"))


def list_running_scenarios(all_users: bool = False) -> Flow[list[FutureState]]:
    data = yield Call("GET", "/futures/", params={"withScenarios": True, "withNotScenarios": False, "allUsers": all_users})
    return [FutureState.model_validate(item) for item in data or []]


def backoff_delays(longest: float) -> Iterator[float]:
    """The official client's pauses between looks at a future: 0.2 s, growing by 1.1x, at most
    ``longest`` (its own cap is 15 s): 25 looks in the first 20 s, 5 s apart after a minute."""
    delay = 0.2
    while True:
        yield min(delay, longest)
        delay *= 1.1


def wait_for_future(started: dict[str, Any] | FutureState, poll_interval: float = 15.0, timeout: float | None = None) -> Flow[Any]:
    """Wait for a future given the answer that started it, and return its result.

    As the official client: no request when the start answer already has the result; otherwise a
    first look at once, then looks with the client's back-off (``poll_interval`` is its longest
    pause), every look a ``peek=false`` read, so the look that sees the end carries the result.
    DSS answers ``{"hasResult": true}`` (no ``jobId``) when nothing had to be done; without either
    the client would poll ``/futures/None``, this raises. A failed future answers with an HTTP
    error, raised as-is; an aborted one raises :class:`FutureAborted` (the client returns None).
    """
    state = started if isinstance(started, FutureState) else FutureState.model_validate(started or {})
    if state.has_result:
        return _result(state)
    if not state.job_id:
        raise ProviderError(f"DSS answered a future without a jobId and without a result: {state.get_raw()}")
    begun = yield Now()
    delays = backoff_delays(poll_interval)
    while True:
        state = yield from get_future(state.job_id, peek=False)
        if state.has_result:
            return _result(state)
        if state.get_raw().get("alive") is False:
            # the client would spin forever on this; DSS normally answers a failure with an HTTP error
            raise ProviderError(f"DSS future {state.job_id} ended without a result: {state.get_raw().get('exception') or 'no error given'}")
        now = yield Now()
        if timeout is not None and now - begun > timeout:
            raise ProviderError(f"DSS future {state.job_id} still running after {timeout:.0f}s")
        yield Sleep(next(delays))


def _result(state: FutureState) -> Any:
    if state.aborted:
        raise FutureAborted(f"DSS future {state.job_id} was aborted")
    return state.result
