"""Sans-I/O call descriptions shared by the sync and async hooks.

Every endpoint is written once as a *flow*: a generator that yields what it needs
(an HTTP :class:`Call`, or a :class:`Sleep`) and receives the parsed answer back.
The sync hook drives a flow with ``requests`` and ``time.sleep``; the async hook drives
the very same flow with ``httpx`` and ``asyncio.sleep``. Multi-step operations
(paging, "run and wait", login then retry) are flows too, so no logic is written twice.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Generator, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, ParamSpec, Protocol, TypeVar, cast, overload

T = TypeVar("T")
P = ParamSpec("P")

Expect = Literal["json", "text", "bytes", "none", "reply"]
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request, described without doing it."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    #: multipart parts: name -> (filename, bytes, content type)
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    headers: Mapping[str, str] | None = None
    expect: Expect = "json"
    #: None means "derive from the method"; a POST that creates remote work is never resent.
    idempotent: bool | None = None
    #: read timeout for calls known to be slow (synchronous actions, downloads)
    read_timeout: float | None = None
    #: skip the connection's auth (login calls)
    anonymous: bool = False
    #: error statuses that are this endpoint's definite answer, never retried (DSS reports a failed future with a 500)
    final_statuses: frozenset[int] = frozenset()

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in IDEMPOTENT_METHODS


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole answer, for flows that need status or headers (``expect="reply"``)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body or b"null")


@dataclass(frozen=True, slots=True)
class Sleep:
    """Ask the driver to wait; the sync driver blocks, the async one awaits.

    ``align`` names a :class:`Shared` or :class:`Gather` key the next step will ask again: the async
    driver then wakes when that key's value is next due (at most ``seconds``), so every wait of the
    key asks together, right after the refresh is due, and sees a change within one window instead
    of up to two.
    """

    seconds: float
    align: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class Now:
    """Ask the driver for ``time.time()`` (kept out of flows so tests can fake the clock)."""


@dataclass(frozen=True, slots=True)
class Mask:
    """Ask the driver to register a secret the flow learnt (a minted session token) with Airflow's
    masker before anything can log it; the sync and async maskers differ, so flows cannot call them."""

    secret: str


@dataclass(frozen=True, eq=False, slots=True)
class Shared:
    """A value many concurrent flows may share, e.g. one list call answering every wait on a project.

    ``key`` names the value (the driver adds the connection), ``max_age`` says how stale it may
    be, ``flow`` computes it. The async driver (the triggerer: thousands of waits in one loop)
    serves all flows from one computation per key and ``max_age``; the sync driver just runs it.
    """

    key: tuple[Any, ...]
    max_age: float
    flow: Flow[Any]


@dataclass(frozen=True, eq=False, slots=True)
class Gather:
    """One item of a lookup many concurrent flows batch together, e.g. one query for every waited task.

    The async driver collects the items asked for under ``key`` and, at most once per ``window``,
    runs ``flow(items)`` once for all of them; each asker receives ``result.get(item)`` (``None``
    when the batch did not see it: the asker falls back to its own request). The sync driver runs
    the flow for the one item.
    """

    key: tuple[Any, ...]
    item: Hashable
    window: float
    flow: Callable[[Sequence[Any]], Flow[Mapping[Any, Any]]]


Step = Call | Sleep | Now | Mask | Shared | Gather
Flow = Generator[Step, Any, T]


def call(c: Call, parse: Callable[[Any], T] | None = None) -> Flow[Any]:
    """The flow of a single request, optionally parsed."""
    data = yield c
    return parse(data) if parse is not None else data


class Driver(Protocol):
    """A sync hook: runs a flow to its result."""

    def drive(self, flow: Flow[T]) -> T: ...


class AsyncDriver(Protocol):
    """An async hook: runs a flow in the event loop."""

    def drive(self, flow: Flow[T]) -> Awaitable[T]: ...


class endpoint(Generic[P, T]):
    """A flow function as a hook method, with its real signature on both faces.

    On a sync hook (``drive`` returns ``T``) the method returns ``T``; on an async hook (``drive``
    returns an awaitable) it returns ``Awaitable[T]``. The type checker picks the face from the
    instance type (``__get__`` overloads), so one description serves both hooks without erasing
    the parameters; the flow's docstring is the method's.
    """

    def __init__(self, flow_fn: Callable[P, Flow[T]]) -> None:
        self.__flow__ = flow_fn
        self.__doc__ = flow_fn.__doc__
        self.__wrapped__ = flow_fn
        self.__name__ = flow_fn.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.__name__ = name

    def __call__(self, hook: Any, *args: Any, **kwargs: Any) -> Any:
        """Called through the class (``DataikuHook.get_scenario_run(hook, ...)``), like a plain method."""
        return hook.drive(self.__flow__(*args, **kwargs))

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> endpoint[P, T]: ...
    @overload
    def __get__(self, obj: AsyncDriver, owner: type | None = None) -> Callable[P, Awaitable[T]]: ...
    @overload
    def __get__(self, obj: Driver, owner: type | None = None) -> Callable[P, T]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        flow_fn = self.__flow__

        @functools.wraps(flow_fn)
        def method(*args: Any, **kwargs: Any) -> Any:
            return obj.drive(flow_fn(*args, **kwargs))

        return method


@dataclass(slots=True)
class FlowRunner:
    """Drive a flow step by step; shared by both drivers so the protocol is defined once."""

    flow: Flow[Any]

    def first(self) -> tuple[bool, Any]:
        return self._advance(lambda: next(self.flow))

    def send(self, value: Any) -> tuple[bool, Any]:
        return self._advance(lambda: self.flow.send(value))

    def throw(self, exc: BaseException) -> tuple[bool, Any]:
        return self._advance(lambda: self.flow.throw(exc))

    @staticmethod
    def _advance(step: Callable[[], Any]) -> tuple[bool, Any]:
        """Return (done, value): the next step, or the flow's result when it finished."""
        try:
            return False, step()
        except StopIteration as stop:
            return True, stop.value


def run_sync(
    flow: Flow[T],
    execute: Callable[[Call], Any],
    sleep: Callable[[float], None],
    now: Callable[[], float],
    mask: Callable[[str], None] | None = None,
) -> T:
    runner = FlowRunner(flow)
    done, value = runner.first()
    while not done:
        try:
            if isinstance(value, Sleep):
                sleep(value.seconds)
                result: Any = None
            elif isinstance(value, Now):
                result = now()
            elif isinstance(value, Mask):
                result = _masked(mask, value)
            elif isinstance(value, Shared):
                result = run_sync(value.flow, execute, sleep, now, mask)
            elif isinstance(value, Gather):
                result = run_sync(value.flow((value.item,)), execute, sleep, now, mask).get(value.item)
            else:
                result = execute(value)
        except Exception as exc:  # noqa: BLE001 - handed to the flow, which may catch it
            done, value = runner.throw(exc)
            continue
        done, value = runner.send(result)
    # the flow's own return annotation is the promise: a generator's result is not checked at run time
    return cast(T, value)


def _masked(mask: Callable[[str], T] | None, step: Mask) -> T:
    # a driver without a masker must not let a minted secret pass unregistered
    if mask is None:
        raise RuntimeError("this flow yields a secret to mask (Mask step), but its driver was given no masker")
    return mask(step.secret)


#: how an async driver runs a nested flow (a shared value's, a batch's) with its own I/O
Run = Callable[["Flow[Any]"], Awaitable[Any]]


class Coalescer(Protocol):
    """What the async driver needs to serve :class:`Shared`, :class:`Gather` and aligned :class:`Sleep` steps."""

    def shared(self, step: Shared, run: Run) -> Awaitable[Any]: ...

    def gather(self, step: Gather, run: Run) -> Awaitable[Any]: ...

    def pace(self, step: Sleep) -> float: ...


async def run_async(
    flow: Flow[T],
    execute: Callable[[Call], Any],
    sleep: Callable[[float], Any],
    now: Callable[[], float],
    coalescer: Coalescer | None = None,
    mask: Callable[[str], Awaitable[None]] | None = None,
) -> T:
    """``coalescer`` serves :class:`Shared`, :class:`Gather` and aligned :class:`Sleep` steps (see
    ``SharedValues``); without one, shared and gathered steps just run for this flow alone.

    A triggerer holds thousands of these frames asleep at once, so nothing a step used is kept in a
    local while the next one waits (at 10,000 waits, each kept closure or answer is megabytes):
    even the runner of nested flows is made for the step that needs it.
    """
    runner = FlowRunner(flow)
    done, value = runner.first()
    while not done:
        result: Any = None
        try:
            if isinstance(value, Sleep):
                seconds = coalescer.pace(value) if coalescer is not None and value.align is not None else value.seconds
                value = None  # the step and its key are not kept while asleep either (about 110 B per wait)
                await sleep(seconds)
            elif isinstance(value, Now):
                result = now()
            elif isinstance(value, Mask):
                result = await _masked(mask, value)
            elif isinstance(value, Shared | Gather):
                result = await _nested_step(value, _nested(execute, sleep, now, coalescer, mask), coalescer)
            else:
                result = await execute(value)
        except Exception as exc:  # noqa: BLE001 - handed to the flow, which may catch it
            done, value = runner.throw(exc)
            continue
        done, value = runner.send(result)
    # the flow's own return annotation is the promise: a generator's result is not checked at run time
    return cast(T, value)


def _nested(
    execute: Callable[[Call], Any],
    sleep: Callable[[float], Any],
    now: Callable[[], float],
    coalescer: Coalescer | None,
    mask: Callable[[str], Awaitable[None]] | None,
) -> Run:
    return functools.partial(run_async, execute=execute, sleep=sleep, now=now, coalescer=coalescer, mask=mask)


async def _nested_step(step: Shared | Gather, run: Run, coalescer: Coalescer | None) -> Any:
    if isinstance(step, Shared):
        return await (coalescer.shared(step, run) if coalescer is not None else run(step.flow))
    if coalescer is not None:
        return await coalescer.gather(step, run)
    return (await run(step.flow((step.item,)))).get(step.item)


def batch_of(run: Run, make: Callable[[Sequence[Any]], Flow[Mapping[Any, Any]]]) -> Callable[[Sequence[Any]], Awaitable[Mapping[Any, Any]]]:
    """A :class:`Gather` step's computation: ``make(items)`` run by ``run``."""
    return functools.partial(_run_batch, run, make)


def _run_batch(run: Run, make: Callable[[Sequence[Any]], Flow[Mapping[Any, Any]]], items: Sequence[Any]) -> Awaitable[Mapping[Any, Any]]:
    return run(make(items))


#: how long a batch waits for more askers after the first one (waits woken together ask within this)
GATHER_DELAY = 0.02
#: aligned sleeps end this much after the key is due, so the value is stale when they ask
ALIGN_SLACK = 0.01


def failed(fut: asyncio.Future[Any]) -> bool:
    """Whether a finished shared computation failed or was cancelled; reading it marks the error
    retrieved (its askers got it: nobody else needs to)."""
    return fut.cancelled() or fut.exception() is not None


@dataclass
class _Batch:
    pending: dict[Any, asyncio.Future[Any]] = field(default_factory=dict)
    handle: asyncio.TimerHandle | None = None
    last: float = float("-inf")
    window: float = 0.0


class SharedValues:
    """The async driver's store for :class:`Shared` steps, one per event loop.

    Concurrent askers of a key wait on one computation; a finished value is reused while younger
    than the asker's ``max_age``; a failure is handed to everyone waiting on it, then forgotten.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[float, float, asyncio.Future[Any]]] = {}
        self._batches: dict[tuple[Any, ...], _Batch] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def get(self, key: tuple[Any, ...], max_age: float, compute: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is not None:
            born, _, fut = entry
            if not fut.done() or loop.time() - born < max_age:
                # the asker's own flow is never started: an unstarted generator costs nothing
                return await asyncio.shield(fut)
        # a task of its own: the first asker being cancelled (its trigger stopped) must not cancel
        # the value every other asker waits on
        fut = asyncio.ensure_future(compute())
        self._entries[key] = (loop.time(), max_age, fut)
        fut.add_done_callback(functools.partial(self._settled, key))
        return await asyncio.shield(fut)

    def _settled(self, key: tuple[Any, ...], fut: asyncio.Future[Any]) -> None:
        entry = self._entries.get(key)
        if failed(fut) and entry is not None and entry[2] is fut:
            del self._entries[key]

    async def gather(self, key: tuple[Any, ...], item: Any, window: float, compute: Callable[[Sequence[Any]], Awaitable[Mapping[Any, Any]]]) -> Any:
        """``item``'s value from the next batch of ``key``: one ``compute(items)`` per ``window`` at most."""
        loop = asyncio.get_running_loop()
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch()
        batch.window = window
        fut = batch.pending.get(item)
        if fut is None:
            fut = batch.pending[item] = loop.create_future()
        if batch.handle is None:
            due = max(loop.time() + GATHER_DELAY, batch.last + window)
            batch.handle = loop.call_at(due, self._flush, key, compute)
        return await asyncio.shield(fut)

    def _flush(self, key: tuple[Any, ...], compute: Callable[[Sequence[Any]], Awaitable[Mapping[Any, Any]]]) -> None:
        batch = self._batches[key]
        waiting, batch.pending, batch.handle = batch.pending, {}, None
        batch.last = asyncio.get_running_loop().time()
        task = asyncio.ensure_future(self._answer(tuple(waiting), waiting, compute))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _answer(
        items: tuple[Any, ...], waiting: dict[Any, asyncio.Future[Any]], compute: Callable[[Sequence[Any]], Awaitable[Mapping[Any, Any]]]
    ) -> None:
        try:
            result = await compute(items)
        except BaseException as exc:  # every asker gets the failure
            for fut in waiting.values():
                if not fut.done():
                    fut.set_exception(exc)
                    fut.exception()
            if not isinstance(exc, Exception):
                raise
            return
        for item, fut in waiting.items():
            if not fut.done():
                fut.set_result(result.get(item))

    def next_due(self, key: tuple[Any, ...]) -> float | None:
        """Loop time at which ``key``'s value is next refreshed, if it is known."""
        entry = self._entries.get(key)
        if entry is not None and entry[2].done():
            return entry[0] + entry[1]
        batch = self._batches.get(key)
        if batch is not None and batch.last > float("-inf"):
            return batch.last + batch.window
        return None

    def pace(self, key: tuple[Any, ...], seconds: float) -> float:
        """How long an aligned sleep of at most ``seconds`` lasts."""
        due = self.next_due(key)
        if due is None:
            return seconds
        return min(seconds, max(0.0, due - asyncio.get_running_loop().time()) + ALIGN_SLACK)

    def __len__(self) -> int:
        return len(self._entries) + len(self._batches)
