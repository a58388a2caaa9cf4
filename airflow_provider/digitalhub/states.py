"""DHCore's run state machine (reference/digitalhub.md §5) and what each state means for a wait."""

from __future__ import annotations

import enum
from typing import Any

from airflow_provider.common.jobs import Phase


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


#: the states a run never leaves
FINAL_STATES = frozenset({RunState.COMPLETED, RunState.ERROR, RunState.STOPPED, RunState.DELETED})

STATE_PHASE = {
    RunState.COMPLETED: Phase.SUCCEEDED,
    RunState.ERROR: Phase.FAILED,
    RunState.STOPPED: Phase.CANCELLED,
    RunState.DELETED: Phase.CANCELLED,
    RunState.UNKNOWN: Phase.UNKNOWN,
}
