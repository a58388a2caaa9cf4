"""Emulated DSS code studios and code studio templates (seed 000)."""

from __future__ import annotations

from fastapi import APIRouter

from airflow_provider.testing.dataiku.core import DSSState


class CodeStudios:
    """The code-studio part of the emulated DSS; knobs are attributes and methods of this object."""

    def __init__(self, state: DSSState) -> None:
        self.state = state

    def seed_demo(self) -> None:
        pass


def router(part: CodeStudios) -> APIRouter:
    return APIRouter()
