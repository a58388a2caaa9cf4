"""Login as a flow: one description of "log in, send, log in again once on a rejected token",
driven by both drivers; the async one logs in once for every concurrent caller."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from typing import Any

import pytest

from airflow_provider.common.errors import ApiError
from airflow_provider.common.flow import Call, Gather, Run, Shared, SharedValues, Sleep, batch_of, run_async, run_sync
from airflow_provider.common.session import SessionAuth, with_session

LOGIN = Call("POST", "/login", json={"user": "u"}, anonymous=True)


class TokenAuth(SessionAuth):
    def login_call(self) -> Call:
        return LOGIN

    def accept(self, answer: Any) -> str:
        self.token = str(answer["token"])
        return self.token


class Server:
    """Mints token-1, token-2, ...; answers 401 to any token in ``revoked``."""

    def __init__(self, auth: TokenAuth) -> None:
        self.auth = auth
        self.minted = itertools.count(1)
        self.logins = 0
        self.revoked: set[str] = set()

    def execute(self, call: Call, token: str | None = None) -> Any:
        if call is LOGIN:
            self.logins += 1
            return {"token": f"token-{next(self.minted)}"}
        token = token or self.auth.token
        assert token is not None, "a call went out without a token"
        if token in self.revoked:
            raise ApiError("token expired", status=401)
        return {"ok": token}


def test_the_sync_driver_logs_in_first_then_again_once_on_a_rejected_token() -> None:
    auth = TokenAuth()
    server = Server(auth)
    masked: list[str] = []

    def send(call: Call) -> Any:
        return run_sync(with_session(call, auth), server.execute, lambda s: None, lambda: 0.0, masked.append)

    assert send(Call("GET", "/runs")) == {"ok": "token-1"}
    assert send(Call("GET", "/runs")) == {"ok": "token-1"}
    assert server.logins == 1
    server.revoked.add("token-1")
    assert send(Call("GET", "/runs")) == {"ok": "token-2"}
    assert server.logins == 2
    assert masked == ["token-1", "token-2"]
    # a token rejected right after the login is final: one more login, no loop
    server.revoked.add("token-3")
    with pytest.raises(ApiError, match="token expired"):
        server.revoked.add("token-2")
        send(Call("GET", "/runs"))
    assert server.logins == 3


def test_a_driver_without_a_masker_refuses_to_hold_a_minted_token() -> None:
    auth = TokenAuth()
    server = Server(auth)
    with pytest.raises(RuntimeError, match="no masker"):
        run_sync(with_session(Call("GET", "/runs"), auth), server.execute, lambda s: None, lambda: 0.0)


class LoopCoalescer:
    def __init__(self) -> None:
        self.store = SharedValues()

    def shared(self, step: Shared, run: Run) -> Awaitable[Any]:
        return self.store.get(step.key, step.max_age, lambda: run(step.flow))

    def gather(self, step: Gather, run: Run) -> Awaitable[Any]:
        return self.store.gather(step.key, step.item, step.window, batch_of(run, step.flow))

    def pace(self, step: Sleep) -> float:
        return step.seconds


async def test_the_async_driver_logs_in_once_for_every_concurrent_caller_and_once_per_rejection() -> None:
    auth = TokenAuth()
    server = Server(auth)
    coalescer = LoopCoalescer()
    masked: list[str] = []

    async def execute(call: Call) -> Any:
        token = auth.token  # the headers are built when the request is sent
        await asyncio.sleep(0.01)  # answers arrive after every caller has asked
        return server.execute(call, token)

    async def mask(secret: str) -> None:
        masked.append(secret)

    def send(call: Call) -> Awaitable[Any]:
        return run_async(with_session(call, auth), execute, asyncio.sleep, lambda: 0.0, coalescer=coalescer, mask=mask)

    answers = await asyncio.gather(*(send(Call("GET", f"/runs/{i}")) for i in range(200)))
    assert {a["ok"] for a in answers} == {"token-1"}
    assert server.logins == 1
    server.revoked.add("token-1")
    answers = await asyncio.gather(*(send(Call("GET", f"/runs/{i}")) for i in range(200)))
    assert {a["ok"] for a in answers} == {"token-2"}
    assert server.logins == 2
    # callers arriving while the renewal is in flight join it instead of starting their own
    server.revoked.add("token-2")
    first = asyncio.ensure_future(send(Call("GET", "/runs/a")))
    await asyncio.sleep(0.015)  # its call was rejected and its login is in flight
    late = await asyncio.gather(*(send(Call("GET", f"/runs/{i}")) for i in range(50)))
    assert (await first)["ok"] == "token-3"
    assert {a["ok"] for a in late} == {"token-3"}
    assert server.logins == 3
    assert masked == ["token-1", "token-2", "token-3"]
