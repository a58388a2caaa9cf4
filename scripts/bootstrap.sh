#!/usr/bin/env bash
# Creates .venv (if missing) and installs the provider with its dev extra; re-installs when
# pyproject.toml changes. Needs only python3.11 and pip; uses uv (from PyPI) for speed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.airflow-provider-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing airflow-provider[dev] into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip uv >&2
  if ! .venv/bin/uv pip install -q -p .venv/bin/python -e ".[dev]" >&2; then
    echo "uv failed; falling back to pip" >&2
    .venv/bin/python -m pip install -q -e ".[dev]" >&2
  fi
  echo "$want" > "$stamp"
fi
