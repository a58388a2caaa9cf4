"""What every part of the DSS emulator shares: state, auth, error envelope, futures."""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse

NOT_AUTHENTICATED = "com.dataiku.dip.exceptions.NotAuthenticatedException"
UNAUTHORIZED = "com.dataiku.dip.exceptions.UnauthorizedException"
NOT_FOUND = "com.dataiku.dip.server.controllers.NotFoundException"
ILLEGAL_ARGUMENT = "java.lang.IllegalArgumentException"
CODED = "com.dataiku.dip.exceptions.CodedException"

DEMO_API_KEY = "dss-demo-key-6f1c2a"  # admin key of the emulator's demo instance
USER_API_KEY = "dss-user-key-93bd0e"  # a non-admin key (login "bob")

T = TypeVar("T")


class DSSError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message

    def body(self) -> dict[str, str]:
        return {"errorType": self.error_type, "message": self.message, "detailedMessage": self.message}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers={"DSS-API-Version": "1"})


def get_or_404(items: Mapping[Any, T], key: Any, message: str) -> T:
    """``items[key]``, or DSS's 404 with ``message`` (``"<What> not found: <id>"``)."""
    found = items.get(key)
    if found is None:
        raise DSSError(404, NOT_FOUND, message)
    return found


def now_ms() -> int:
    return int(time.time() * 1000)


def compact(value: Any) -> Any:
    """DSS never sends null-valued properties."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


@dataclass
class User:
    login: str
    admin: bool = False


@dataclass
class Future:
    """A DSS long-running job. ``done_at`` decides when it has a result; ``on_done`` runs once then."""

    job_id: str
    owner: str
    display_name: str
    started: float
    done_at: float
    payload: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: tuple[str, str] | None = None  # (errorType, message)
    aborted: bool = False
    on_done: Callable[[], Any] | None = None
    on_abort: Callable[[], Any] | None = None
    is_scenario: bool = False
    _finished: bool = False

    def tick(self, now: float) -> None:
        if not self._finished and not self.aborted and now >= self.done_at:
            self._finished = True
            value = self.on_done() if self.on_done is not None else None
            if value is not None:
                self.result = value

    def has_result(self, now: float) -> bool:
        self.tick(now)
        return self._finished or self.aborted

    def abort(self, now: float) -> None:
        if not self.has_result(now):
            self.aborted = True
            if self.on_abort is not None:
                self.on_abort()

    def state(self, now: float, peek: bool) -> dict[str, Any]:
        done = self.has_result(now)
        if self.error and done:
            raise DSSError(500, self.error[0], self.error[1])
        out: dict[str, Any] = {
            "jobId": self.job_id,
            "hasResult": done,
            "aborted": self.aborted,
            "alive": not done,
            "startTime": int(self.started * 1000),
            "runningTime": int((min(now, self.done_at) - self.started) * 1000),
            "owner": self.owner,
            "jobDisplayName": self.display_name,
            "payload": self.payload,
            "progress": {"states": [{"name": self.display_name, "unit": "NONE", "cur": 0, "target": -1, "important": True}]},
        }
        if done and not peek and not self.aborted:
            out["result"] = self.result
        answer: dict[str, Any] = compact(out)
        return answer


class DSSState:
    """The whole emulated instance. Timers are lazy: state advances when it is read."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {DEMO_API_KEY: User("admin", admin=True), USER_API_KEY: User("bob")}
        self.projects: dict[str, dict[str, Any]] = {}  # key: the project's scenarios by id
        self.futures: dict[str, Future] = {}
        self._ids = itertools.count(1)

    def new_id(self, prefix: str = "") -> str:
        return f"{prefix}{uuid.uuid4().hex[:8]}{next(self._ids)}"

    def add_future(self, owner: str, display_name: str, duration: float, **kwargs: Any) -> Future:
        now = time.time()
        fut = Future(self.new_id("job-"), owner, display_name, now, now + duration, **kwargs)
        self.futures[fut.job_id] = fut
        return fut

    def future(self, job_id: str) -> Future:
        return get_or_404(self.futures, job_id, f"Future not found: {job_id}")

    def authenticate(self, request: Request) -> User:
        header = request.headers.get("authorization", "")
        key = ""
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            key = user or password  # DSS accepts the key as username (the client) or as password (docs)
        elif header.lower().startswith("bearer "):
            key = header[7:].strip()
        elif request.headers.get("x-dku-apiticket"):
            key = request.headers["x-dku-apiticket"]
        found = self.users.get(key)
        if found is None:
            raise DSSError(401, NOT_AUTHENTICATED, "Unknown API Key" if key else "No API key provided")
        return found

    def project(self, project_key: str) -> dict[str, Any]:
        found = self.projects.get(project_key)
        if found is None:
            # DSS does not reveal whether a project exists
            raise DSSError(403, UNAUTHORIZED, "Failed to read project permissions")
        return found


async def json_body(request: Request, default: Any = None) -> Any:
    """DSS parses bodies as JSON whatever the Content-Type (the official client sends none)."""
    raw = await request.body()
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise DSSError(400, ILLEGAL_ARGUMENT, f"Malformed JSON body: {exc}") from None


def boolean(value: str) -> bool:
    return value.strip().lower() == "true"
