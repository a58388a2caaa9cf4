"""Asset URIs of remote work, one scheme per platform, registered in ``get_provider_info()["asset-uris"]``.

::

    dataiku://HOST/PROJECT/scenarios/SCENARIO_ID     (also .../datasets/NAME, .../code-studios/ID,
                                                      code-studio-templates/ID)
    digitalhub://HOST/PROJECT/tasks/TASK_ID           (also .../functions/NAME)
    paddleflow://HOST/pipelines/PIPELINE_ID           (also runs/RUN_NAME)
    aqueduct://HOST/extensions/EXTENSION/ACTION       (also experiments/EID, tags/TAG)

``HOST`` names the platform instance. Operators use their connection id unless given
``asset_host=`` (outlets are fixed when the DAG file is parsed, so no connection is looked up then).
The asset's ``name`` is its normalised URI, so two spellings never make two assets.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

if TYPE_CHECKING:
    from airflow.sdk import Asset

#: scheme -> allowed shapes of the path segments after the host: (collection, number of ids)
SHAPES: dict[str, dict[tuple[int, str], int]] = {
    # (position of the collection word, the word) -> ids after it
    "dataiku": {(1, "scenarios"): 1, (1, "datasets"): 1, (1, "code-studios"): 1, (0, "code-studio-templates"): 1},
    "digitalhub": {(1, "tasks"): 1, (1, "functions"): 1},
    "paddleflow": {(0, "pipelines"): 1, (0, "runs"): 1},
    "aqueduct": {(0, "extensions"): 2, (0, "experiments"): 1, (0, "tags"): 1},
}
EXAMPLES = {
    "dataiku": "dataiku://HOST/PROJECT/scenarios/SCENARIO_ID",
    "digitalhub": "digitalhub://HOST/PROJECT/tasks/TASK_ID",
    "paddleflow": "paddleflow://HOST/pipelines/PIPELINE_ID or paddleflow://HOST/runs/RUN_NAME",
    "aqueduct": "aqueduct://HOST/extensions/EXTENSION/ACTION",
}

_SEGMENT = r"[A-Za-z0-9_.~-]+"
#: a host or path segment that quoting, unquoting and Airflow's URI clean-up all leave as it is
PLAIN = re.compile(_SEGMENT)
#: a path made of such segments: nothing to unquote
PLAIN_PATH = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


def _fits(scheme: str, parts: list[str]) -> bool:
    return all(parts) and any(len(parts) == pos + 1 + n_ids and parts[pos] == word for (pos, word), n_ids in SHAPES[scheme].items())


def _normalised_path(scheme: str, parts: list[str]) -> str:
    if scheme == "dataiku" and len(parts) == 3:
        parts = [parts[0].upper(), *parts[1:]]  # DSS project keys are upper case
    return "/" + "/".join(parts if all(PLAIN.fullmatch(p) for p in parts) else [quote(p, safe="") for p in parts])


def _parts(scheme: str, uri: SplitResult) -> list[str]:
    if not uri.netloc:
        raise ValueError(f"URI format {scheme}:// must contain a host: {EXAMPLES[scheme]}")
    path = uri.path.strip("/")
    parts = (path.split("/") if PLAIN_PATH.fullmatch(path) else [unquote(p) for p in path.split("/")]) if path else []
    if not _fits(scheme, parts):
        raise ValueError(f"URI format {scheme}:// must be {EXAMPLES[scheme]}; got {uri.geturl()!r}")
    return parts


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow calls this for every ``Asset(uri=...)`` of our schemes: validate and normalise."""
    path = _normalised_path(uri.scheme, _parts(uri.scheme, uri))
    return uri._replace(netloc=uri.netloc.lower(), path=path, query="", fragment="")


def asset_uri(scheme: str, host: str, *parts: str) -> str:
    """The normalised URI: what :func:`sanitize_uri` makes of ``scheme://host/part/...``.

    Every run operator builds one when its DAG file is parsed, so a plain host and a valid shape
    skip the split/unquote/quote round trip (same result: tests/events/test_asset_uris.py).
    """
    segments = [str(p) for p in parts]
    if PLAIN.fullmatch(host) and _fits(scheme, segments):
        return f"{scheme}://{host.lower()}{_normalised_path(scheme, segments)}"
    raw = f"{scheme}://{host}/" + "/".join(quote(p, safe="") for p in segments)
    return sanitize_uri(urlsplit(raw)).geturl()


def create_asset(scheme: str, host: str, *parts: str, extra: dict[str, Any] | None = None, **kwargs: Any) -> Asset:
    """``create_asset("dataiku", "dss", "DEMO", "scenarios", "BUILD")``: name and URI both normalised."""
    from airflow.sdk import Asset

    uri = asset_uri(scheme, host, *parts)
    return Asset(name=uri, uri=uri, extra=extra, **kwargs)


def dataiku_scenario_asset(host: str, project_key: str, scenario_id: str, **kwargs: Any) -> Asset:
    return create_asset("dataiku", host, project_key, "scenarios", scenario_id, **kwargs)


def digitalhub_task_asset(host: str, project: str, task_id: str, **kwargs: Any) -> Asset:
    return create_asset("digitalhub", host, project, "tasks", task_id, **kwargs)


def paddleflow_asset(host: str, *, pipeline_id: str | None = None, run_name: str | None = None, **kwargs: Any) -> Asset:
    if pipeline_id:
        return create_asset("paddleflow", host, "pipelines", pipeline_id, **kwargs)
    if run_name:
        return create_asset("paddleflow", host, "runs", run_name, **kwargs)
    raise ValueError("paddleflow_asset needs pipeline_id or run_name")


def aqueduct_action_asset(host: str, extension: str, action: str, **kwargs: Any) -> Asset:
    return create_asset("aqueduct", host, "extensions", extension, action, **kwargs)


def convert_asset_to_openlineage(asset: Any, lineage_context: Any) -> Any:
    """OpenLineage dataset: namespace ``<scheme>://<host>``, name the path (``PROJECT/scenarios/ID``)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset  # lazy: OpenLineage is optional

    uri = urlsplit(asset.uri)
    return Dataset(namespace=f"{uri.scheme}://{uri.netloc}", name=unquote(uri.path.strip("/")))


def provider_info() -> list[dict[str, Any]]:
    return [
        {
            "schemes": [scheme],
            "handler": "airflow_provider.common.assets.sanitize_uri",
            "to_openlineage_converter": "airflow_provider.common.assets.convert_asset_to_openlineage",
        }
        for scheme in SHAPES
    ]
