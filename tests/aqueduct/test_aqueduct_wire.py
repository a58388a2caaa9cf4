"""Aqueduct wire tests: pyaqueduct 0.1.0 (the PyPI client, in its own venv) and the hook run the same
operation through the recording proxy, and their requests are compared; pyaqueduct also parses every
emulator answer, error bodies and fault knobs included.

Equivalences (each because the server cannot tell the two apart):

* GraphQL documents are compared parsed and re-printed, without the operation's name: gql re-prints
  the client's text anyway, and the server runs a document's single operation whatever it is called
  (neither side sends ``operationName``);
* multipart uploads are compared by their parts' names and bytes: the server stores the bytes under
  the ``file_name`` header and ignores the part's file name and content type;
* the hook's generation probe (an introspection query, read-only) before ``executeExtension`` is
  left out: pyaqueduct 0.1.0 knows only the released generation.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.recorder import Exchange, RecordingProxy, compare_requests, serve_recorded

from airflow_provider.common.errors import ProviderError

_spec = importlib.util.spec_from_file_location("aq_conformance", Path(__file__).with_name("test_aqueduct_conformance.py"))
assert _spec is not None and _spec.loader is not None
_conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conformance)

REPL = r"""
import datetime as dt, json, os, sys, tempfile
from pyaqueduct import API
api = API(sys.argv[1], timeout=30)
ns = {"api": api, "dt": dt, "os": os, "tempfile": tempfile}
print("READY", flush=True)
for line in sys.stdin:
    try:
        exec(json.loads(line), ns)
        print(json.dumps({"ok": True, "out": ns.get("out")}, default=str), flush=True)
    except Exception as exc:
        print(json.dumps({"ok": False, "type": type(exc).__module__ + "." + type(exc).__name__, "error": str(exc)[:300]}), flush=True)
"""


class Client:
    """pyaqueduct in a subprocess, one statement at a time (so each can be captured on its own)."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen([_conformance._client_python(), "-c", REPL, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "READY"

    def run(self, statement: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(statement) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())  # type: ignore[no-any-return]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _normal(ex: Exchange) -> Exchange:
    """GraphQL re-printed without the operation name; multipart reduced to (part name, bytes)."""
    import graphql

    body, headers = ex.body, dict(ex.headers)
    if ex.path.endswith("/graphql") and body:
        doc = json.loads(body)
        tree = graphql.parse(doc["query"])
        for op in tree.definitions:
            if isinstance(op, graphql.OperationDefinitionNode):
                op.name = None
        body = json.dumps({**doc, "query": graphql.print_ast(tree)}).encode()
    elif headers.get("content-type", "").startswith("multipart/form-data"):
        from email.parser import BytesParser
        from email.policy import HTTP

        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body)
        parts = [[p.get_param("name", header="content-disposition"), p.get_payload(decode=True).decode()] for p in message.iter_parts()]
        body, headers["content-type"] = json.dumps(parts).encode(), "multipart/form-data"
    return Exchange(ex.method, ex.path, ex.query, body, headers, ex.status)


def _graphql_probe(ex: Exchange) -> bool:
    return ex.path.endswith("/graphql") and b"__type" in ex.body


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, RecordingProxy, Client, Any, dict[str, Any]]]:
    from airflow_provider.aqueduct.hook import AqueductHook

    with serve_recorded("aqueduct", "aq_wire", headers=("file_name",), generation="released") as (emulator, proxy):
        client = Client(proxy.url)
        hook = AqueductHook("aq_wire")
        made = hook.create_experiment("Wire", "desc")
        src = tmp_path_factory.mktemp("wire") / "sample.txt"
        src.write_text("hello aqueduct")
        shared = {"uuid": made.uuid, "eid": made.eid, "src": str(src), "dest": str(tmp_path_factory.mktemp("dest"))}
        assert client.run(f"exp = api.get_experiment_by_uuid({made.uuid!r})")["ok"]
        try:
            yield emulator, proxy, client, hook, shared
        finally:
            client.close()


#: (pyaqueduct statement, hook method, args) — every seed method mapped to a hook method that sends a request
CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = [
    ("api.create_experiment('Wire two', 'made twice')", "create_experiment", ("Wire two", "made twice"), {}),
    ("api.get_experiment_by_eid('{eid}')", "get_experiment_by_eid", ("{eid}",), {}),
    ("api.get_experiment_by_uuid('{uuid}')", "get_experiment_by_uuid", ("{uuid}",), {}),
    ("api.find_experiments(search='Wire', limit=5, offset=0, tags=['t'], start_datetime=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), end_datetime=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))",
     "find_experiments", (), {"search": "Wire", "limit": 5, "offset": 0, "tags": ["t"], "start_datetime": "2026-01-01T00:00:00+00:00", "end_datetime": "2030-01-01T00:00:00+00:00"}),
    ("exp.title = 'Renamed'", "update_experiment", ("{uuid}",), {"title": "Renamed"}),
    ("exp.description = 'New description'", "update_experiment", ("{uuid}",), {"description": "New description"}),
    ("out = exp.tags", "get_experiment_by_uuid", ("{uuid}",), {}),
    ("out = exp.updated_at", "get_experiment_by_uuid", ("{uuid}",), {}),
    ("out = exp.files", "list_files", ("{uuid}",), {}),
    ("exp.add_tags(['Airflow', 'wire-test'])", "add_tags", ("{uuid}", ["Airflow", "wire-test"]), {}),
    ("exp.remove_tag('airflow')", "remove_tag", ("{uuid}", "airflow"), {}),
    ("out = api._client.get_tags(limit=10, offset=0, dangling=True).tags", "get_tags", (), {"limit": 10, "offset": 0, "dangling": True}),
    ("exp.upload_file('{src}')", "upload_file", ("{uuid}", "{src}"), {}),
    ("exp.download_file('sample.txt', '{dest}')", "download_file", ("{uuid}", "sample.txt", "{dest}"), {}),
    ("out = [e.name for e in api.get_extensions()]", "get_extensions", (), {}),
    ("(echo,) = [a for e in api.get_extensions() if e.name == 'demo' for a in e.actions if a.name == 'echo']", "", (), {}),
    ("out = echo.execute({{'experiment': '{eid}', 'message': 'hi', 'count': 2, 'flag': True, 'mode': 'fast'}}).returnCode", "execute_extension",
     ("demo", "echo", {"experiment": "{eid}", "message": "hi", "count": 2, "flag": True, "mode": "fast"}), {}),
]  # fmt: skip


def _fill(value: Any, shared: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**shared)
    if isinstance(value, list):
        return [_fill(v, shared) for v in value]
    return value


def test_every_mapped_method_sends_what_pyaqueduct_sends(wire: Any) -> None:
    _, proxy, client, hook, shared = wire
    problems = []
    for statement, method, args, kwargs in CASES:
        with proxy.capture() as theirs:
            answer = client.run(statement.format(**shared))
        assert answer["ok"], (statement, answer)
        if not method:
            continue  # a lookup the next case needs
        if method == "execute_extension":  # the parameters as the operator prepares them (declared order, values as text)
            from airflow_provider.aqueduct.api.extensions import validate_parameters

            args = (*args[:2], validate_parameters(hook.get_extension_action("demo", "echo"), {k: _fill(v, shared) for k, v in args[2].items()}))
        with proxy.capture() as ours, contextlib.suppress(ProviderError):  # pyaqueduct did it first: the server may refuse a repeat
            getattr(hook, method)(*_fill(list(args), shared), **{k: _fill(v, shared) for k, v in kwargs.items()})
        diff = compare_requests([_normal(e) for e in theirs], [_normal(e) for e in ours if not _graphql_probe(e)])
        problems.extend(f"{statement}: {d}" for d in diff)
    assert not problems, "\n".join(problems)


def test_remove_experiment_by_eid_sends_the_same_two_requests(wire: Any) -> None:
    _, proxy, client, hook, _ = wire
    first, second = hook.create_experiment("to remove 1", ""), hook.create_experiment("to remove 2", "")
    with proxy.capture() as theirs:
        assert client.run(f"api.remove_experiment_by_eid({first.eid!r})")["ok"]
    with proxy.capture() as ours:
        hook.remove_experiment_by_eid(second.eid)
    assert len(theirs) == 2
    swap = {first.eid: second.eid, first.uuid: second.uuid}
    renamed = [Exchange(e.method, e.path, e.query, _swap(e.body, swap), e.headers, e.status) for e in theirs]
    assert compare_requests([_normal(e) for e in renamed], [_normal(e) for e in ours]) == []


def _swap(body: bytes, swap: dict[str, str]) -> bytes:
    text = body.decode()
    for old, new in swap.items():
        text = text.replace(old, new)
    return text.encode()


def test_pyaqueduct_parses_every_answer_errors_and_faults_included(wire: Any) -> None:
    """Only pyaqueduct's own exceptions (or httpx's, for a reset it does not wrap) may come out."""
    emulator, _, client, _, shared = wire
    allowed = ("pyaqueduct.exceptions.", "httpx.")
    statements = [
        ("api.get_experiment_by_eid('19990101-9')", None),
        ("api.get_experiment_by_uuid('00000000-0000-4000-8000-000000000000')", None),
        ("api.find_experiments(search='x' * 65)", None),
        ("api.find_experiments(limit=501)", None),
        ("exp.add_tags(['bad tag'])", None),
        ("exp.remove_tag('never-there')", None),
        ("api.create_experiment('x' * 257, '')", None),
        (f"echo.execute({{'experiment': '{shared['eid']}'}})", None),
        (f"echo.execute({{'experiment': '{shared['eid']}', 'message': 'm', 'count': 'x', 'flag': 'maybe', 'mode': 'fast'}})", None),
        (f"exp.upload_file('{shared['src']}')", ("fail", 503)),
        ("api.get_extensions()", ("fail", 429)),
        (f"api.get_experiment_by_eid('{shared['eid']}')", ("fail", 500)),
        (f"api.get_experiment_by_eid('{shared['eid']}')", ("fail", 401)),
        (f"api.get_experiment_by_eid('{shared['eid']}')", ("fail", 403)),
        (f"exp.download_file('nope.txt', '{shared['dest']}')", None),
        (f"api.get_experiment_by_eid('{shared['eid']}')", ("reset", 0)),
    ]
    for statement, fault in statements:
        if fault and fault[0] == "fail":
            emulator.faults.fail_next(1, fault[1])
        elif fault:
            emulator.faults.reset_next(1)
        answer = client.run(statement)
        assert answer["ok"] or answer["type"].startswith(allowed), (statement, fault, answer)
    assert client.run(f"out = api.get_experiment_by_eid('{shared['eid']}').eid")["out"] == shared["eid"]


# --- calls pyaqueduct 0.1.0 lacks: compared with pyaqueduct main's requests captured on a real server --------
#: requests pyaqueduct main sent to a real aqueductcore main server, copied from the reference's captures
#: (``../shared/reference/aqueduct-wire-samples.jsonl``, lines named by ``sample``)
SAMPLES = Path(__file__).with_name("pyaqueduct_main_requests.jsonl")


def _sample(index: int) -> Exchange:
    (req,) = [json.loads(line)["req"] for line in SAMPLES.read_text().splitlines() if json.loads(line)["sample"] == index]
    return Exchange(req["method"], req["path"], (), req["body"].encode(), {"content-type": req["headers"]["Content-Type"]}, 0)


def _root_only(ex: Exchange, drop_variables: tuple[str, ...] = ()) -> Exchange:
    """The operation with its root field's arguments and the variables it declares: the fields selected
    below the root only choose what comes back, and the server ignores variables a document does not declare."""
    import graphql

    doc = json.loads(ex.body)
    tree = graphql.parse(doc["query"])
    (op,) = tree.definitions
    assert isinstance(op, graphql.OperationDefinitionNode)
    op.name = None
    op.variable_definitions = tuple(v for v in op.variable_definitions or () if v.variable.name.value not in drop_variables)
    for root in op.selection_set.selections:
        assert isinstance(root, graphql.FieldNode)
        root.selection_set = None
        for arg in root.arguments or ():
            if isinstance(arg.value, graphql.ObjectValueNode):
                arg.value.fields = tuple(f for f in arg.value.fields if f.name.value not in drop_variables)
    declared = {v.variable.name.value for v in op.variable_definitions}
    variables = {k: v for k, v in (doc.get("variables") or {}).items() if k in declared}
    return Exchange(ex.method, ex.path, ex.query, json.dumps({"query": graphql.print_ast(tree), "variables": variables}).encode(), ex.headers, ex.status)


def test_task_calls_and_remove_files_match_pyaqueduct_main(tmp_path: Path) -> None:
    from airflow_provider.aqueduct.hook import AqueductHook

    task_id = "3d26a8a9-c902-42a1-94f8-56752eceefc3"
    with serve_recorded("aqueduct", "aq_wire_tasks", generation="tasks") as (_, proxy):
        hook = AqueductHook("aq_wire_tasks")
        for index, call in [(45, lambda: hook.get_task(task_id)), (46, lambda: hook.cancel_task(task_id))]:
            with proxy.capture() as ours, contextlib.suppress(ProviderError):
                call()
            assert compare_requests([_root_only(_sample(index))], [_root_only(e) for e in ours]) == [], index
        # deliberate: the hook declares the experiment filter (pyaqueduct main sends an undeclared experimentUuid, which the server ignores)
        with proxy.capture() as ours:
            hook.get_tasks(limit=50, offset=0, extension_name="demo", action_name="fail")
        assert compare_requests([_root_only(_sample(48))], [_root_only(e, drop_variables=("experiment",)) for e in ours]) == []
        assert json.loads(ours[0].body)["variables"]["experiment"] is None
        with proxy.capture() as ours, contextlib.suppress(ProviderError):
            hook.remove_files("c5e74940-b262-4f9a-b4bc-d9350e9be70e", ["a.txt"])
        assert compare_requests([_sample(15)], list(ours)) == []
