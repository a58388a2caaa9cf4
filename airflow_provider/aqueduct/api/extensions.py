"""Aqueduct extensions and running their actions (seed 003; wire: reference/aqueduct.md §3.5)."""

from __future__ import annotations

import re
from typing import Any

from airflow_provider.aqueduct.api.graphql import RELEASED, generation, gql
from airflow_provider.aqueduct.api.tasks import TASK
from airflow_provider.aqueduct.models import ExecutionResult, Extension, ExtensionAction, ExtensionParameter, Task
from airflow_provider.common.errors import ConfigError, SubmitOutcomeUnknown
from airflow_provider.common.flow import Flow

#: executing an action on the released generation waits for the script (up to 60 s server-side) and,
#: the first time, for a venv to be built: never the official client's 0.5 s
EXECUTE_TIMEOUT = 300.0


class ExecuteTimeout(SubmitOutcomeUnknown):
    """A released server did not answer an action's execution in time (it may still be running it)."""


# --- extensions and tasks ----------------------------------------------------------------
def get_extensions() -> Flow[list[Extension]]:
    query = "query GetAllExtensionsQuery { extensions { name authors description actions { name description experimentVariableName parameters { name displayName description dataType defaultValue options } } } }"
    return [Extension.model_validate(e) for e in (yield from gql(query, None, "extensions"))]


def get_extension_action(extension: str, action: str) -> Flow[ExtensionAction]:
    extensions = yield from get_extensions()
    found = next((e for e in extensions if e.name == extension), None)
    if found is None:
        raise ConfigError(f"unknown extension {extension!r}; the server has: {', '.join(e.name for e in extensions) or 'none'}")
    act = next((a for a in found.actions if a.name == action), None)
    if act is None:
        raise ConfigError(f"extension {extension!r} has no action {action!r}; it has: {', '.join(a.name for a in found.actions) or 'none'}")
    return act


_EID = re.compile(r"^\d+-[a-zA-Z0-9]+$")


def validate_parameters(action: ExtensionAction, parameters: dict[str, Any]) -> list[list[str]]:
    """The action's declared parameters, checked and as strings; defaults fill the gaps (the server
    applies none and rejects any missing key)."""
    declared = {p.name: p for p in action.parameters}
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ConfigError(f"action {action.name!r} has no parameter(s) {', '.join(unknown)}; it declares: {', '.join(declared)}")
    out = []
    for name, spec in declared.items():
        if name in parameters and parameters[name] is not None:
            value: Any = parameters[name]
        elif spec.default_value is not None:
            value = spec.default_value
        else:
            raise ConfigError(f"action {action.name!r}: parameter {name!r} ({spec.data_type}) is required and has no default")
        text = _check_type(action.name, name, spec, value)
        out.append([name, text])
    return out


def _check_type(action: str, name: str, spec: ExtensionParameter, value: Any) -> str:
    kind = spec.data_type
    where = f"action {action!r}: parameter {name!r}"
    # values go as ``str(value)``, the way pyaqueduct sends them; the server checks and normalises them itself
    if kind in ("int", "float"):
        try:
            (int if kind == "int" else float)(str(value))
        except ValueError:
            raise ConfigError(f"{where} must be an {kind}, got {value!r}") from None
        return str(value)
    if kind == "bool":
        text = str(value).lower()
        if text not in ("true", "false", "1", "0"):
            raise ConfigError(f"{where} must be a bool, got {value!r}")
        # pyaqueduct sends str(True) == "True"; declared defaults come back from the server as "1"/"0"
        return "True" if text in ("true", "1") else "False"
    if kind == "select" and str(value) not in (spec.options or []):
        raise ConfigError(f"{where} must be one of {spec.options}, got {value!r}")
    if kind == "experiment" and not _EID.match(str(value)):
        raise ConfigError(f"{where} must be an experiment EID such as 20240101-1, got {value!r}")
    return str(value)


def execute_extension(
    extension: str, action: str, params: list[list[str]], experiment_uuid: str | None = None, timeout: float | None = None
) -> Flow[Task | ExecutionResult]:
    """Run an action: a :class:`Task` to poll on a task-based server, an :class:`ExecutionResult`
    (after the script ran) on a released server.

    ``timeout``: seconds to wait for the answer (default :data:`EXECUTE_TIMEOUT`). The released
    generation answers only when the script ended (it stops it after 60 s) and, on an extension's
    first call, after building its environment; when no answer came in time the request is not
    resent (the server may still be running the action) and :class:`ExecuteTimeout` says so."""
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout must be positive seconds, got {timeout!r}")
    wait = EXECUTE_TIMEOUT if timeout is None else float(timeout)
    gen = yield from generation()
    if gen == RELEASED:
        query = "mutation ExecuteExtension($extension: String!, $action: String!, $params: [[String!]!]!) { executeExtension(params: $params, extension: $extension, action: $action) { logExperiment logFile returnCode stderr stdout } }"
        try:
            data = yield from gql(query, {"extension": extension, "action": action, "params": params}, "executeExtension", read_timeout=wait)
        except SubmitOutcomeUnknown as exc:
            if exc.status is not None:
                raise
            raise ExecuteTimeout(
                f"{extension}/{action}: no answer within {wait:g} s ({exc.reason}). This server generation runs the action inside the request "
                "(up to 60 s of script, plus building the extension's environment on its first call), so it may still be running: "
                "its log file will appear in the experiment of its experiment parameter. It was not resent; raise timeout= if the action needs longer",
                method=exc.method,
                url=exc.url,
                reason=exc.reason,
                call=exc.call,
            ) from None
        return ExecutionResult.model_validate(data)
    if not experiment_uuid:
        raise ConfigError("this Aqueduct server runs actions as tasks owned by an experiment: pass the experiment (EID or UUID)")
    query = f"mutation ExecuteExtension($experimentUuid: UUID!, $extension: String!, $action: String!, $params: [[String!]!]!) {{ executeExtension(executeExtensionInput: {{experimentUuid: $experimentUuid, extension: $extension, action: $action, params: $params}}) {{ {TASK} }} }}"
    data = yield from gql(
        query, {"experimentUuid": experiment_uuid, "extension": extension, "action": action, "params": params}, "executeExtension", read_timeout=wait
    )
    return Task.model_validate(data)
