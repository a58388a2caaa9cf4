"""Custom OpenLineage facets of remote runs. Imports openlineage-python: import only when emitting."""

from __future__ import annotations

from typing import Any

from attr import define, field
from openlineage.client.generated.base import JobFacet, RunFacet

SCHEMA = "https://github.com/airflow-provider/airflow-provider/blob/main/docs/ARCHITECTURE.md#openlineage"


@define
class RemoteRunFacet(RunFacet):
    """The remote run this task started: platform, its id and ids, outcome, URL, and the error if it failed."""

    platform: str
    runId: str
    outcome: str | None = None
    url: str | None = None
    ids: dict[str, Any] = field(factory=dict)
    error: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA}/RemoteRunFacet"


@define
class RemoteJobFacet(JobFacet):
    """Which platform does the work: ``namespace`` is the platform instance (``dataiku://host``)."""

    platform: str
    namespace: str
    name: str

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA}/RemoteJobFacet"
