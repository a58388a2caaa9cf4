"""Lenient models of DHCore entities and the run state machine (reference/digitalhub.md §3, §5)."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunState(str, enum.Enum):
    CREATED = "CREATED"
    BUILT = "BUILT"
    READY = "READY"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOP = "STOP"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    RESUME = "RESUME"
    DELETING = "DELETING"
    DELETED = "DELETED"
    #: a state this provider does not know: keep waiting
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: Any) -> RunState:
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.UNKNOWN


TERMINAL_STATES = frozenset({RunState.COMPLETED, RunState.ERROR, RunState.STOPPED, RunState.DELETED})


class Entity(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = ""
    name: str | None = None
    kind: str = ""
    project: str = ""
    key: str | None = None
    user: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: dict[str, Any] = Field(default_factory=dict)
    status: dict[str, Any] = Field(default_factory=dict)
    extensions: list[Any] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Run(Entity):
    @property
    def state(self) -> RunState:
        return RunState.parse(self.status.get("state", "UNKNOWN"))

    @property
    def message(self) -> str | None:
        return self.status.get("message")

    @property
    def labels(self) -> list[str]:
        return list(self.metadata.get("labels") or [])

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


class Project(Entity):
    pass
