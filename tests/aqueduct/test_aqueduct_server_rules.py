"""The emulator keeps the rules of the real Aqueduct servers (core 0.5.0 and main, read in their source),
and the hook copes with them: one test per rule the issue named (wire fidelity, issue 12)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider.aqueduct.api.experiments import title_search_key
from airflow_provider.aqueduct.api.extensions import ExecuteTimeout
from airflow_provider.testing import serve_emulator

EXP = "uuid title eid tags"


def gql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = requests.post(f"{url}/api/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def errors(answer: dict[str, Any]) -> list[str]:
    return [e["message"] for e in answer.get("errors") or []]


def create(url: str, title: str, tags: list[str] | None = None, description: str = "") -> dict[str, Any]:
    answer = gql(url, f"mutation($t: String!, $d: String!, $g: [String!]!) {{ createExperiment(createExperimentInput: {{title: $t, description: $d, tags: $g}}) {{ {EXP} }} }}",
                 {"t": title, "d": description, "g": tags or []})  # fmt: skip
    assert not errors(answer), errors(answer)
    return answer["data"]["createExperiment"]  # type: ignore[no-any-return]


def listed(url: str, **filters: Any) -> list[dict[str, Any]]:
    answer = gql(
        url, f"query($f: ExperimentFiltersInput) {{ experiments(offset: 0, limit: 500, filters: $f) {{ experimentsData {{ {EXP} }} }} }}", {"f": filters}
    )
    assert not errors(answer), errors(answer)
    return answer["data"]["experiments"]["experimentsData"]  # type: ignore[no-any-return]


@pytest.fixture(params=["released", "tasks"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """A fresh emulator of each generation (connection ``aq_rules``)."""
    with serve_emulator("aqueduct", "aq_rules", generation=request.param) as (emulator, served):
        yield emulator, served.url


# --- title filter cap and the create operator ----------------------------------------------------
def test_title_filter_is_capped_at_64_characters_while_titles_may_have_256(server: tuple[Any, str]) -> None:
    _, url = server
    long_title = "T" * 200
    assert create(url, long_title)["title"] == long_title
    too_long = gql(
        url, "query($f: ExperimentFiltersInput) { experiments(offset: 0, limit: 5, filters: $f) { totalExperimentsCount } }", {"f": {"title": "T" * 65}}
    )
    assert errors(too_long) == ["Title should be maximum 64 characters long."] and too_long["data"] is None
    assert errors(gql(url, 'mutation { createExperiment(createExperimentInput: {title: "%s", description: "", tags: []}) { uuid } }' % ("x" * 257))) == [
        "Title should be maximum 256 characters long."
    ]


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("length", [65, 130, 256])
def test_create_operator_reuses_experiments_with_long_titles(server: tuple[Any, str], length: int) -> None:
    from airflow.sdk import DAG

    from airflow_provider.aqueduct.operators import AqueductCreateExperimentOperator
    from airflow_provider.testing.airflow_env import run_dag, task_outcomes

    emulator, _ = server
    title = ("long title %_\\ " * 30)[:length]  # ILIKE wildcards and a backslash in the title
    with DAG(f"aq_long_title_{length}_{emulator.state.generation}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        first = AqueductCreateExperimentOperator(task_id="first", title=title, tags=["a"], aqueduct_conn_id="aq_rules")
        first >> AqueductCreateExperimentOperator(task_id="second", title=title, tags=["b"], aqueduct_conn_id="aq_rules")
    outcomes = task_outcomes(run_dag(dag))
    assert outcomes["first"]["state"] == "success" and outcomes["second"]["state"] == "success", outcomes
    assert outcomes["second"]["result"]["created"] is False and outcomes["second"]["result"]["uuid"] == outcomes["first"]["result"]["uuid"]
    assert len(emulator.state.experiments) == 1


def test_title_search_key_finds_the_title_on_the_server(server: tuple[Any, str]) -> None:
    _, url = server
    for title in ["plain", "with\\backslash and more text after it", "%_%", "a" * 256]:
        exp = create(url, title)
        key = title_search_key(title)
        assert key is not None and len(key) <= 64
        assert exp["uuid"] in [e["uuid"] for e in listed(url, title=key)], title


# --- search, tags, archive ------------------------------------------------------------------------
def test_title_search_is_ilike_on_title_or_eid(server: tuple[Any, str]) -> None:
    _, url = server
    a, b = create(url, "Qubit CALIBRATION"), create(url, "other")
    assert [e["uuid"] for e in listed(url, title="calib")] == [a["uuid"]]
    assert [e["uuid"] for e in listed(url, title="q_bit")] == [a["uuid"]]  # "_" matches one character
    assert {e["uuid"] for e in listed(url, title="%")} == {a["uuid"], b["uuid"]}
    assert [e["uuid"] for e in listed(url, title=b["eid"])] == [b["uuid"]]


def test_tag_limits_and_normalisation(server: tuple[Any, str]) -> None:
    _, url = server
    too_many = gql(url, "mutation($g: [String!]!) { createExperiment(createExperimentInput: {title: \"t\", description: \"\", tags: $g}) { uuid } }",
                   {"g": [f"t{i}" for i in range(65)]})  # fmt: skip
    assert errors(too_many) == ["You can have a maximum of 64 tags in an experiment."]
    long_tag = gql(url, 'mutation { createExperiment(createExperimentInput: {title: "t", description: "", tags: ["%s"]}) { uuid } }' % ("x" * 65))
    assert errors(long_tag) == ["Tag should be less than 64 characters long "]
    exp = create(url, "normalise", ["Lab", "Lab", "x:y/z"])  # exact duplicates collapse on creation
    assert sorted(exp["tags"]) == ["Lab", "x:y/z"]
    other = create(url, "second", ["LAB"])  # a tag keeps its first spelling, server-wide
    assert other["tags"] == ["Lab"]
    dup = gql(url, f'mutation($u: UUID!) {{ addTagsToExperiment(experimentTagsInput: {{uuid: $u, tags: ["new", "NEW"]}}) {{ {EXP} }} }}', {"u": exp["uuid"]})
    assert errors(dup) == ["Duplicate tags are not allowed in the request."]
    many = gql(url, f"mutation($u: UUID!, $g: [String!]!) {{ addTagsToExperiment(experimentTagsInput: {{uuid: $u, tags: $g}}) {{ {EXP} }} }}",
               {"u": exp["uuid"], "g": [f"more{i}" for i in range(70)]})  # fmt: skip
    assert not errors(many) and len(many["data"]["addTagsToExperiment"]["tags"]) == 72  # only creation is capped
    assert [e["uuid"] for e in listed(url, tags=["lab"])] == [other["uuid"], exp["uuid"]]  # filters compare lower case
    assert "List should have at most 10 items" in errors(gql(url, "query($f: ExperimentFiltersInput) { experiments(offset: 0, limit: 5, filters: $f) { totalExperimentsCount } }",
                                                             {"f": {"tags": [f"t{i}" for i in range(11)]}}))[0]  # fmt: skip
    assert [e["uuid"] for e in listed(url, shouldIncludeTags=["lab", "x:y/z"])] == [exp["uuid"]]


def test_update_ignores_empty_values(server: tuple[Any, str]) -> None:
    _, url = server
    exp = create(url, "keep me", description="desc")
    answer = gql(
        url, 'mutation($u: UUID!) { updateExperiment(uuid: $u, experimentUpdateInput: {title: "", description: ""}) { title description } }', {"u": exp["uuid"]}
    )
    assert answer["data"]["updateExperiment"] == {"title": "keep me", "description": "desc"}


def test_archived_experiments_are_hidden_from_lists(server: tuple[Any, str]) -> None:
    _, url = server
    kept, archived = create(url, "visible"), create(url, "archived one", ["__archived__"])
    assert [e["uuid"] for e in listed(url)] == [kept["uuid"]]
    assert [e["uuid"] for e in listed(url, shouldIncludeTags=["__archived__"])] == [archived["uuid"]]
    assert (
        gql(url, f'{{ experiment(experimentIdentifier: {{type: EID, value: "{archived["eid"]}"}}) {{ uuid }} }}')["data"]["experiment"]["uuid"]
        == archived["uuid"]
    )


def test_hook_search_longer_than_the_filter_is_refused_before_sending(server: tuple[Any, str]) -> None:
    from airflow_provider.aqueduct.hook import AqueductHook
    from airflow_provider.common.errors import ConfigError

    emulator, _ = server
    before = len(emulator.faults.calls())
    with pytest.raises(ConfigError, match="at most 64"):
        AqueductHook("aq_rules").find_experiments(search="x" * 65)
    assert len(emulator.faults.calls()) == before


# --- files -------------------------------------------------------------------------------------------
def test_file_names_are_validated_and_malformed_uuids_are_422(server: tuple[Any, str]) -> None:
    _, url = server
    exp = create(url, "files")
    for bad in ["a:b.txt", "con.txt", "trailing.", "q?.txt"]:
        answer = requests.post(f"{url}/api/files/{exp['uuid']}", headers={"file_name": bad}, files={"file": ("x", b"x")}, timeout=10)
        assert (answer.status_code, answer.json()) == (400, {"detail": "Invalid file name."}), bad
    assert requests.get(f"{url}/api/files/{exp['uuid']}/a%3Ab.txt", timeout=10).json() == {"detail": "Invalid file name."}
    for method, path in [("POST", "not-a-uuid"), ("GET", "not-a-uuid/a.txt"), ("POST", "not-a-uuid/delete_files")]:
        answer = requests.request(method, f"{url}/api/files/{path}", headers={"file_name": "a.txt"}, json={"file_list": ["a.txt"]}, timeout=10)
        assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "uuid_parsing", (method, path)
    requests.post(f"{url}/api/files/{exp['uuid']}", headers={"file_name": "b.txt"}, files={"file": ("x", b"x")}, timeout=10).raise_for_status()
    missing = requests.post(f"{url}/api/files/{exp['uuid']}/delete_files", json={"file_list": ["z1", "z2", "z3"]}, timeout=10)
    assert (missing.status_code, missing.json()["detail"]) == (409, "File(s) not found - z1, z2 and z3")


# --- tasks (core main) ------------------------------------------------------------------------------
def test_task_date_filters_and_cancelling_a_queued_task() -> None:
    with serve_emulator("aqueduct", "aq_rules_q", generation="tasks", queue_delay=30) as (_, served):
        url = served.url
        exp = create(url, "tasks")
        run = 'mutation($u: UUID!) { executeExtension(executeExtensionInput: {experimentUuid: $u, extension: "demo", action: "fail", params: [["experiment", "%s"], ["code", "1"]]}) { uuid taskStatus receivedAt } }'
        task = gql(url, run % exp["eid"], {"u": exp["uuid"]})["data"]["executeExtension"]
        assert task["taskStatus"] == "PENDING"
        received = dt.datetime.fromisoformat(task["receivedAt"])

        def tasks(**f: Any) -> list[str]:
            answer = gql(url, "query($f: TasksFilterInput) { tasks(offset: 0, limit: 10, filters: $f) { tasksData { uuid } } }", {"f": f})
            return [t["uuid"] for t in answer["data"]["tasks"]["tasksData"]]

        before, after = (received - dt.timedelta(seconds=1)).isoformat(), (received + dt.timedelta(seconds=1)).isoformat()
        assert tasks(startDate=before) == [task["uuid"]] and tasks(startDate=after) == [] and tasks(endDate=before) == []
        assert tasks(startDate=before, endDate=after) == [task["uuid"]] and tasks(username="someone") == []
        cancelled = gql(url, "mutation($t: UUID!) { cancelTask(cancelTaskInput: {taskId: $t}) { taskStatus } }", {"t": task["uuid"]})
        assert cancelled["data"]["cancelTask"]["taskStatus"] == "PENDING"  # the status at the time of the call
        after_cancel = gql(url, "query($t: UUID!) { task(taskId: $t) { taskStatus stdErr endedAt resultCode } }", {"t": task["uuid"]})["data"]["task"]
        assert (
            after_cancel["taskStatus"] == "REVOKED" and after_cancel["stdErr"] == "revoked" and after_cancel["endedAt"] and after_cancel["resultCode"] is None
        )
        assert errors(gql(url, "{ tasks(offset: 0, limit: 501) { totalTasksCount } }")) == ["Maximum allowed limit for experiments is 500"]


# --- the released generation: synchronous, blocking, limited ------------------------------------------
def _released(**knobs: Any) -> Any:
    return serve_emulator("aqueduct", "aq_rules_sync", generation="released", **knobs)


def _execute(url: str, eid: str, seconds: float) -> dict[str, Any]:
    query = 'mutation($p: [[String!]!]!) { executeExtension(extension: "demo", action: "sleep", params: $p) { returnCode logFile } }'
    return gql(url, query, {"p": [["experiment", eid], ["seconds", str(seconds)]]})


def test_released_generation_blocks_the_server_and_builds_the_environment_first() -> None:
    with _released(venv_build_seconds=0.6) as (_, served):
        eid = create(served.url, "sync")["eid"]
        done: dict[str, float] = {}

        def slow() -> None:
            _execute(served.url, eid, 0.5)
            done["at"] = time.monotonic()

        start = time.monotonic()
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.2)
        listed(served.url)  # another request: it waits for the running action (one event loop)
        answered = time.monotonic()
        thread.join()
        assert answered - start >= 1.0 and done["at"] - start >= 1.0  # 0.6 s environment + 0.5 s script
        again = time.monotonic()
        assert not errors(_execute(served.url, eid, 0.1))
        assert time.monotonic() - again < 0.6, "the environment is built once per extension"


def test_released_generation_stops_scripts_at_its_limit() -> None:
    with _released(script_limit=0.3) as (emulator, served):
        exp = create(served.url, "limit")
        answer = _execute(served.url, exp["eid"], 0.6)
        assert answer["data"] is None and "timed out after 0.3 seconds" in errors(answer)[0]
        assert not emulator.state.files.get(exp["uuid"]), "no log file when the script was stopped"


def test_hook_honours_the_execute_timeout_and_does_not_resend() -> None:
    from airflow_provider.aqueduct.hook import AqueductHook

    with _released() as (emulator, served):
        eid = create(served.url, "timeout")["eid"]
        hook = AqueductHook("aq_rules_sync")
        hook.detect_generation()
        start = time.monotonic()
        with pytest.raises(ExecuteTimeout, match=r"no answer within 0.5 s.*may still be running.*not resent"):
            hook.execute_extension("demo", "sleep", [["experiment", eid], ["seconds", "2"]], timeout=0.5)
        assert time.monotonic() - start < 1.9
        time.sleep(2)
        executes = [c for c in emulator.faults.calls("POST", "/api/graphql") if b"executeExtension(" in c.body and b"__type" not in c.body]
        assert len(executes) == 1


@pytest.mark.usefixtures("airflow_db")
def test_released_operator_passes_its_timeout(capfd: pytest.CaptureFixture[str]) -> None:
    from airflow.sdk import DAG

    from airflow_provider.aqueduct.operators import AqueductExecuteExtensionOperator
    from airflow_provider.testing.airflow_env import run_dag, task_outcomes

    with _released() as (_, served):
        eid = create(served.url, "operator timeout")["eid"]
        with DAG("aq_released_timeout", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
            AqueductExecuteExtensionOperator(task_id="slow", extension="demo", action="sleep", experiment=eid, parameters={"seconds": 3},
                                             aqueduct_conn_id="aq_rules_sync", timeout=0.5)  # fmt: skip
        start = time.monotonic()
        outcomes = task_outcomes(run_dag(dag))
        assert outcomes["slow"]["state"] == "failed" and time.monotonic() - start < 2.9
        assert "no answer within 0.5 s" in capfd.readouterr().out


# --- parameters, link ------------------------------------------------------------------------------------
def test_bool_parameters_are_sent_as_pyaqueduct_sends_them(server: tuple[Any, str]) -> None:
    from airflow_provider.aqueduct.api.extensions import validate_parameters
    from airflow_provider.aqueduct.hook import AqueductHook

    emulator, _ = server
    hook = AqueductHook("aq_rules")
    echo = hook.get_extension_action("demo", "echo")
    sent = dict(validate_parameters(echo, {"experiment": "20240101-1", "message": "m", "flag": True}))
    assert sent["flag"] == "True" and dict(validate_parameters(echo, {"experiment": "20240101-1", "message": "m"}))["flag"] == "False"
    assert dict(validate_parameters(echo, {"experiment": "20240101-1", "message": "m", "count": "02"}))["count"] == "02"
    exp = hook.create_experiment("bools", "")
    params = validate_parameters(echo, {"experiment": exp.eid, "message": "m", "flag": True})
    hook.execute_extension("demo", "echo", params, experiment_uuid=exp.uuid)
    body = json.loads([c for c in emulator.faults.calls("POST", "/api/graphql") if b"executeExtension(" in c.body][-1].body)
    assert ["flag", "True"] in body["variables"]["params"]


def test_task_link_opens_the_experiment_page_of_the_ui(server: tuple[Any, str]) -> None:
    from airflow_provider.aqueduct.hook import AqueductHook
    from airflow_provider.aqueduct.jobs import AqueductTaskJob

    _, url = server
    exp = create(url, "Linked <experiment>")
    link = AqueductTaskJob().url(AqueductHook("aq_rules").target, {"task_id": "x", "experiment_eid": exp["eid"]})
    assert link == f"{url}/aqd/experiments/{exp['eid']}"
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "Linked &lt;experiment&gt;" in page.text


def test_https_default_against_a_plain_http_server_says_scheme_mismatch(server: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider.aqueduct.hook import AqueductAsyncHook, AqueductHook
    from airflow_provider.common.errors import TransportError

    _, url = server
    monkeypatch.setenv("AIRFLOW_CONN_AQ_NO_SCHEME", json.dumps({"conn_type": "aqueduct", "host": url.removeprefix("http://")}))
    start = time.monotonic()
    for call in (lambda: AqueductHook("aq_no_scheme").create_experiment("t", ""), lambda: AqueductHook("aq_no_scheme").get_tags()):
        with pytest.raises(TransportError, match=r"scheme mismatch.*write http://host:port in Host") as caught:
            call()
        assert "idempotent" not in str(caught.value) and not caught.value.may_have_reached_server
    import asyncio

    with pytest.raises(TransportError, match="scheme mismatch"):
        asyncio.run(AqueductAsyncHook("aq_no_scheme").create_experiment("t", ""))
    assert time.monotonic() - start < 5, "a scheme mismatch is not retried"


# --- a prepared query is reused, errors included --------------------------------------------------
def test_a_repeated_query_answers_as_the_first_time_errors_included(server: tuple[Any, str]) -> None:
    """The emulator keeps parsed and validated queries (a wait's batched query repeats every interval):
    the second answer of a query, a broken one or a valid one with new variables, is graphql-core's."""
    _, url = server
    for _ in range(2):
        syntax = gql(url, "query { experiments(offset: 0")
        assert syntax["data"] is None and errors(syntax)[0].startswith("Syntax Error"), syntax
        unknown = gql(url, "query { noSuchField }")
        assert unknown["data"] is None and errors(unknown) == ["Cannot query field 'noSuchField' on type 'Query'."], unknown
    query = "query($f: ExperimentFiltersInput) { experiments(offset: 0, limit: 5, filters: $f) { experimentsData { title } } }"
    for title in ("first", "second"):
        create(url, title)
        answer = gql(url, query, {"f": {"title": title}})
        assert [e["title"] for e in answer["data"]["experiments"]["experimentsData"]] == [title], answer
