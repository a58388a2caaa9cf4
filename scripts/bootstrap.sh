#!/usr/bin/env bash
# Creates the venv (if missing) and installs the provider with its dev extra; re-installs when
# pyproject.toml changes. Needs only python3.11 and pip; uses uv (from PyPI) for speed.
#   VENV=dir             the venv to use (default .venv)
#   AIRFLOW_VERSION=X.Y.Z  pin Airflow to that release instead of the newest the range allows
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $PY" >&2
  "$PY" -m venv "$VENV"
fi
pins=()
if [ -n "${AIRFLOW_VERSION:-}" ]; then
  # an override, not a pin: it may lie outside the declared range (checking a release before widening it)
  override=$VENV/airflow-override.txt
  echo "apache-airflow==${AIRFLOW_VERSION}" > "$override"
  pins=("--override" "$override")
fi
stamp=$VENV/.airflow-provider-installed
want=$(cat pyproject.toml <(echo "${AIRFLOW_VERSION:-}") | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing airflow-provider[dev] ${AIRFLOW_VERSION:+with Airflow $AIRFLOW_VERSION }into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip uv >&2
  if ! "$VENV/bin/uv" pip install -q -p "$VENV/bin/python" -e ".[dev]" "${pins[@]}" >&2; then
    [ -z "${AIRFLOW_VERSION:-}" ] || { echo "cannot install Airflow ${AIRFLOW_VERSION} with the provider (see above)" >&2; exit 1; }
    echo "uv failed; falling back to pip" >&2
    "$VENV/bin/python" -m pip install -q -e ".[dev]" >&2
  fi
  echo "$want" > "$stamp"
fi
