"""DSS: dataiku-api-client 15.2.0 and the hooks send the same requests, method by method.

The hook's connection uses the client's path prefix (``/dip/publicapi``); the hook's documented
default ``/public/api`` routes to the same handlers on DSS (and the emulator).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import dataikuapi  # the dev extra; a missing client must fail, not skip
import pytest
from support.recorder import BooleanCase, Header, recording_proxy
from wire_cases import Case, Env, check, hook_caller, run_case

from airflow_provider.testing.dataiku import DEMO_API_KEY

P = "WIRE"
STEPS = [{"id": "build_a", "name": "Build A", "type": "build_flowitem"}, {"id": "check_b", "name": "Check B", "type": "check_dataset"}]
#: always allowed for DSS, for the reasons given
BASE = (
    BooleanCase("DSS (Java) parses query booleans case-insensitively; the client sends True/False"),
    Header("content-type", "DSS reads request bodies as JSON whatever the content type; the client sends none"),
)
#: ids the server makes up for each side: trigger fires, scenario runs, futures, code studios
PATTERNS = (
    (r"manual-[0-9a-f]{8}\d+", "{fire}"),
    (r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}", "{run}"),
    (r"job-[0-9a-f]{8}\d+", "{job}"),
)
CONN_ID = "dataiku_wire"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Any, Any]]:
    from airflow_provider.testing import serve_emulator

    with serve_emulator("dataiku", None, run_duration=0.6, fire_delay=0.05) as (emulator, server), recording_proxy(server.url) as proxy:
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "dataiku", "host": proxy.url, "password": DEMO_API_KEY, "extra": {"path_prefix": "/dip/publicapi"}}
        )
        yield emulator, proxy


@pytest.fixture(params=["sync", "async"])
def envs(request: pytest.FixtureRequest, served: tuple[Any, Any], loop: Any) -> tuple[Env, Env, Any]:
    from airflow_provider.dataiku.hook import DataikuAsyncHook, DataikuHook

    emulator, proxy = served
    emulator.faults.clear()
    client = dataikuapi.DSSClient(proxy.url, api_key=DEMO_API_KEY)
    call = hook_caller(DataikuHook(CONN_ID), DataikuAsyncHook(CONN_ID), request.param, loop)
    return Env(emulator.state, client, call), Env(emulator.state, client, call), proxy


@pytest.fixture
def paris_time() -> Iterator[None]:
    """A zone with a UTC offset (+0100 in winter, +0200 in summer), where ``+0000`` is wrong."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "CET-1CEST,M3.5.0,M10.5.0/3"
    time.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


# --- setups -----------------------------------------------------------------------------
FIXED_TAG = {"versionNumber": 1, "lastModifiedBy": {"login": "admin"}, "lastModifiedOn": 1700000000000}


def scenario(env: Env, side: str, name: str, **knobs: Any) -> dict[str, Any]:
    sid = f"{name}_{side.upper()}"
    sc = env.state.scenarios.add_scenario(P, sid, name, steps=STEPS, **knobs)
    sc.settings["versionTag"] = dict(FIXED_TAG)
    sc.settings["creationTag"] = dict(FIXED_TAG)
    return {"sid": sid}


def finished_run(env: Env, side: str, name: str, **knobs: Any) -> dict[str, Any]:
    ctx = scenario(env, side, name, marked_as_test=True, **knobs)
    run = env.client.get_project(P).get_scenario(ctx["sid"]).run_and_wait(no_fail=True)
    return {**ctx, "run_id": run.id, "run": run, "model": env.call("get_scenario_run", P, ctx["sid"], run.id)}


def fired(env: Env, side: str, name: str, **knobs: Any) -> dict[str, Any]:
    ctx = scenario(env, side, name, **knobs)
    fire = env.client.get_project(P).get_scenario(ctx["sid"]).run()
    model = env.call("get_trigger_fire", P, ctx["sid"], fire.trigger_id, fire.run_id)
    return {**ctx, "fire": fire, "model": model, "trigger_id": fire.trigger_id, "trigger_run_id": fire.run_id}


def running(env: Env, side: str, name: str) -> dict[str, Any]:
    ctx = fired(env, side, name, duration=30)
    run = ctx["fire"].wait_for_scenario_run()
    return {**ctx, "run_id": run.id, "run": run, "run_model": env.call("get_scenario_run", P, ctx["sid"], run.id)}


def sc_of(client: Any, ctx: dict[str, Any]) -> Any:
    return client.get_project(P).get_scenario(ctx["sid"])


def future(env: Env, side: str, duration: float = 0.0, result: Any = None) -> dict[str, Any]:
    fut = env.state.core.add_future("admin", "Wire job", duration, on_done=lambda: result)
    return {"job_id": fut.job_id}


def studio(env: Env, side: str, name: str = "ws", running_: bool = False) -> dict[str, Any]:
    st = env.state.code_studios.add_studio(P, f"{name}-{side}", "admin", "vscode_py311")
    if running_:
        st.set_state("RUNNING")
    return {"csid": st.id}


def add_triggers(settings: Any) -> None:
    """The same helper calls on the client's settings and on the hook's."""
    settings.add_periodic_trigger(7)
    settings.add_hourly_trigger(minute_of_hour=15, starting_hour=3)
    settings.add_hourly_trigger(minute_of_hour=5, year=2026, month=7, day=14, starting_hour=6, repeat_every=2)
    settings.add_daily_trigger(hour=4, minute=30)
    settings.add_daily_trigger(hour=1, days=["Monday", "Friday"], year=2026, month=8, day=3, timezone="Europe/Paris")
    settings.add_monthly_trigger()
    settings.add_monthly_trigger(day=15, hour=6, month=7, run_on="LAST_WEEK", repeat_every=3)


def settings_setup(kind: str = "step_based") -> Any:
    def setup(env: Env, side: str) -> dict[str, Any]:
        ctx = scenario(env, side, f"SETTINGS_{kind.upper()}", type=kind)
        if side == "theirs":
            settings = env.client.get_project(P).get_scenario(ctx["sid"]).get_settings()
        else:
            settings = env.call("get_scenario_settings", P, ctx["sid"])
        add_triggers(settings)
        settings.active = True
        if kind != "step_based":
            settings.code = "print('edited')\n"
        return {**ctx, "settings": settings}

    return setup


def template_settings(env: Env, side: str) -> dict[str, Any]:
    if side == "theirs":
        return {"settings": env.client.get_code_studio_template("vscode_py311").get_settings()}
    return {"settings": env.call("get_code_studio_template_settings", "vscode_py311")}


TODAY = dt.date.today()
CASES = [
    # --- scenarios (seed 001) ------------------------------------------------------------
    Case("abort_scenario", lambda c, x: sc_of(c, x).abort(), lambda h, x: h("abort_scenario", P, x["sid"]), lambda e, s: running(e, s, "ABORT")),
    Case(
        "run_scenario",
        lambda c, x: sc_of(c, x).run({"day": "2026-12-01", "n": 2}),
        lambda h, x: h("run_scenario", P, x["sid"], {"day": "2026-12-01", "n": 2}),
        lambda e, s: scenario(e, s, "RUN"),
    ),
    Case(
        "run_scenario",
        lambda c, x: sc_of(c, x).run(),
        lambda h, x: h("run_scenario", P, x["sid"]),
        lambda e, s: scenario(e, s, "RUN0"),
        label="run_scenario-no-params",
    ),
    Case(
        "run_scenario_and_wait",
        lambda c, x: sc_of(c, x).run_and_wait({"a": 1}),
        lambda h, x: h("run_scenario_and_wait", P, x["sid"], {"a": 1}, poll_interval=0.2),
        lambda e, s: scenario(e, s, "RUNWAIT", duration=0.4),
        wait=True,
    ),
    Case(
        "get_last_runs",
        lambda c, x: sc_of(c, x).get_last_runs(limit=4, only_finished_runs=True),
        lambda h, x: h("get_last_runs", P, x["sid"], limit=4, only_finished_runs=True),
        lambda e, s: scenario(e, s, "LAST"),
    ),
    Case(
        "get_last_runs",
        lambda c, x: sc_of(c, x).get_last_runs(),
        lambda h, x: h("get_last_runs", P, x["sid"]),
        lambda e, s: scenario(e, s, "LASTD"),
        label="get_last_runs-defaults",
    ),
    # dates given explicitly: the client freezes its toDate default at import, so near midnight the default differs by a day
    # (the hook's own default is checked in test_get_runs_by_date_defaults_to_today)
    Case(
        "get_runs_by_date",
        lambda c, x: sc_of(c, x).get_runs_by_date(dt.datetime(2026, 11, 28, 12), dt.datetime(2026, 12, 1, 12)),
        lambda h, x: h("get_runs_by_date", P, x["sid"], dt.date(2026, 11, 28), dt.date(2026, 12, 1)),
        lambda e, s: scenario(e, s, "BYDATE"),
    ),
    Case(
        "get_runs_by_date",
        lambda c, x: sc_of(c, x).get_runs_by_date("2026-01-01", dt.datetime(2026, 2, 1)),
        lambda h, x: h("get_runs_by_date", P, x["sid"], "2026-01-01", dt.date(2026, 2, 1)),
        lambda e, s: scenario(e, s, "BYDATE2"),
        label="get_runs_by_date-explicit",
    ),
    Case(
        "get_last_finished_run",
        lambda c, x: sc_of(c, x).get_last_finished_run(),
        lambda h, x: h("get_last_finished_run", P, x["sid"]),
        lambda e, s: finished_run(e, s, "LF"),
    ),
    Case(
        "get_last_successful_run",
        lambda c, x: sc_of(c, x).get_last_successful_run(),
        lambda h, x: h("get_last_successful_run", P, x["sid"]),
        lambda e, s: finished_run(e, s, "LS"),
    ),
    Case("get_current_run", lambda c, x: sc_of(c, x).get_current_run(), lambda h, x: h("get_current_run", P, x["sid"]), lambda e, s: running(e, s, "CUR")),
    Case(
        "get_scenario_run",
        lambda c, x: sc_of(c, x).get_run(x["run_id"]),
        lambda h, x: h("get_scenario_run", P, x["sid"], x["run_id"]),
        lambda e, s: finished_run(e, s, "GR"),
    ),
    Case(
        "get_scenario_run",
        lambda c, x: x["run"].refresh(),
        lambda h, x: h("get_scenario_run", P, x["sid"], x["run_id"]),
        lambda e, s: finished_run(e, s, "RF"),
        label="refresh",
    ),
    Case(
        "get_scenario_run_details",
        lambda c, x: x["run"].get_details(),
        lambda h, x: h("get_scenario_run_details", P, x["sid"], x["run_id"]),
        lambda e, s: finished_run(e, s, "GD"),
    ),
    Case("get_scenario_status", lambda c, x: sc_of(c, x).get_status(), lambda h, x: h("get_scenario_status", P, x["sid"]), lambda e, s: scenario(e, s, "ST")),
    Case(
        "get_scenario_settings",
        lambda c, x: sc_of(c, x).get_settings(),
        lambda h, x: h("get_scenario_settings", P, x["sid"]),
        lambda e, s: scenario(e, s, "GS"),
    ),
    Case(
        "get_scenario_settings",
        lambda c, x: sc_of(c, x).get_settings(),
        lambda h, x: h("get_scenario_settings", P, x["sid"]),
        lambda e, s: scenario(e, s, "GSPY", type="custom_python"),
        label="get_scenario_settings-python",
    ),
    Case("save_scenario_settings", lambda c, x: x["settings"].save(), lambda h, x: h("save_scenario_settings", x["settings"]), settings_setup()),
    Case(
        "save_scenario_settings",
        lambda c, x: x["settings"].save(),
        lambda h, x: h("save_scenario_settings", x["settings"]),
        settings_setup("custom_python"),
        label="save_scenario_settings-python",
    ),
    Case(
        "get_average_duration",
        lambda c, x: sc_of(c, x).get_average_duration(limit=2),
        lambda h, x: h("get_average_duration", P, x["sid"], limit=2),
        lambda e, s: finished_run(e, s, "AVG"),
    ),
    Case("delete_scenario", lambda c, x: sc_of(c, x).delete(), lambda h, x: h("delete_scenario", P, x["sid"]), lambda e, s: scenario(e, s, "DEL")),
    Case(
        "list_scenario_discussions",
        lambda c, x: sc_of(c, x).get_object_discussions().list_discussions(),
        lambda h, x: h("list_scenario_discussions", P, x["sid"]),
        lambda e, s: scenario(e, s, "DISC"),
    ),
    Case(
        "get_trigger_fire",
        lambda c, x: sc_of(c, x).get_trigger_fire(x["trigger_id"], x["trigger_run_id"]),
        lambda h, x: h("get_trigger_fire", P, x["sid"], x["trigger_id"], x["trigger_run_id"]),
        lambda e, s: fired(e, s, "TF"),
    ),
    Case(
        "get_trigger_fire",
        lambda c, x: x["fire"].is_cancelled(refresh=True),
        lambda h, x: h("get_trigger_fire", P, x["sid"], x["trigger_id"], x["trigger_run_id"]),
        lambda e, s: fired(e, s, "TFC"),
        label="is_cancelled",
    ),
    Case(
        "get_scenario_definition",
        lambda c, x: sc_of(c, x).get_definition(),
        lambda h, x: h("get_scenario_definition", P, x["sid"]),
        lambda e, s: scenario(e, s, "DEF"),
    ),
    Case(
        "get_scenario_definition",
        lambda c, x: sc_of(c, x).get_definition(with_status=False),
        lambda h, x: h("get_scenario_definition", P, x["sid"], with_status=False),
        lambda e, s: scenario(e, s, "DEF2"),
        label="get_scenario_definition-raw",
    ),
    Case(
        "set_scenario_definition",
        lambda c, x: sc_of(c, x).set_definition({"active": True, "shortDesc": "wired"}),
        lambda h, x: h("set_scenario_definition", P, x["sid"], {"active": True, "shortDesc": "wired"}),
        lambda e, s: scenario(e, s, "SDEF"),
    ),
    Case(
        "get_scenario_payload",
        lambda c, x: sc_of(c, x).get_payload(),
        lambda h, x: h("get_scenario_payload", P, x["sid"]),
        lambda e, s: scenario(e, s, "PAY", type="custom_python"),
        differs=("body differs",),
    ),
    Case(
        "set_scenario_payload",
        lambda c, x: sc_of(c, x).set_payload("print(1)\n"),
        lambda h, x: h("set_scenario_payload", P, x["sid"], "print(1)\n"),
        lambda e, s: scenario(e, s, "SPAY", type="custom_python"),
    ),
    Case(
        "get_run_for_trigger",
        lambda c, x: x["fire"].get_scenario_run(),
        lambda h, x: h("get_run_for_trigger", P, x["sid"], x["trigger_id"], x["trigger_run_id"]),
        lambda e, s: fired(e, s, "RFT"),
    ),
    Case(
        "wait_for_scenario_run",
        lambda c, x: x["fire"].wait_for_scenario_run(),
        lambda h, x: h("wait_for_scenario_run", P, x["sid"], x["model"]),
        lambda e, s: fired(e, s, "WSR"),
        wait=True,
    ),
    Case(
        "wait_for_scenario_run_completion",
        lambda c, x: x["run"].wait_for_completion(no_fail=True),
        lambda h, x: h("wait_for_scenario_run_completion", x["run_model"], no_fail=True, poll_interval=0.2),
        lambda e, s: running_short(e, s, "WC"),
        wait=True,
    ),
    Case(
        "get_scenario_run_report",
        lambda c, x: x["run"].get_report(),
        lambda h, x: h("get_scenario_run_report", P, x["sid"], x["run_id"]),
        lambda e, s: finished_run(e, s, "REP"),
    ),
    Case(
        "get_step_run_report",
        lambda c, x: x["run"].get_step_run_report("build_a"),
        lambda h, x: h("get_step_run_report", P, x["sid"], x["run_id"], "build_a"),
        lambda e, s: finished_run(e, s, "SREP"),
    ),
    Case(
        "get_scenario_run_log",
        lambda c, x: x["run"].get_log(),
        lambda h, x: h("get_scenario_run_log", P, x["sid"], x["run_id"]),
        lambda e, s: finished_run(e, s, "LOG"),
    ),
    Case(
        "get_scenario_run_log",
        lambda c, x: x["run"].get_log("check_b"),
        lambda h, x: h("get_scenario_run_log", P, x["sid"], x["run_id"], step_id="check_b"),
        lambda e, s: finished_run(e, s, "LOGS"),
        label="get_scenario_run_log-step",
    ),
    Case("list_scenarios", lambda c, x: c.get_project(P).list_scenarios(), lambda h, x: h("list_scenarios", P)),
    Case("list_test_scenarios", lambda c, x: c.get_project(P).list_test_scenarios(), lambda h, x: h("list_test_scenarios", P)),
    Case("create_scenario", lambda c, x: c.get_project(P).create_scenario("Made by wire", "step_based"), lambda h, x: h("create_scenario", P, "Made by wire")),
    Case(
        "create_scenario",
        lambda c, x: c.get_project(P).create_scenario("Py", "custom_python", {"params": {"x": 1}, "active": False}),
        lambda h, x: h("create_scenario", P, "Py", "custom_python", {"params": {"x": 1}, "active": False}),
        label="create_scenario-definition",
    ),
    Case("get_testing_status", lambda c, x: c.get_project(P).get_testing_status(), lambda h, x: h("get_testing_status", P)),
    Case(
        "get_testing_status",
        lambda c, x: c.get_project(P).get_testing_status("b1"),
        lambda h, x: h("get_testing_status", P, "b1"),
        label="get_testing_status-bundle",
    ),
    # --- futures and the client --------------------------------------------------------------
    Case(
        "get_future", lambda c, x: c.get_future(x["job_id"]).get_state(), lambda h, x: h("get_future", x["job_id"], peek=False), lambda e, s: future(e, s, 30)
    ),
    Case(
        "get_future",
        lambda c, x: c.get_future(x["job_id"]).peek_state(),
        lambda h, x: h("get_future", x["job_id"], peek=True),
        lambda e, s: future(e, s, 30),
        label="peek_state",
    ),
    Case("abort_future", lambda c, x: c.get_future(x["job_id"]).abort(), lambda h, x: h("abort_future", x["job_id"]), lambda e, s: future(e, s, 30)),
    Case(
        "wait_for_future",
        lambda c, x: c.get_future(x["job_id"]).wait_for_result(),
        lambda h, x: h("wait_for_future", {"jobId": x["job_id"], "hasResult": False}),
        lambda e, s: future(e, s, 0.5, {"done": 1}),
        wait=True,
    ),
    Case("list_futures", lambda c, x: c.list_futures(), lambda h, x: h("list_futures")),
    Case("list_futures", lambda c, x: c.list_futures(all_users=True), lambda h, x: h("list_futures", all_users=True), label="list_futures-all"),
    Case("list_running_scenarios", lambda c, x: c.list_running_scenarios(all_users=True), lambda h, x: h("list_running_scenarios", all_users=True)),
    Case("get_auth_info", lambda c, x: c.get_auth_info(), lambda h, x: h("get_auth_info")),
    # --- code studios (seed 000) -------------------------------------------------------------
    Case("list_code_studios", lambda c, x: c.get_project(P).list_code_studios(), lambda h, x: h("list_code_studios", P)),
    Case(
        "create_code_studio",
        lambda c, x: c.get_project(P).create_code_studio("made-by-wire", "vscode_py311"),
        lambda h, x: h("create_code_studio", P, "made-by-wire", "vscode_py311"),
    ),
    Case(
        "get_code_studio_settings",
        lambda c, x: c.get_project(P).get_code_studio(x["csid"]).get_settings(),
        lambda h, x: h("get_code_studio_settings", P, x["csid"]),
        studio,
    ),
    Case(
        "get_code_studio_status",
        lambda c, x: c.get_project(P).get_code_studio(x["csid"]).get_status(),
        lambda h, x: h("get_code_studio_status", P, x["csid"]),
        studio,
    ),
    Case(
        "restart_code_studio", lambda c, x: c.get_project(P).get_code_studio(x["csid"]).restart(), lambda h, x: h("restart_code_studio", P, x["csid"]), studio
    ),
    Case(
        "stop_code_studio",
        lambda c, x: c.get_project(P).get_code_studio(x["csid"]).stop(),
        lambda h, x: h("stop_code_studio", P, x["csid"]),
        lambda e, s: studio(e, s, running_=True),
    ),
    Case(
        "check_code_studio_conflicts",
        lambda c, x: c.get_project(P).get_code_studio(x["csid"]).check_conflicts("user-versioned"),
        lambda h, x: h("check_code_studio_conflicts", P, x["csid"], "user-versioned"),
        lambda e, s: studio(e, s, running_=True),
    ),
    Case(
        "pull_from_code_studio",
        lambda c, x: c.get_project(P).get_code_studio(x["csid"]).pull_from_code_studio("user-versioned"),
        lambda h, x: h("pull_from_code_studio", P, x["csid"], "user-versioned"),
        lambda e, s: studio(e, s, running_=True),
    ),
    Case(
        "push_to_code_studio",
        lambda c, x: c.get_project(P).get_code_studio(x["csid"]).push_to_code_studio("user-versioned"),
        lambda h, x: h("push_to_code_studio", P, x["csid"], "user-versioned"),
        lambda e, s: studio(e, s, running_=True),
    ),
    Case(
        "change_code_studio_owner",
        lambda c, x: c.get_project(P).get_code_studio(x["csid"]).change_owner("bob"),
        lambda h, x: h("change_code_studio_owner", P, x["csid"], "bob"),
        studio,
    ),
    Case("delete_code_studio", lambda c, x: c.get_project(P).get_code_studio(x["csid"]).delete(), lambda h, x: h("delete_code_studio", P, x["csid"]), studio),
    Case("list_code_studio_templates", lambda c, x: c.list_code_studio_templates(), lambda h, x: h("list_code_studio_templates")),
    Case(
        "get_code_studio_template_settings",
        lambda c, x: c.get_code_studio_template("vscode_py311").get_settings(),
        lambda h, x: h("get_code_studio_template_settings", "vscode_py311"),
    ),
    Case(
        "save_code_studio_template_settings",
        lambda c, x: x["settings"].save(),
        lambda h, x: h("save_code_studio_template_settings", x["settings"]),
        template_settings,
    ),
    Case(
        "build_code_studio_template",
        lambda c, x: c.get_code_studio_template("vscode_py311").build(),
        lambda h, x: h("build_code_studio_template", "vscode_py311"),
    ),
    Case(
        "build_code_studio_template",
        lambda c, x: c.get_code_studio_template("vscode_py311").build(disable_docker_cache=True),
        lambda h, x: h("build_code_studio_template", "vscode_py311", True),
        label="build_code_studio_template-no-cache",
    ),
]


def running_short(env: Env, side: str, name: str) -> dict[str, Any]:
    ctx = fired(env, side, name, duration=0.5)
    run = ctx["fire"].wait_for_scenario_run()
    return {**ctx, "run_id": run.id, "run": run, "run_model": env.call("get_scenario_run", P, ctx["sid"], run.id)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_same_requests(case: Case, envs: tuple[Env, Env, Any], paris_time: None) -> None:
    theirs, ours, proxy = envs
    check(case, run_case(case, theirs, ours, proxy, PATTERNS, BASE))


def test_wait_for_future_looks_at_once_and_ends_on_a_full_read(envs: tuple[Env, Env, Any]) -> None:
    """Why: the first look came a full interval late, and the end was not a ``peek=false`` read."""
    _, ours, proxy = envs
    fut = ours.state.core.add_future("admin", "Quick build", 0.3, on_done=lambda: {"built": True})
    started = time.time()
    with proxy.capture() as seen:
        assert ours.call("wait_for_future", {"jobId": fut.job_id, "hasResult": False}) == {"built": True}
    took = time.time() - started
    assert seen[0].at - started < 0.15, "the first look must not wait"
    # the client's back-off (0.2 s, 0.22 s, ...): the end is seen within a look, not seconds later
    assert took < 0.9, f"a 0.3 s job took {took:.2f} s to be noticed"
    assert len(seen) >= 2 and {e.params()["peek"] for e in seen} == {"false"}
    assert seen[-1].status == 200


def test_runs_by_date_default_is_the_clients_today(envs: tuple[Env, Env, Any]) -> None:
    """Why: the default ``toDate`` was one day later than the client's."""
    _, ours, proxy = envs
    ctx = scenario(ours, "ours", "TODATE")
    with proxy.capture() as seen:
        ours.call("get_runs_by_date", P, ctx["sid"], "2026-01-01")
    assert seen[0].params() == {"fromDate": "2026-01-01", "toDate": dt.date.today().isoformat()}


def test_every_mapped_dss_method_has_a_wire_case() -> None:
    """Every hook method the coverage table maps a DSS seed method to is compared here."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from test_api_coverage import wire_rows

    mapped = {method for section, _, hook, method, _, _ in wire_rows() if section in ("000", "001") and hook == "DataikuHook"}
    assert len(mapped) > 40
    assert mapped <= {c.method for c in CASES}, f"no wire case for {sorted(mapped - {c.method for c in CASES})}"


def test_the_client_parses_every_error_and_fault(served: tuple[Any, Any]) -> None:
    """dataiku-api-client reads every emulator error (its envelope, fault knobs included) as a
    DataikuException with the emulator's message, never a parsing crash; a reset is a transport error.
    (Every success answer is parsed by the client in the cases above.)"""
    import requests

    from airflow_provider.testing.dataiku import USER_API_KEY

    emulator, proxy = served
    emulator.faults.clear()
    client = dataikuapi.DSSClient(proxy.url, api_key=DEMO_API_KEY)
    DSSExc = dataikuapi.utils.DataikuException
    sc = emulator.state.scenarios.add_scenario(P, "PARSE", steps=STEPS)
    failing = {
        "404 NotFound": (lambda: client.get_project(P).get_scenario("NOPE").get_status(), "NotFoundException: Scenario not found"),
        "401 unknown key": (lambda: dataikuapi.DSSClient(proxy.url, api_key="nope").get_auth_info(), "Unknown API Key"),
        "403 not admin": (lambda: dataikuapi.DSSClient(proxy.url, api_key=USER_API_KEY).list_code_studio_templates(), "Exception"),
        "400 bad params": (lambda: client.get_project(P).get_scenario(sc.id).run([1, 2]), "Trigger params must be a JSON object"),
    }
    for name, (call, expected) in failing.items():
        with pytest.raises(DSSExc, match=expected):
            call()
            pytest.fail(f"{name}: no error")
    for status in (500, 502, 503, 429):
        emulator.faults.fail_next(1, status, retry_after="1")
        with pytest.raises(DSSExc, match=f"EmulatedFaultException: emulated fault {status}"):
            client.get_project(P).get_scenario(sc.id).get_status()
    emulator.faults.reset_next(1)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        client.get_project(P).get_scenario(sc.id).get_status()
    # a failed future: DSS answers its poll with an error envelope (500)
    build = emulator.state.core.add_future("admin", "Failing build", 0.05, error=("com.dataiku.dip.exceptions.CodeStudioException", "docker build failed"))
    with pytest.raises(DSSExc, match="docker build failed"):
        client.get_future(build.job_id).wait_for_result()
    emulator.faults.latency = 0.2
    try:
        assert client.get_project(P).get_scenario(sc.id).get_status().running is False
    finally:
        emulator.faults.clear()
