"""Lenient models of Acme's answers: unknown fields kept, missing ones defaulted."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Run(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str = ""
    tag: str = ""
    state: str = "UNKNOWN"
    message: str | None = None
    #: epoch seconds the server created the run at
    created: float = 0.0
    parameters: dict[str, Any] = Field(default_factory=dict)
