"""Lenient models of Aqueduct's GraphQL objects (reference/aqueduct.md §3): unknown fields kept."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Experiment(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    uuid: str
    title: str = ""
    description: str | None = None
    eid: str = ""
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    tags: list[str] = Field(default_factory=list)
    files: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def file_names(self) -> list[str]:
        return [f["name"] for f in self.files]


class ExtensionParameter(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    data_type: str = Field("str", alias="dataType")
    default_value: str | None = Field(None, alias="defaultValue")
    options: list[str] | None = None
    description: str | None = None


class ExtensionAction(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    description: str | None = None
    experiment_variable_name: str | None = Field(None, alias="experimentVariableName")
    parameters: list[ExtensionParameter] = Field(default_factory=list)


class Extension(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None
    authors: str = ""
    actions: list[ExtensionAction] = Field(default_factory=list)


class Task(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    uuid: str
    extension_name: str = Field("", alias="extensionName")
    action_name: str = Field("", alias="actionName")
    task_status: str = Field("PENDING", alias="taskStatus")
    result_code: int | None = Field(None, alias="resultCode")
    std_out: str | None = Field(None, alias="stdOut")
    std_err: str | None = Field(None, alias="stdErr")
    received_at: str | None = Field(None, alias="receivedAt")
    ended_at: str | None = Field(None, alias="endedAt")
    experiment: dict[str, Any] | None = None
    parameters: list[dict[str, Any]] | None = None

    def parameter_values(self) -> dict[str, str]:
        return {str((p.get("key") or {}).get("name")): str(p.get("value")) for p in self.parameters or []}


class ExecutionResult(BaseModel):
    """What the released generation's synchronous ``executeExtension`` returns."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    return_code: int = Field(alias="returnCode")
    stdout: str = ""
    stderr: str = ""
    log_experiment: str = Field("", alias="logExperiment")
    log_file: str = Field("", alias="logFile")
