"""DSS's remote states and what each means for a wait (the common ``Phase``)."""

from __future__ import annotations

from airflow_provider.common.jobs import Phase

#: the outcomes of a finished scenario run (a run in progress has none)
FINAL_STATES = ("SUCCESS", "WARNING", "FAILED", "ABORTED")
#: WARNING is missing on purpose: it is success or failure as the operator's ``warning_is_success`` says
STATE_PHASE = {"SUCCESS": Phase.SUCCEEDED, "FAILED": Phase.FAILED, "ABORTED": Phase.CANCELLED}
