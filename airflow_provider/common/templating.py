"""Templates that render to nothing are refused before any remote call is made.

Airflow 3 runs may have no logical date (``airflow dags trigger``, the REST API and the UI create
them): ``{{ ds }}`` is then undefined or empty, and an identifier or parameter built from it would
reach the platform as an empty string. Operators and sensors mix this in ahead of ``BaseOperator``.
"""

from __future__ import annotations

from typing import Any

import jinja2

from airflow_provider.common.errors import ConfigError

FIX = (
    "a run without a logical date (triggered from the CLI, the REST API or the UI) has no ds, ts or logical_date; "
    "use a template that always renders, e.g. {{ run_id }}, {{ dag_run.run_after | ds }} or {{ (dag_run.logical_date or dag_run.run_after) | ds }}"
)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


def empty_renderings(name: str, raw: Any, rendered: Any) -> list[tuple[str, str]]:
    """(field path, template) for every template in ``raw`` whose rendering in ``rendered`` is empty."""
    if _is_template(raw):
        return [(name, raw)] if _empty(rendered) else []
    found: list[tuple[str, str]] = []
    if isinstance(raw, dict) and isinstance(rendered, dict):
        for key, value in raw.items():
            found += empty_renderings(f"{name}[{key!r}]", value, rendered.get(key))
    elif isinstance(raw, list | tuple) and isinstance(rendered, list | tuple) and len(raw) == len(rendered):
        for index, (value, out) in enumerate(zip(raw, rendered)):
            found += empty_renderings(f"{name}[{index}]", value, out)
    return found


class RefuseEmptyTemplates:
    """Fail the task with the field's name and the fix when one of its templates renders to nothing."""

    template_fields: Any
    task_id: str

    def render_template_fields(self, context: Any, jinja_env: jinja2.Environment | None = None) -> None:
        before = {name: getattr(self, name, None) for name in self.template_fields}
        try:
            super().render_template_fields(context, jinja_env)  # type: ignore[misc]
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"{type(self).__name__} {self.task_id!r}: a template does not render ({exc}); {FIX}") from None
        empty = [hit for name, raw in before.items() for hit in empty_renderings(name, raw, getattr(self, name, None))]
        if empty:
            fields = "; ".join(f"{path} = {template!r}" for path, template in empty)
            raise ConfigError(f"{type(self).__name__} {self.task_id!r}: {fields} rendered to an empty value, so nothing is sent to the platform; {FIX}")
