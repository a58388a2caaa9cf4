"""Run operators built through one apply_defaults level (common/construction.py) equal those built through all of them."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk import DAG, BaseOperator, TaskGroup
from airflow.sdk.definitions.param import ParamsDict
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider.aqueduct.operators import AqueductExecuteExtensionOperator
from airflow_provider.common import construction
from airflow_provider.common.operator import RemoteJobOperator
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator, DataikuStartCodeStudioOperator
from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator, PaddleFlowRetryRunOperator


class NoInitOperator(RemoteJobOperator[Any]):
    """A user's subclass without an __init__: RemoteJobOperator's level is the outermost."""

    job_class = "airflow_provider.dataiku.jobs.ScenarioRunJob"


class Audit(BaseOperator):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.audited = True


class AuditedOperator(DataikuRunScenarioOperator, Audit):
    """A mixin with its own __init__ between RemoteJobOperator and BaseOperator: the base level stays Airflow's."""


def build_all(task: Callable[..., Any], out: Any) -> DAG:
    with DAG(
        "construction",
        schedule=None,
        start_date=dt.datetime(2026, 1, 1),
        params={"dag_param": 1},
        default_args={"retries": 2, "retry_delay": 7, "poll_interval": 9, "dataiku_conn_id": "dss_from_dag", "owner": "dag-owner"},
    ) as dag:
        first = task("plain")
        out["plain"] = first
        out["explicit"] = task("explicit", poll_interval=3, retries=0, deferrable=True, owner="me", execution_timeout=dt.timedelta(minutes=5))
        out["task_params"] = task("task_params", params={"task_param": "x"}, default_args={"max_resubmits": 0, "queue": "q1", "params": {"p": 2}})
        with TaskGroup("group", default_args={"timeout": 60, "pool": "pool_a", "deferrable": True}):
            out["grouped"] = task("grouped")
        out["templated_upstream"] = task("templated_upstream", identity=first.output)
        nested = task("nested_upstream", params={"n": 1})
        out["nested_upstream"] = nested
    # an XComArg inside a dict template field (Airflow's scan runs when a value is not plain)
    with dag:
        out["in_dict"] = DataikuRunScenarioOperator(task_id="in_dict", project_key="P", scenario_id="S", scenario_params={"x": nested.output})
    return dag


CASES: dict[str, Callable[..., Any]] = {
    "dataiku scenario": lambda t, **kw: DataikuRunScenarioOperator(task_id=t, project_key="P", scenario_id=kw.pop("identity", "S"), **kw),
    "dataiku code studio": lambda t, **kw: DataikuStartCodeStudioOperator(task_id=t, project_key="P", code_studio_id=kw.pop("identity", "C"), **kw),
    "digitalhub": lambda t, **kw: DigitalHubCreateRunOperator(task_id=t, project="p", kind="python+job:run", task=kw.pop("identity", "python+job://p/t"), **kw),
    "aqueduct": lambda t, **kw: AqueductExecuteExtensionOperator(task_id=t, extension="demo", action="echo", parameters={"x": kw.pop("identity", "1")}, **kw),
    "paddleflow": lambda t, **kw: PaddleFlowCreateRunOperator(task_id=t, yaml_file="run.yaml", fs_name=kw.pop("identity", "fs"), **kw),
    "paddleflow retry": lambda t, **kw: PaddleFlowRetryRunOperator(task_id=t, run_id=kw.pop("identity", "run-1"), **kw),
    "no __init__": lambda t, **kw: NoInitOperator(task_id=t, conn_id=kw.pop("identity", "c"), **kw),
    "mixin with __init__": lambda t, **kw: AuditedOperator(task_id=t, project_key="P", scenario_id=kw.pop("identity", "S"), **kw),
}


def normal(value: Any) -> Any:
    if isinstance(value, DAG):
        return ("dag", value.dag_id)
    if isinstance(value, TaskGroup):
        return ("group", value.group_id)
    if isinstance(value, BaseOperator):
        return ("task", value.task_id)
    if isinstance(value, ParamsDict):
        return ("params", normal(value.dump()))
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value).__name__, sorted(map(repr, map(normal, value))) if isinstance(value, set | frozenset) else [normal(v) for v in value])
    if type(value).__repr__ is object.__repr__:
        return type(value).__name__  # an object without a value repr (a lock, an XComArg's operator...)
    return value


def state(op: BaseOperator) -> dict[str, Any]:
    return {name: normal(value) for name, value in vars(op).items()}


@pytest.mark.parametrize("case", list(CASES))
def test_one_level_builds_what_every_level_builds(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast: dict[str, Any] = {}
    fast_dag = build_all(CASES[case], fast)
    monkeypatch.setattr(construction, "ENABLED", False)
    slow: dict[str, Any] = {}
    slow_dag = build_all(CASES[case], slow)

    for name in slow:
        assert state(fast[name]) == state(slow[name]), name
    assert DagSerialization.to_dict(fast_dag) == DagSerialization.to_dict(slow_dag)


def test_defaults_reach_every_level() -> None:
    out: dict[str, Any] = {}
    build_all(CASES["dataiku scenario"], out)
    plain, explicit, task_params, grouped = out["plain"], out["explicit"], out["task_params"], out["grouped"]
    # RemoteJobOperator's, BaseOperator's and the platform operator's arguments all come from default_args
    assert (plain.poll_interval, plain.retries, plain.conn_id, plain.owner) == (9.0, 2, "dss_from_dag", "dag-owner")
    assert plain.retry_delay == dt.timedelta(seconds=7)
    assert (explicit.poll_interval, explicit.retries, explicit.deferrable, explicit.owner) == (3.0, 0, True, "me")
    assert (task_params.max_resubmits, task_params.queue) == (0, "q1")
    assert task_params.params.dump() == {"dag_param": 1, "p": 2, "task_param": "x"}
    assert (grouped.timeout, grouped.pool, grouped.deferrable, grouped.task_id) == (60.0, "pool_a", True, "group.grouped")
    assert out["templated_upstream"].upstream_task_ids == {"plain"}
    assert out["in_dict"].upstream_task_ids == {"nested_upstream"}
    assert out["nested_upstream"].upstream_task_ids == set()


def test_audited_mixin_still_runs() -> None:
    out: dict[str, Any] = {}
    build_all(CASES["mixin with __init__"], out)
    assert all(op.audited for name, op in out.items() if name != "in_dict")


def test_partial_and_expand_know_every_level() -> None:
    with DAG("mapped", schedule=None, start_date=dt.datetime(2026, 1, 1)):
        mapped = DataikuRunScenarioOperator.partial(task_id="m", project_key="P", poll_interval=3, retries=1).expand(scenario_id=["a", "b"])
        assert mapped.partial_kwargs["poll_interval"] == 3
        with pytest.raises(TypeError, match="unexpected keyword argument 'pol_interval'"):
            DataikuRunScenarioOperator.partial(task_id="m2", project_key="P", pol_interval=3)
        with pytest.raises(TypeError, match="missing keyword argument 'project_key'"):
            DataikuRunScenarioOperator(task_id="m3", scenario_id="S")


@pytest.mark.parametrize(("case", "merges", "airflow_merges"), [("dataiku scenario", 1, 3), ("no __init__", 1, 2), ("mixin with __init__", 3, 4)])
def test_defaults_merged_once(case: str, merges: int, airflow_merges: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow.sdk.bases.operator as base

    calls: list[str] = []
    merge = base.get_merged_defaults

    def counted(**kwargs: Any) -> Any:
        calls.append(case)
        return merge(**kwargs)

    monkeypatch.setattr(base, "get_merged_defaults", counted)
    with DAG("merges", schedule=None, start_date=dt.datetime(2026, 1, 1)):
        CASES[case]("t")
    assert len(calls) == merges
    calls.clear()
    monkeypatch.setattr(construction, "ENABLED", False)
    with DAG("merges_slow", schedule=None, start_date=dt.datetime(2026, 1, 1)):
        CASES[case]("t")
    assert len(calls) == airflow_merges


@pytest.mark.parametrize("case", list(CASES))
def test_fields_set_directly_are_plain_attributes(case: str) -> None:
    # set_fields writes the instance dict: a property of the same name would hide the value
    with DAG("plain", schedule=None, start_date=dt.datetime(2026, 1, 1)):
        op = CASES[case]("t")
    hidden = [name for name in vars(op) if hasattr(inspect.getattr_static(type(op), name, None), "__set__")]
    assert hidden == []
