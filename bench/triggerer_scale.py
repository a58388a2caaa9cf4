"""Triggerer scale: N concurrent deferred waits in one event loop, every platform, one run.

For each N (default 1,000 and 10,000) and each variant, a fresh "triggerer" process runs N
triggers created the way Airflow's triggerer creates them (``serialize()``, then re-created from
the classpath and JSON kwargs) until each has fired its event:

* ``floor``: ``DateTimeTrigger`` sleeping until the wait's end time (what waiting costs at least);
* ``naive``: a DigitalHub run wait with a new HTTP client per poll and one GET per wait and poll
  (as e.g. the dbt Cloud provider's trigger does);
* ``dss-scenarios``, ``dss-futures`` (template builds), ``digitalhub``, ``aqueduct`` (task
  generation), ``paddleflow``: this provider's ``RemoteJobTrigger`` on real remote runs.

Waits are spread over 10 scopes (DSS/DigitalHub projects, Aqueduct experiments, PaddleFlow
connections share one user); remote runs end at known times, spread over two intervals after a
warm-up of three. The emulators run in their own processes (their CPU is reported, not counted).
Columns: steady RSS and its ratio to the floor's (same N, same run), triggerer CPU seconds per
interval while waiting and while finishing, requests per interval while waiting (counted by the
emulator) vs scopes, completion delay (remote end -> TriggerEvent) p50/p95/max, completed/N.

Then the parse-time cost: ``import airflow.sdk`` alone vs followed by every operator and sensor
module of the provider, and a DAG file of 200 of our operators vs the same DAG of EmptyOperators
(each probe a fresh interpreter, the two kinds interleaved, 5 rounds with --quick, else 9; the
medians and the spread of the per-round ratios; CPU time of the probe, so other processes holding
the CPU do not count), then that DAG serialised as the DAG processor
does right after parsing (our outlet assets are built there, on the first read of ``outlets``).
``--parse-only`` runs just this part.

    .venv/bin/python bench/triggerer_scale.py            # N = 1,000 and 10,000, 5 s interval
    .venv/bin/python bench/triggerer_scale.py --quick    # N = 200, 1 s interval (a minute or two)

The machine is shared: only ratios within one run mean anything.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")

SCOPES = 10
VARIANTS = ("floor", "naive", "dss-scenarios", "dss-futures", "digitalhub", "aqueduct", "paddleflow")
PLATFORM_OF = {
    "naive": "digitalhub",
    "dss-scenarios": "dataiku",
    "dss-futures": "dataiku",
    "digitalhub": "digitalhub",
    "aqueduct": "aqueduct",
    "paddleflow": "paddleflow",
}
TIMED_YAML = "name: timed\ndocker_env: python:3.9-slim\nentry_points:\n  work:\n    command: sleep {{duration}}\n    parameters:\n      duration: 1\n"


# --- the naive trigger: what a provider without shared clients or coalescing does ---------------
def _naive_class() -> type:
    from airflow.triggers.base import BaseTrigger, TriggerEvent

    class NaiveDigitalHubTriggerImpl(BaseTrigger):
        def __init__(self, conn_id: str, project: str, run_id: str, poll_interval: float) -> None:
            super().__init__()
            self.conn_id, self.project, self.run_id, self.poll_interval = conn_id, project, run_id, poll_interval

        def serialize(self) -> tuple[str, dict[str, Any]]:
            return (
                "triggerer_scale.NaiveDigitalHubTrigger",
                {"conn_id": self.conn_id, "project": self.project, "run_id": self.run_id, "poll_interval": self.poll_interval},
            )

        async def run(self) -> Any:
            import httpx

            conn = json.loads(os.environ[f"AIRFLOW_CONN_{self.conn_id.upper()}"])
            url = f"{conn['host']}/api/v1/-/{self.project}/runs/{self.run_id}"
            while True:
                async with httpx.AsyncClient(auth=(conn["login"], conn["password"])) as client:  # a new client (and TCP connection) per poll
                    state = (await client.get(url, timeout=60)).json()["status"]["state"]
                if state in ("COMPLETED", "ERROR", "STOPPED", "DELETED"):
                    yield TriggerEvent({"state": state})
                    return
                await asyncio.sleep(self.poll_interval)

    return NaiveDigitalHubTriggerImpl


def __getattr__(name: str) -> Any:  # the triggerer re-creates the naive trigger from "triggerer_scale.NaiveDigitalHubTrigger"
    if name == "NaiveDigitalHubTrigger":
        return _naive_class()
    raise AttributeError(name)


# --- emulators --------------------------------------------------------------------------------
class Emulator:
    def __init__(self, platform: str, knobs: dict[str, Any]) -> None:
        cmd = [sys.executable, "-m", "airflow_provider.testing", platform] + [
            f"--set={k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in knobs.items()
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        self.conn = json.loads(self.proc.stdout.readline().split("=", 1)[1].strip().strip("'"))
        self.platform = platform

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def requests(self) -> int:
        import requests

        return int(requests.get(f"{self.url}/_emulator/requests/count", timeout=60).json()["count"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def conn_env(name: str, conn: dict[str, Any]) -> dict[str, str]:
    return {f"AIRFLOW_CONN_{name.upper()}": json.dumps({**conn, "extra": {**conn.get("extra", {}), "read_timeout": 120}})}


# --- seeding: N remote runs over SCOPES scopes, ending at known times ------------------------
def _pool_map(fn: Any, items: list[Any]) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(fn, items))


_local = threading.local()


def _hook(cls: type, conn_id: str) -> Any:
    """One sync hook per seeding thread (one session; PaddleFlow: one login)."""
    key = f"{cls.__name__}:{conn_id}"
    hook = getattr(_local, key, None)
    if hook is None:
        hook = cls(conn_id)
        setattr(_local, key, hook)
    return hook


def seed(variant: str, n: int, interval: float, emulators: dict[str, Emulator]) -> tuple[list[tuple[str, dict[str, Any]]], list[float]]:
    """(serialized triggers, end time of each wait's remote run)."""
    from airflow_provider.common.trigger import RemoteJobTrigger

    ends: list[float] = []

    def timed(make: Any) -> list[Any]:
        """Seed ``n`` runs, their ends placed after the whole seeding (its speed measured on a few
        extra runs first, on this loaded machine) plus a warm-up of three intervals."""
        probe = min(16, n)
        ends[:] = [time.time() + 3600.0] * probe
        t0 = time.time()
        _pool_map(make, list(range(probe)))
        per_run = (time.time() - t0) / probe
        first = time.time() + per_run * n * 1.5 + 3 * interval + 2
        ends[:] = [first + 2 * interval * i / n for i in range(n)]
        return _pool_map(make, list(range(n)))

    def trigger(job: str, conn_id: str, ref: dict[str, Any], end: float, **options: Any) -> tuple[str, dict[str, Any]]:
        return RemoteJobTrigger(job_class=job, conn_id=conn_id, ref=ref, poll_interval=interval, deadline=end + 600, job_options=options or None).serialize()

    if variant == "floor":
        import datetime as dt

        first = time.time() + 3 * interval + 2
        ends[:] = [first + 2 * interval * i / n for i in range(n)]
        from airflow.triggers.temporal import DateTimeTrigger

        path = DateTimeTrigger(dt.datetime.fromtimestamp(ends[0], tz=dt.UTC)).serialize()[0]
        # the metadata DB keeps the moment as a serialized datetime; JSON here, parsed back in the worker
        return [(path, {"moment": dt.datetime.fromtimestamp(e, tz=dt.UTC).isoformat()}) for e in ends], ends

    if variant in ("naive", "digitalhub"):
        import requests

        em = emulators["digitalhub"]
        auth = (em.conn["login"], em.conn["password"])
        tasks = []
        for s in range(SCOPES):
            project = f"bench-{uuid.uuid4().hex[:6]}-{s}"
            requests.post(f"{em.url}/api/v1/projects", json={"name": project, "kind": "project"}, auth=auth, timeout=60).raise_for_status()
            fn = requests.post(f"{em.url}/api/v1/-/{project}/functions", json={"kind": "python", "name": "f", "spec": {}}, auth=auth, timeout=60).json()
            task = requests.post(
                f"{em.url}/api/v1/-/{project}/tasks",
                json={"kind": "python+job", "spec": {"function": f"python://{project}/f:{fn['id']}"}},
                auth=auth,
                timeout=60,
            ).json()
            tasks.append((project, f"python+job://{project}/{task['id']}"))
        session = requests.Session()
        session.auth = auth

        def make(i: int) -> dict[str, Any]:
            project, task = tasks[i % SCOPES]
            body = {"kind": "python+job:run", "project": project, "spec": {"task": task, "parameters": {"duration": max(0.0, ends[i] - time.time() - 0.1)}}}
            run = session.post(f"{em.url}/api/v1/-/{project}/runs", json=body, timeout=60).json()
            return {"project": project, "run_id": run["id"], "kind": run["kind"]}

        refs = timed(make)
        if variant == "naive":
            return [
                ("triggerer_scale.NaiveDigitalHubTrigger", {"conn_id": "bench_dh", "project": r["project"], "run_id": r["run_id"], "poll_interval": interval})
                for r in refs
            ], ends
        return [trigger("airflow_provider.digitalhub.jobs.DigitalHubRunJob", "bench_dh", r, e) for r, e in zip(refs, ends, strict=True)], ends

    if variant == "dss-scenarios":
        from airflow_provider.dataiku.hook import DataikuHook
        from airflow_provider.dataiku.jobs import scenario_run_ref

        tag = uuid.uuid4().hex[:6].upper()

        def make(i: int) -> dict[str, Any]:
            hook = _hook(DataikuHook, "bench_dss")
            project, sid = f"BENCH{i % SCOPES}", f"S{tag}_{i}"
            hook.create_scenario(project, sid)
            fire = hook.run_scenario(project, sid, {"emulator_duration": max(0.0, ends[i] - time.time() - 0.1)})
            return scenario_run_ref(hook.wait_for_scenario_run(project, sid, fire, poll_interval=0.05))

        refs = timed(make)
        return [
            trigger("airflow_provider.dataiku.jobs.ScenarioRunJob", "bench_dss", r, e, coalesce_window=interval) for r, e in zip(refs, ends, strict=True)
        ], ends

    if variant == "dss-futures":
        # builds last the emulator's build_duration: each end is its build's start plus that
        from airflow_provider.dataiku.hook import DataikuHook

        build = float(emulators["dataiku"].knobs_build)  # type: ignore[attr-defined]

        def make(i: int) -> tuple[dict[str, Any], float]:
            state = _hook(DataikuHook, "bench_dss").build_code_studio_template("vscode_py311")
            return {"job_id": state["jobId"], "what": "template build"}, time.time() + build

        made = _pool_map(make, list(range(n)))
        return [trigger("airflow_provider.dataiku.jobs.DSSFutureJob", "bench_dss", r, e) for r, e in made], [e for _, e in made]

    if variant == "aqueduct":
        from airflow_provider.aqueduct.hook import AqueductHook

        hook = AqueductHook("bench_aq")
        experiments = [hook.create_experiment(f"bench {uuid.uuid4().hex[:6]} {s}", "scale") for s in range(SCOPES)]

        def make(i: int) -> dict[str, Any]:
            exp = experiments[i % SCOPES]
            seconds = max(0.0, ends[i] - time.time() - 0.05)
            task = _hook(AqueductHook, "bench_aq").execute_extension(
                "demo", "sleep", [["experiment", exp.eid], ["seconds", f"{seconds:.3f}"]], experiment_uuid=exp.uuid
            )
            return {"task_id": task.uuid, "experiment_eid": exp.eid}

        refs = timed(make)
        return [trigger("airflow_provider.aqueduct.jobs.AqueductTaskJob", "bench_aq", r, e) for r, e in zip(refs, ends, strict=True)], ends

    if variant == "paddleflow":
        from airflow_provider.paddleflow.hook import PaddleFlowHook

        def make(i: int) -> dict[str, Any]:
            seconds = max(0.0, ends[i] - time.time() - 0.15)
            return {"run_id": _hook(PaddleFlowHook, "bench_pf").create_run(run_yaml_raw=TIMED_YAML, param={"duration": round(seconds, 3)})}

        refs = timed(make)
        return [trigger("airflow_provider.paddleflow.jobs.PaddleFlowRunJob", "bench_pf", r, e) for r, e in zip(refs, ends, strict=True)], ends
    raise ValueError(variant)


# --- the triggerer process --------------------------------------------------------------------
def worker(spec_file: str) -> None:
    """Started before the runs are seeded (its imports take seconds); begins once the spec exists."""
    sys.path.insert(0, str(Path(__file__).parent))
    import airflow.triggers.temporal  # noqa: F401 - what the triggerer has imported before any trigger runs
    import triggerer_scale  # noqa: F401

    from airflow_provider.common.trigger import RemoteJobTrigger  # noqa: F401
    from airflow_provider.testing.triggers import recreate

    Path(spec_file + ".ready").write_text("ready")
    while not Path(spec_file).exists():
        time.sleep(0.05)
    time.sleep(0.05)
    spec = json.loads(Path(spec_file).read_text())

    class Stored:  # what the metadata DB hands the triggerer
        def __init__(self, path: str, kwargs: dict[str, Any]) -> None:
            self.path, self.kwargs = path, kwargs

        def serialize(self) -> tuple[str, dict[str, Any]]:
            return self.path, self.kwargs

    import importlib

    for path, _ in spec["triggers"][:1]:
        importlib.import_module(path.rpartition(".")[0])
    import datetime as dt

    def rebuild(path: str, kwargs: dict[str, Any]) -> Any:
        if "moment" in kwargs:  # DateTimeTrigger: datetimes do not survive JSON
            module, _, name = path.rpartition(".")
            return getattr(importlib.import_module(module), name)(moment=dt.datetime.fromisoformat(kwargs["moment"]))
        return recreate(Stored(path, kwargs))

    # BENCH_MEMORY_TOP=<dir>: where the steady RSS goes, by allocating line (tracemalloc slows the
    # run, so its other figures are not comparable then)
    memory_top = os.environ.get("BENCH_MEMORY_TOP")
    if memory_top:
        import tracemalloc

        tracemalloc.start(1)
    # the triggerer drops each workload once its trigger exists (TriggerRunner.create_triggers): so does the bench
    triggers = [rebuild(p, k) for p, k in spec.pop("triggers")]
    ends: list[float] = spec["ends"]
    interval: float = spec["interval"]
    count_url = spec.get("count_url")

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def requests_now() -> int | None:
        if not count_url:
            return None
        import urllib.request

        with urllib.request.urlopen(count_url, timeout=60) as answer:
            return int(json.loads(answer.read())["count"])

    def write_memory_top(folder: str, name: str) -> None:
        import tracemalloc

        stats = tracemalloc.take_snapshot().statistics("lineno")
        total = sum(s.size for s in stats)
        lines = [f"traced {total / 2**20:.1f} MB in {len(triggers)} triggers ({total / len(triggers):.0f} B each)"]
        lines += [f"{s.size / 2**20:8.2f} MB {s.count:9,d} {s.traceback[0]}" for s in stats[:40]]
        Path(folder, name).write_text("\n".join(lines) + "\n")

    async def main() -> dict[str, Any]:
        fired: list[float | None] = [None] * len(triggers)
        errors: list[str] = []

        async def one(i: int) -> None:
            try:
                async for _event in triggers[i].run():
                    fired[i] = time.time()
                    return
            except Exception as exc:  # noqa: BLE001 - reported, counted as not completed
                errors.append(repr(exc)[:300])

        started = time.time()
        tasks = [asyncio.ensure_future(one(i)) for i in range(len(triggers))]
        samples: list[tuple[float, float, float]] = []
        marks: dict[str, tuple[float, float, int | None]] = {}
        steady_from, steady_to = started + interval, min(ends) - 0.2
        limit = max(ends) + 4 * interval + 30
        while not all(t.done() for t in tasks) and time.time() < limit:
            now = time.time()
            samples.append((now, rss_mb(), time.process_time()))
            for name, at in (("steady_from", steady_from), ("steady_to", steady_to), ("ends", min(ends))):
                if name not in marks and now >= at:
                    marks[name] = (now, time.process_time(), await asyncio.to_thread(requests_now))
                    if name == "steady_to" and memory_top:
                        write_memory_top(memory_top, f"{spec['variant']}-{len(triggers)}.txt")
            await asyncio.sleep(0.25)
        done_at = time.time()
        marks["done"] = (done_at, time.process_time(), await asyncio.to_thread(requests_now))
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {"fired": fired, "samples": samples, "marks": marks, "started": started, "errors": errors[:5], "error_count": len(errors)}

    result = asyncio.run(main())
    Path(spec["out"]).write_text(json.dumps(result))


def measure(variant: str, n: int, interval: float, emulators: dict[str, Emulator], env: dict[str, str]) -> dict[str, Any]:
    em = emulators.get(PLATFORM_OF.get(variant, ""))
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", f"{tmp}/spec.json"], env={**os.environ, **env}, cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        while not Path(f"{tmp}/spec.json.ready").exists():  # its imports take seconds on a loaded machine
            if proc.poll() is not None:
                raise SystemExit(f"{variant} N={n}: triggerer process failed:\n{proc.stderr.read()[-3000:] if proc.stderr else ''}")
            time.sleep(0.1)
        seeded_from = time.time()
        triggers, ends = seed(variant, n, interval, emulators)
        seeding = time.time() - seeded_from
        spec = {
            "triggers": triggers,
            "ends": ends,
            "interval": interval,
            "variant": variant,
            "out": f"{tmp}/out.json",
            "count_url": f"{em.url}/_emulator/requests/count" if em else None,
        }
        Path(f"{tmp}/spec.tmp").write_text(json.dumps(spec))
        em_cpu = em.cpu() if em else 0.0
        Path(f"{tmp}/spec.tmp").rename(f"{tmp}/spec.json")
        _, stderr = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{variant} N={n}: triggerer process failed:\n{stderr[-3000:]}")
        out = json.loads(Path(f"{tmp}/out.json").read_text())
        em_cpu = (em.cpu() - em_cpu) if em else 0.0
    if out["error_count"]:
        print(f"  {variant} N={n}: {out['error_count']} triggers raised, e.g. {out['errors'][0]}", flush=True)
    marks = out["marks"]
    # a trigger cannot notice an end before it runs: a run that ended while seeding counts from the start
    delays = sorted(f - max(e, out["started"]) for f, e in zip(out["fired"], ends, strict=True) if f is not None)
    ended_before_start = sum(1 for e in ends if e < out["started"])
    completed = len(delays)
    steady = [rss for t, rss, _ in out["samples"] if marks.get("steady_from", (1e18,))[0] <= t <= marks.get("steady_to", (0,))[0]]
    if not steady:  # the waiting phase was shorter than a sample: use what there is before the ends
        steady = [rss for t, rss, _ in out["samples"] if t < min(ends)] or [out["samples"][-1][1]]

    def per_interval(a: str, b: str, index: int) -> float | None:
        if a not in marks or b not in marks or marks[a][index] is None or marks[b][index] is None:
            return None
        span = marks[b][0] - marks[a][0]
        return (marks[b][index] - marks[a][index]) / span * interval if span > 0 else None

    wall = marks["done"][0] - out["started"]
    return {
        "variant": variant,
        "n": n,
        "rss_mb": statistics.median(steady),
        "cpu_wait": per_interval("steady_from", "steady_to", 1),
        "cpu_finish": per_interval("ends", "done", 1),
        "req_wait": per_interval("steady_from", "steady_to", 2),
        "delay_p50": delays[len(delays) // 2] if delays else None,
        "delay_p95": delays[min(len(delays) - 1, int(len(delays) * 0.95))] if delays else None,
        "delay_max": delays[-1] if delays else None,
        "completed": completed,
        "emulator_cpu_per_interval": em_cpu / wall * interval if em else None,
        "seeding_s": seeding,
        "ended_before_start": ended_before_start,
    }


# --- parse-time cost --------------------------------------------------------------------------
IMPORT_PROBE = """
import gc, time, importlib, json, sys
t0 = time.process_time()
import airflow.sdk
t1 = time.process_time()
# the full collection that Airflow's objects leave pending would land on whichever import comes next
gc.collect()
t2 = time.process_time()
if {ours}:
    for platform in ("dataiku", "digitalhub", "aqueduct", "paddleflow"):
        for leaf in ("operators", "sensors"):
            try:
                importlib.import_module(f"airflow_provider.{{platform}}.{{leaf}}")
            except ModuleNotFoundError as exc:
                if exc.name != f"airflow_provider.{{platform}}.{{leaf}}":
                    raise
print(json.dumps([t1 - t0, time.process_time() - t2]))
"""

DAG_HEAD = """
import datetime as dt
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_provider.dataiku.operators import DataikuRunScenarioOperator
from airflow_provider.digitalhub.operators import DigitalHubCreateRunOperator
from airflow_provider.aqueduct.operators import AqueductExecuteExtensionOperator
from airflow_provider.paddleflow.operators import PaddleFlowCreateRunOperator
with DAG("bench_{kind}", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
"""
OURS = [
    'DataikuRunScenarioOperator(task_id="t{i}", project_key="P", scenario_id="S{i}", deferrable=True)',
    'DigitalHubCreateRunOperator(task_id="t{i}", project="p", kind="python+job:run", task="python+job://p/t{i}", deferrable=True)',
    'AqueductExecuteExtensionOperator(task_id="t{i}", extension="demo", action="echo", parameters={{"x": "{i}"}}, deferrable=True)',
    'PaddleFlowCreateRunOperator(task_id="t{i}", yaml_file="run.yaml", fs_name="fs", deferrable=True)',
]
PARSE_PROBE = """
import gc, time, json, statistics, importlib.machinery, importlib.util, sys
import airflow.sdk
# Python's default, which the DAG processor runs with unless PYTHONDONTWRITEBYTECODE is set (compiling
# the file is timed on its own below)
sys.dont_write_bytecode = False
from airflow.serialization.serialized_objects import DagSerialization
exec(open({head!r}).read())  # imports done: only building (and serialising) the DAG is timed

def load(path):
    # as the DAG processor loads a file (python_importer.py): the bytecode cache serves every round after the first
    loader = importlib.machinery.SourceFileLoader("bench_dag", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("bench_dag", loader))
    loader.exec_module(module)
    return module.dag

parse, serialize = [], []
for _ in range(5):
    gc.collect()  # each parse starts from the same heap, not with the last round's garbage
    t0 = time.process_time()
    dag = load({path!r})
    t1 = time.process_time()
    DagSerialization.to_dict(dag)  # what the DAG processor does next (outlets are read here)
    parse.append(t1 - t0)
    serialize.append(time.process_time() - t1)
    del dag
source = open({path!r}).read()
t0 = time.process_time()
for _ in range(5):
    compile(source, {path!r}, "exec")
print(json.dumps([statistics.median(parse), statistics.median(serialize), (time.process_time() - t0) / 5]))
"""


def parse_costs(rounds: int) -> dict[str, Any]:
    def probe(code: str) -> Any:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=os.environ, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    # bytecode for the provider, as pip writes it when it installs the wheel (this machine may set
    # PYTHONDONTWRITEBYTECODE, and the first probe would otherwise time compiling our sources)
    compileall.compile_dir(str(ROOT / "airflow_provider"), quiet=1)
    base, ours = [], []
    for _ in range(rounds):  # interleaved, so load drift hits both alike
        base.append(probe(IMPORT_PROBE.format(ours=False))[0])
        _sdk, extra = probe(IMPORT_PROBE.format(ours=True))
        ours.append(extra)
    with tempfile.TemporaryDirectory() as tmp:
        head = f"{tmp}/head.py"
        Path(head).write_text(DAG_HEAD.format(kind="head").split("with DAG")[0])
        files = {}
        for kind in ("empty", "ours"):
            lines = [DAG_HEAD.format(kind=kind)]
            for i in range(200):
                op = 'EmptyOperator(task_id="t{i}")' if kind == "empty" else OURS[i % len(OURS)]
                lines.append("    " + op.format(i=i))
            files[kind] = f"{tmp}/{kind}.py"
            Path(files[kind]).write_text("\n".join(lines) + "\n")
        parse: dict[str, list[float]] = {kind: [] for kind in files}
        serialize: dict[str, list[float]] = {kind: [] for kind in files}
        compiled: dict[str, list[float]] = {kind: [] for kind in files}
        for _ in range(rounds):  # interleaved too, each probe a fresh interpreter
            for kind, path in files.items():
                parsed, serialized, compile_s = probe(PARSE_PROBE.format(head=head, path=path))
                parse[kind].append(parsed)
                serialize[kind].append(serialized)
                compiled[kind].append(compile_s)
    return {
        "rounds": rounds,
        "import_sdk_s": statistics.median(base),
        "import_ours_extra_s": statistics.median(ours),
        "parse_empty_s": statistics.median(parse["empty"]),
        "parse_ours_s": statistics.median(parse["ours"]),
        "parse_ratios": sorted(o / e for o, e in zip(parse["ours"], parse["empty"], strict=True)),
        "serialize_empty_s": statistics.median(serialize["empty"]),
        "serialize_ours_s": statistics.median(serialize["ours"]),
        "compile_empty_s": statistics.median(compiled["empty"]),
        "compile_ours_s": statistics.median(compiled["ours"]),
    }


# --- report -----------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(rows: list[dict[str, Any]], interval: float) -> str:
    lines = [
        f"| N | variant | RSS MB (x floor) | CPU s / {interval:g} s waiting | CPU s / {interval:g} s finishing | requests / interval (scopes {SCOPES}) "
        "| delay p50 / p95 / max s | completed | emulator CPU s / interval |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        floor = next(r for r in rows if r["n"] == row["n"] and r["variant"] == "floor")
        lines.append(
            f"| {row['n']:,} | {row['variant']} | {row['rss_mb']:.0f} ({row['rss_mb'] / floor['rss_mb']:.2f}x) | {fmt(row['cpu_wait'])} | {fmt(row['cpu_finish'])} "
            f"| {fmt(row['req_wait'], 1)} | {fmt(row['delay_p50'])} / {fmt(row['delay_p95'])} / {fmt(row['delay_max'])} | {row['completed']:,}/{row['n']:,} "
            f"| {fmt(row['emulator_cpu_per_interval'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 200, 1 s interval")
    parser.add_argument("--n", type=int, action="append", help="N (repeatable); default 1,000 and 10,000")
    parser.add_argument("--interval", type=float, help="poll interval (default 5 s; 1 s with --quick)")
    parser.add_argument("--only", action="append", choices=VARIANTS, help="variants to run (floor is always run)")
    parser.add_argument("--skip-parse", action="store_true")
    parser.add_argument("--parse-only", action="store_true", help="only the import and DAG-parse figures")
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if args.parse_only:
        print_parse_costs(5 if args.quick else 9)
        return
    sizes = args.n or ([200] if args.quick else [1000, 10000])
    interval = args.interval or (1.0 if args.quick else 5.0)
    variants = ["floor", *[v for v in VARIANTS if v != "floor" and (not args.only or v in args.only)]]
    platforms = sorted({PLATFORM_OF[v] for v in variants if v in PLATFORM_OF})
    build = 3 * interval + 5 + max(sizes) * 0.02
    knobs = {
        "dataiku": {"fire_delay": 0.02, "build_duration": build, "projects": ",".join(f"BENCH{s}" for s in range(SCOPES))},
        "digitalhub": {"pending_after": 0.1},
        "aqueduct": {"generation": "tasks"},
        "paddleflow": {"pending_after": 0.1},
    }
    emulators = {p: Emulator(p, knobs[p]) for p in platforms}
    if "dataiku" in emulators:
        emulators["dataiku"].knobs_build = build  # type: ignore[attr-defined]
    names = {"dataiku": "bench_dss", "digitalhub": "bench_dh", "aqueduct": "bench_aq", "paddleflow": "bench_pf"}
    env: dict[str, str] = {}
    for platform, em in emulators.items():
        env.update(conn_env(names[platform], em.conn))
    os.environ.update(env)
    rows = []
    try:
        for n in sizes:
            for variant in variants:
                started = time.time()
                row = measure(variant, n, interval, emulators, env)
                rows.append(row)
                print(
                    f"  {variant} N={n}: done in {time.time() - started:.0f}s: {json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})}",
                    flush=True,
                )
    finally:
        for em in emulators.values():
            em.stop()
    print()
    print(f"triggerer scale, {interval:g} s poll interval, {SCOPES} scopes; machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(report(rows, interval))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if not args.skip_parse:
        print_parse_costs(5 if args.quick else 9)


def print_parse_costs(rounds: int) -> None:
    costs = parse_costs(rounds)
    print()
    print(
        f"import airflow.sdk: {costs['import_sdk_s'] * 1000:.0f} ms; every operator and sensor module of the provider adds "
        f"{costs['import_ours_extra_s'] * 1000:.0f} ms ({costs['import_ours_extra_s'] / costs['import_sdk_s']:.2f}x of it)"
    )
    ratios = costs["parse_ratios"]
    print(
        f"DAG of 200 operators: ours {costs['parse_ours_s'] * 1000:.0f} ms, EmptyOperator {costs['parse_empty_s'] * 1000:.0f} ms "
        f"({costs['parse_ours_s'] / costs['parse_empty_s']:.2f}x; per round {ratios[0]:.2f}x to {ratios[-1]:.2f}x over {costs['rounds']} rounds)"
    )
    print(
        f"  then serialised as the DAG processor does: ours {costs['serialize_ours_s'] * 1000:.0f} ms, EmptyOperator {costs['serialize_empty_s'] * 1000:.0f} ms; "
        f"parse + serialise {(costs['parse_ours_s'] + costs['serialize_ours_s']) / (costs['parse_empty_s'] + costs['serialize_empty_s']):.2f}x"
    )
    print(
        f"  compiling the file (each parse when bytecode is not cached): ours {costs['compile_ours_s'] * 1000:.1f} ms, "
        f"EmptyOperator {costs['compile_empty_s'] * 1000:.1f} ms; parse with it {(costs['parse_ours_s'] + costs['compile_ours_s']) / (costs['parse_empty_s'] + costs['compile_empty_s']):.2f}x"
    )


if __name__ == "__main__":
    main()
