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


def _parts(scheme: str, uri: SplitResult) -> list[str]:
    if not uri.netloc:
        raise ValueError(f"URI format {scheme}:// must contain a host: {EXAMPLES[scheme]}")
    parts = [unquote(p) for p in uri.path.strip("/").split("/")] if uri.path.strip("/") else []
    for (pos, word), n_ids in SHAPES[scheme].items():
        if len(parts) == pos + 1 + n_ids and parts[pos] == word and all(parts):
            return parts
    raise ValueError(f"URI format {scheme}:// must be {EXAMPLES[scheme]}; got {uri.geturl()!r}")


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow calls this for every ``Asset(uri=...)`` of our schemes: validate and normalise."""
    parts = _parts(uri.scheme, uri)
    if uri.scheme == "dataiku" and len(parts) == 3:
        parts[0] = parts[0].upper()  # DSS project keys are upper case
    return uri._replace(netloc=uri.netloc.lower(), path="/" + "/".join(quote(p, safe="") for p in parts), query="", fragment="")


def asset_uri(scheme: str, host: str, *parts: str) -> str:
    raw = f"{scheme}://{host}/" + "/".join(quote(str(p), safe="") for p in parts)
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
