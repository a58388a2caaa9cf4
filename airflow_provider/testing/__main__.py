"""``python -m airflow_provider.testing <platform> [--port N]``: serve one emulator until Ctrl-C.

``python -m airflow_provider.testing demo [...]``: run the example DAGs (or yours) against all emulators.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from airflow_provider.testing import PLATFORMS, emulator_module


def _knob(item: str) -> tuple[str, object]:
    name, sep, raw = item.partition("=")
    if not sep:
        raise SystemExit(f"--set expects KNOB=VALUE, got {item!r}")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


def main() -> None:
    if sys.argv[1:2] == ["demo"]:
        from airflow_provider.testing.demo import main as demo

        sys.exit(demo(sys.argv[2:]))
    parser = argparse.ArgumentParser(prog="python -m airflow_provider.testing", description=__doc__)
    parser.add_argument("platform", choices=PLATFORMS, help="the emulator to serve (or 'demo' to run the example DAGs)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="emulator knob, e.g. run_duration=30 (numbers are parsed)")
    parser.add_argument("--demo", action="store_true", help="seed the data the example DAGs use")
    args = parser.parse_args()
    module = emulator_module(args.platform)
    knobs = dict(_knob(item) for item in args.set)
    server = module.create_app(demo=args.demo, **knobs).serve(args.port)
    conn = module.connection(server.url)
    print(f"{args.platform} emulator on {server.url}", flush=True)
    print(f"export AIRFLOW_CONN_{args.platform.upper()}_DEFAULT='{json.dumps(conn)}'")
    print("fault knobs: POST /_emulator/faults {'latency': 0.2, 'faults': [{'status': 503, 'count': 3}]}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
