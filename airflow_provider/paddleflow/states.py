"""PaddleFlow's run states (reference/paddleflow.md §4, lower case on the wire) and what each means for a wait."""

from __future__ import annotations

from airflow_provider.common.jobs import Phase

#: the states a run never leaves
FINAL_STATES = ("succeeded", "failed", "terminated", "skipped")
#: the states of a run that is still going (or still being stopped)
ACTIVE_STATES = ("initiating", "pending", "running", "terminating")
STATE_PHASE = {
    "succeeded": Phase.SUCCEEDED,
    "failed": Phase.FAILED,
    "terminated": Phase.CANCELLED,
    "skipped": Phase.CANCELLED,
    **dict.fromkeys(ACTIVE_STATES, Phase.RUNNING),
}
