"""Triggerer-style polling at scale: N concurrent waits in one event loop, each polling K times.

Compares, in the same run and against the same emulator process:

* ``baseline``: a new HTTP client per poll (what a provider that opens a session per request,
  e.g. ``aiohttp.ClientSession`` per call, does: a TCP connect for every poll);
* ``pooled``: this provider's async transport, one client per (event loop, connection) shared by
  every trigger;
* ``coalesced``: pooled, plus the DSS job's coalesced polling (waits on one project share one
  scenario-list call per window instead of one run read each).

Reports polls/second and HTTP requests per poll (counted by the emulator).

Prints polls/second for each and the ratio pooled/baseline. The machine is noisy, so only the ratio
within one run means anything. Run:

    .venv/bin/python bench/trigger_polling.py --waits 200 --polls 5 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "airflow_provider.testing", "dataiku", "--set", "run_duration=3600"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()  # "dataiku emulator on http://127.0.0.1:PORT"
    return proc, first.rsplit(" ", 1)[-1]


def seed_runs(url: str, count: int) -> list[dict[str, str]]:
    """Start ``count`` long scenario runs (one per scenario, as DSS runs one at a time per scenario)."""
    from airflow_provider.dataiku.hook import DataikuHook
    from airflow_provider.dataiku.jobs import scenario_run_ref

    hook = DataikuHook()
    refs = []
    for i in range(count):
        sid = f"BENCH_{i}"
        hook.create_scenario("DEMO", sid)
        refs.append(scenario_run_ref(hook.wait_for_scenario_run("DEMO", sid, hook.run_scenario("DEMO", sid), poll_interval=0.05)))
    return refs


async def poll_all(refs: list[dict[str, str]], polls: int, per_poll_client: bool, coalesce_window: float = 0.0) -> float:
    import httpx

    from airflow_provider.common import transport
    from airflow_provider.dataiku.hook import DataikuAsyncHook
    from airflow_provider.dataiku.jobs import ScenarioRunJob

    job = ScenarioRunJob(coalesce_window=coalesce_window)

    async def one_wait(ref: dict[str, str]) -> None:
        hook = DataikuAsyncHook()
        if per_poll_client:
            tr = await hook.transport()

            async def fresh_send(req: transport.PreparedRequest) -> httpx.Response:
                async with httpx.AsyncClient(verify=tr.target.verify) as client:
                    return await client.request(req.method, req.url, params=req.params, headers=req.headers, timeout=30)

            tr._send = fresh_send  # type: ignore[method-assign]
        for _ in range(polls):
            status = await hook.drive(job.status(ref))
            assert status.state == "RUNNING"

    started = time.perf_counter()
    await asyncio.gather(*(one_wait(ref) for ref in refs))
    elapsed = time.perf_counter() - started
    await transport.CLIENT_POOL.aclose_all()
    return elapsed


def request_count(url: str) -> int:
    import requests

    return len(requests.get(f"{url}/_emulator/requests", timeout=30).json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=200)
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    proc, url = start_emulator()
    try:
        from airflow_provider.testing.dataiku import connection

        os.environ["AIRFLOW_CONN_DATAIKU_DEFAULT"] = json.dumps({**connection(url), "extra": {"read_timeout": 120}})
        refs = seed_runs(url, args.waits)
        variants = {"baseline": (True, 0.0), "pooled": (False, 0.0), "coalesced": (False, 1.0)}
        results: dict[str, list[float]] = {name: [] for name in variants}
        requests_made: dict[str, int] = dict.fromkeys(variants, 0)
        for _ in range(args.rounds):  # interleaved, so drift on a noisy machine hits all alike
            for name, (fresh, window) in variants.items():
                before = request_count(url)
                results[name].append(asyncio.run(poll_all(refs, args.polls, fresh, window)))
                requests_made[name] += request_count(url) - before
        total = args.waits * args.polls
        rate = {name: total / statistics.median(times) for name, times in results.items()}
        print(f"{args.waits} concurrent waits x {args.polls} polls, median of {args.rounds} rounds")
        for name, times in results.items():
            per_poll = requests_made[name] / (total * args.rounds)
            print(f"  {name:<10} {rate[name]:8.0f} polls/s  {per_poll:6.3f} HTTP requests/poll  (runs: {', '.join(f'{t:.2f}s' for t in times)})")
        print(f"ratio pooled/baseline:    {rate['pooled'] / rate['baseline']:.2f}x polls/s")
        print(f"ratio coalesced/baseline: {rate['coalesced'] / rate['baseline']:.2f}x polls/s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
