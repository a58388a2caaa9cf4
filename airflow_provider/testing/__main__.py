"""``python -m airflow_provider.testing <platform> [--port N]``: serve one emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import time

from airflow_provider.testing import PLATFORMS, emulator_module


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider.testing", description=__doc__)
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    args = parser.parse_args()
    module = emulator_module(args.platform)
    server = module.create_app().serve(args.port)
    conn = module.connection(server.url)
    print(f"{args.platform} emulator on {server.url}")
    print(f"export AIRFLOW_CONN_{args.platform.upper()}_DEFAULT='{json.dumps(conn)}'")
    print("fault knobs: POST /_emulator/faults {'latency': 0.2, 'faults': [{'status': 503, 'count': 3}]}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
