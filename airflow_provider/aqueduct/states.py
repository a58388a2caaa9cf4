"""Aqueduct's task states (reference/aqueduct.md §3.6, Celery's names) and what each means for a wait."""

from __future__ import annotations

from airflow_provider.common.jobs import Phase

#: the states a task never leaves
FINAL_STATES = ("SUCCESS", "FAILURE", "REVOKED")
STATE_PHASE = {
    "SUCCESS": Phase.SUCCEEDED,
    "FAILURE": Phase.FAILED,
    "REVOKED": Phase.CANCELLED,
    "PENDING": Phase.RUNNING,
    "STARTED": Phase.RUNNING,
    "RECEIVED": Phase.RUNNING,
}
