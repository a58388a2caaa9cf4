"""Scenario settings: the raw dict DSS returns, with the official client's helpers to edit it.

Kept as a plain dict wrapper rather than a model because ``save()`` must send back every field,
including ones this provider does not know.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

MONTHLY_RUN_ON = ("ON_THE_DAY", "LAST_DAY_OF_THE_MONTH", "FIRST_WEEK", "SECOND_WEEK", "THIRD_WEEK", "FOURTH_WEEK", "LAST_WEEK")


def _starting_from(year: Any, month: Any, day: Any, default_is_today: bool = True) -> str:
    """Midnight local time of the trigger's first day, with the machine's real UTC offset for that
    day (``+0100``, ``+0200`` in summer), as the official client writes it. Out-of-range or
    non-integer parts fall back as the client's do: today, or for monthly triggers the 1st of January."""
    today = dt.date.today()
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
        day = today.day if default_is_today else 1
    if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
        month = today.month if default_is_today else 1
    if not isinstance(year, int) or isinstance(year, bool):
        year = today.year
    # astimezone() on a naive time: the local zone's offset on that date, DST included
    start = dt.datetime(year, month, day).astimezone()
    return start.strftime("%Y-%m-%dT%H:%M:%S.000%z")


class ScenarioSettings:
    def __init__(self, project_key: str, scenario_id: str, data: dict[str, Any], script: str | None = None) -> None:
        self.project_key = project_key
        self.scenario_id = scenario_id
        self.data = data
        self._script = script

    def get_raw(self) -> dict[str, Any]:
        return self.data

    @property
    def type(self) -> str:
        return str(self.data.get("type", "step_based"))

    @property
    def is_python(self) -> bool:
        return self.type != "step_based"

    @property
    def active(self) -> bool:
        return bool(self.data.get("active"))

    @active.setter
    def active(self, value: bool) -> None:
        self.data["active"] = value

    @property
    def run_as(self) -> str | None:
        return self.data.get("runAsUser")

    @run_as.setter
    def run_as(self, value: str | None) -> None:
        self.data["runAsUser"] = value

    @property
    def effective_run_as(self) -> str | None:
        if self.run_as:
            return self.run_as
        for tag in ("versionTag", "creationTag"):
            login = (self.data.get(tag) or {}).get("lastModifiedBy", {}).get("login")
            if login:
                return str(login)
        return None

    @property
    def raw_triggers(self) -> list[dict[str, Any]]:
        triggers: list[dict[str, Any]] = self.data.setdefault("triggers", [])
        return triggers

    @property
    def raw_reporters(self) -> list[dict[str, Any]]:
        reporters: list[dict[str, Any]] = self.data.setdefault("reporters", [])
        return reporters

    @property
    def raw_steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self.data.setdefault("params", {}).setdefault("steps", [])
        return steps

    @property
    def code(self) -> str | None:
        return self._script

    @code.setter
    def code(self, value: str) -> None:
        self._script = value

    def _add_temporal(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = {"active": True, "type": "temporal", "params": params}
        self.raw_triggers.append(trigger)
        return trigger

    def add_periodic_trigger(self, every_minutes: int = 5) -> dict[str, Any]:
        return self._add_temporal({"frequency": "Minutely", "repeatFrequency": every_minutes})

    def add_hourly_trigger(
        self, minute_of_hour: int = 0, year: int | None = None, month: int | None = None, day: int | None = None,
        starting_hour: int = 0, repeat_every: int = 1, timezone: str = "SERVER",
    ) -> dict[str, Any]:  # fmt: skip
        # the client sends starting_hour as params.hour; startingFrom is always a midnight
        return self._add_temporal({
            "frequency": "Hourly", "hour": starting_hour, "minute": minute_of_hour,
            "startingFrom": _starting_from(year, month, day), "repeatFrequency": repeat_every, "timezone": timezone,
        })  # fmt: skip

    def add_daily_trigger(
        self, hour: int = 2, minute: int = 0, days: list[str] | None = None, year: int | None = None, month: int | None = None,
        day: int | None = None, repeat_every: int = 1, timezone: str = "SERVER",
    ) -> dict[str, Any]:  # fmt: skip
        params: dict[str, Any] = {
            "frequency": "Daily" if days is None else "Weekly", "hour": hour, "minute": minute,
            "startingFrom": _starting_from(year, month, day),
        }  # fmt: skip
        if days is not None:
            params["daysOfWeek"] = days
        params.update(repeatFrequency=repeat_every, timezone=timezone)
        return self._add_temporal(params)

    def add_monthly_trigger(
        self, day: int = 1, hour: int = 2, minute: int = 0, year: int | None = None, month: int | None = None,
        run_on: str = "ON_THE_DAY", repeat_every: int = 1, timezone: str = "SERVER",
    ) -> dict[str, Any]:  # fmt: skip
        if run_on not in MONTHLY_RUN_ON:
            raise ValueError(f"run_on must be one of {', '.join(MONTHLY_RUN_ON)}, got {run_on!r}")
        # no dayOfMonth: DSS takes the day from startingFrom (the client's way of passing ``day``)
        return self._add_temporal({
            "frequency": "Monthly", "startingFrom": _starting_from(year, month, day, default_is_today=False),
            "hour": hour, "minute": minute, "monthlyRunOn": run_on, "repeatFrequency": repeat_every, "timezone": timezone,
        })  # fmt: skip
