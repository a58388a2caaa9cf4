"""Wire tests (helpers): the official client and the hook run the same operation through a recording proxy.

Each platform's cases are rows of a table (:class:`Case`): a setup run once per side before
either side is recorded, the client's call, the hook's call (sync and async hook), and the
equivalences that case allows. Ids each side's setup or the server made for it are replaced by
placeholders before comparing, so a run the client started and a run the hook started compare.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from support.recorder import Equivalence, Exchange, compare_requests, distinct

HookCall = Callable[..., Any]


@dataclass(frozen=True)
class Case:
    #: the hook method the case covers (the coverage table's name)
    method: str
    theirs: Callable[[Any, dict[str, Any]], Any]
    ours: Callable[[HookCall, dict[str, Any]], Any]
    setup: Callable[[Any, str], dict[str, Any]] | None = None
    equivalences: tuple[Equivalence, ...] = ()
    #: a wait: compare each different request once (the number of looks is timing)
    wait: bool = False
    #: the expected differences, when the hook differs on purpose (substrings of the problems)
    differs: tuple[str, ...] = ()
    label: str = ""

    @property
    def id(self) -> str:
        return self.label or self.method


@dataclass
class Env:
    """What a case's setup may use: the emulator's state, the official client, the hook caller."""

    state: Any
    client: Any
    call: HookCall
    extra: dict[str, Any] = field(default_factory=dict)


def substitute(exchanges: list[Exchange], names: dict[str, str], patterns: tuple[tuple[str, str], ...] = ()) -> list[Exchange]:
    """Replace each side's own ids (``names``: value -> placeholder) and server-made ids (regexes)."""

    def fix(text: str) -> str:
        for value, placeholder in sorted(names.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(value, placeholder)
        for pattern, placeholder in patterns:
            text = re.sub(pattern, placeholder, text)
        return text

    out = []
    for e in exchanges:
        body = fix(e.body.decode("utf-8", errors="surrogateescape")).encode("utf-8", errors="surrogateescape") if e.body else e.body
        out.append(replace(e, path=fix(e.path), query=tuple((k, fix(v)) for k, v in e.query), body=body))
    return out


def run_case(case: Case, env_theirs: Env, env_ours: Env, proxy: Any, patterns: tuple[tuple[str, str], ...], base: tuple[Equivalence, ...]) -> list[str]:
    """Set up both sides, record the client's then the hook's call, and compare."""
    ctx_t = case.setup(env_theirs, "theirs") if case.setup else {}
    ctx_o = case.setup(env_ours, "ours") if case.setup else {}
    with proxy.capture() as theirs:
        case.theirs(env_theirs.client, ctx_t)
    with proxy.capture() as ours:
        case.ours(env_ours.call, ctx_o)
    names_t = {str(v): "{" + k + "}" for k, v in ctx_t.items() if isinstance(v, str) and len(v) > 3}
    names_o = {str(v): "{" + k + "}" for k, v in ctx_o.items() if isinstance(v, str) and len(v) > 3}
    a, b = substitute(list(theirs), names_t, patterns), substitute(list(ours), names_o, patterns)
    if case.wait:
        a, b = distinct(a), distinct(b)
    assert a, f"{case.id}: the official client sent no request"
    return compare_requests(a, b, (*base, *case.equivalences))


def check(case: Case, problems: list[str]) -> None:
    if case.differs:
        assert problems, f"{case.id}: expected to differ ({case.differs}) but the requests are the same"
        unexplained = [p for p in problems if not any(d in p for d in case.differs)]
        assert not unexplained, f"{case.id}: differences beyond the deliberate ones:\n" + "\n".join(unexplained)
    else:
        assert not problems, f"{case.id}: requests differ:\n" + "\n".join(problems)


def hook_caller(sync_hook: Any, async_hook: Any, kind: str, loop: asyncio.AbstractEventLoop) -> HookCall:
    if kind == "sync":
        return lambda name, *args, **kwargs: getattr(sync_hook, name)(*args, **kwargs)
    return lambda name, *args, **kwargs: loop.run_until_complete(getattr(async_hook, name)(*args, **kwargs))
