"""Lenient models of DHCore entities (reference/digitalhub.md §3)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider.digitalhub.states import FINAL_STATES, RunState


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
        return self.state in FINAL_STATES


class Project(Entity):
    pass
