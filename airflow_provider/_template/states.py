"""Acme's run states and what each means for a wait (the common ``Phase``); any other state keeps waiting."""

from __future__ import annotations

from airflow_provider.common.jobs import Phase

#: the states a run never leaves
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
STATE_PHASE = {
    "QUEUED": Phase.RUNNING,
    "RUNNING": Phase.RUNNING,
    "SUCCEEDED": Phase.SUCCEEDED,
    "FAILED": Phase.FAILED,
    "CANCELLED": Phase.CANCELLED,
}
