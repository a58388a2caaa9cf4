"""Aqueduct's files routes (seed 003; wire: reference/aqueduct.md §3.4): upload, list, download, remove."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from airflow_provider.aqueduct.api.experiments import get_experiment_by_uuid
from airflow_provider.aqueduct.api.extensions import EXECUTE_TIMEOUT
from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Call, Flow
from airflow_provider.common.transport import quote_segment as q


# --- files -------------------------------------------------------------------------------
def upload_file(uuid: str, path: str | Path) -> Flow[str]:
    local = Path(path)
    if not local.is_file():
        raise ConfigError(f"file {str(local)!r} does not exist (nothing was uploaded)")
    name = local.name
    # Aqueduct stores the file under the file_name header, not the multipart filename
    answer = yield Call(
        "POST", f"/api/files/{q(uuid)}", headers={"file_name": name}, files={"file": (name, local.read_bytes(), "application/octet-stream")}, idempotent=True
    )
    return str((answer or {}).get("result", ""))


def list_files(uuid: str) -> Flow[list[dict[str, Any]]]:
    experiment = yield from get_experiment_by_uuid(uuid)
    return experiment.files


def download_file(uuid: str, name: str, dest_dir: str | Path) -> Flow[str]:
    """Fetch a file and write it to ``dest_dir/name`` only once the whole answer arrived with a 2xx
    (the official client writes the server's 404 body into the file)."""
    content = yield Call("GET", f"/api/files/{q(uuid)}/{q(name)}", expect="bytes", read_timeout=EXECUTE_TIMEOUT)
    target_dir = Path(dest_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".{name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    target = target_dir / name
    os.replace(tmp, target)
    return str(target)


def remove_files(uuid: str, files: list[str]) -> Flow[str]:
    answer = yield Call("POST", f"/api/files/{q(uuid)}/delete_files", json={"file_list": list(files)}, idempotent=True)
    return str((answer or {}).get("result", ""))
