"""What every run operator tells Airflow about the remote run: an outlet asset event, and OpenLineage facets.

* The operator declares one outlet asset per platform scheme (``common/assets.py``), taken when the
  DAG file is parsed from the operator's static identity (a templated identity gets none: the outlet
  could not follow the rendered value) and built on the first read of ``outlets``. On success its event's ``extra`` holds the remote run id,
  outcome and URL, so downstream DAGs can ``schedule=[asset]``.
* OpenLineage (optional extra ``openlineage``, imported only inside these methods): the asset as
  output dataset; ``externalQuery`` (remote run id, platform URI) and a ``remoteRun`` run facet
  (platform, ids, outcome, URL, error); a ``remoteJob`` job facet with the platform as namespace.
  The OpenLineage adapter writes ``errorMessage`` itself from the exception, whose text carries the
  platform's error details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider.common.assets import create_asset

if TYPE_CHECKING:
    from airflow.sdk import Asset, Context

    from airflow_provider.common.jobs import JobStatus, Ref


def run_id_of(ref: Ref) -> str:
    for key in ("run_id", "task_id", "id"):
        if ref.get(key):
            return str(ref[key])
    return ""


class RemoteRunLineageMixin:
    """Mixed into :class:`~airflow_provider.common.operator.RemoteJobOperator`."""

    #: the platform's asset scheme, also the OpenLineage job namespace's scheme
    asset_scheme: ClassVar[str | None] = None
    conn_id: str
    emit_asset: bool
    asset_host: str | None
    log: Any

    def asset_parts(self) -> Sequence[str] | None:
        """The path of this operator's asset after the host (``PROJECT, "scenarios", ID``); None: no asset."""
        return None

    def _asset_pieces(self) -> tuple[str, ...] | None:
        """Host and path of this operator's asset, or None: no asset (none declared, or templated)."""
        parts = self.asset_parts()
        if not self.asset_scheme or not parts or None in parts:
            return None
        pieces = (str(self.asset_host or self.conn_id), *map(str, parts))
        return None if "{{" in "\0".join(pieces) else pieces

    def platform_asset(self) -> Asset | None:
        pieces = self._asset_pieces()
        return None if pieces is None else create_asset(str(self.asset_scheme), *pieces)

    def declare_platform_asset(self) -> None:
        """Call at the end of a subclass ``__init__`` (the identity fields are set by then).

        The asset's host and path are taken now; the ``Asset`` itself is built the first time
        :attr:`outlets` is read (when the DAG is serialised, when the task runs), so a worker
        that parses a DAG file to run one of its tasks builds one asset, not one per task.
        """
        pieces = self._asset_pieces() if self.emit_asset else None
        if pieces is not None:
            self.__dict__["_pending_asset"] = pieces

    @property
    def outlets(self) -> list[Any]:
        """BaseOperator's ``outlets``, plus the declared platform asset (built on the first read)."""
        outlets: list[Any] = self.__dict__.setdefault("_outlets", [])
        pieces = self.__dict__.pop("_pending_asset", None)
        if pieces is not None:
            asset = create_asset(str(self.asset_scheme), *pieces)
            if asset not in outlets:
                outlets.append(asset)
        return outlets

    @outlets.setter
    def outlets(self, value: list[Any]) -> None:
        # assigning outlets replaces them, as it did when the asset was added in __init__
        self.__dict__.pop("_pending_asset", None)
        self.__dict__["_outlets"] = value

    # --- what happened remotely ----------------------------------------------------------
    def record_remote_outcome(self, ref: Ref, status: JobStatus | None, url: str | None, error: str | None = None) -> None:
        self._remote_outcome = {
            "platform": self.asset_scheme,
            "run_id": run_id_of(ref),
            "outcome": status.state if status is not None else "SUBMITTED",
            "phase": status.phase.value if status is not None else None,
            "url": url,
            "ref": dict(ref),
            **({"error": error} if error else {}),
        }

    @property
    def remote_outcome(self) -> dict[str, Any] | None:
        return getattr(self, "_remote_outcome", None)

    def asset_event_extra(self) -> dict[str, Any]:
        out = dict(self.remote_outcome or {})
        out.pop("error", None)
        return out

    def post_execute(self, context: Context, result: Any = None) -> None:
        """Runs after a successful ``execute`` or deferred resume: fill the outlet event's extra."""
        asset = self.platform_asset() if self.emit_asset else None
        if asset is not None and self.remote_outcome is not None:
            context["outlet_events"][asset].extra = self.asset_event_extra()

    # --- OpenLineage ---------------------------------------------------------------------
    def _ol_outputs(self) -> list[Any]:
        from airflow_provider.common.assets import convert_asset_to_openlineage

        asset = self.platform_asset() if self.emit_asset else None
        return [convert_asset_to_openlineage(asset, None)] if asset is not None else []

    def _ol_namespace(self) -> str:
        asset = self.platform_asset()
        if asset is not None:
            from urllib.parse import urlsplit

            uri = urlsplit(asset.uri)
            return f"{uri.scheme}://{uri.netloc}"
        return f"{self.asset_scheme}://{self.asset_host or self.conn_id}"

    def get_openlineage_facets_on_start(self) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_provider.common.lineage_facets import RemoteJobFacet

        asset = self.platform_asset()
        name = asset.uri.split("://", 1)[1].split("/", 1)[1] if asset is not None else type(self).__name__
        return OperatorLineage(
            outputs=self._ol_outputs(), job_facets={"remoteJob": RemoteJobFacet(platform=str(self.asset_scheme), namespace=self._ol_namespace(), name=name)}
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.common.compat.openlineage.facet import ExternalQueryRunFacet

        from airflow_provider.common.lineage_facets import RemoteRunFacet

        lineage = self.get_openlineage_facets_on_start()
        outcome = self.remote_outcome
        if outcome:
            lineage.run_facets["externalQuery"] = ExternalQueryRunFacet(externalQueryId=outcome["run_id"], source=self._ol_namespace())
            lineage.run_facets["remoteRun"] = RemoteRunFacet(
                platform=str(outcome["platform"]), runId=outcome["run_id"], outcome=outcome["outcome"], url=outcome["url"],
                ids={k: v for k, v in outcome["ref"].items() if isinstance(v, str | int | float | bool)}, error=outcome.get("error"),
            )  # fmt: skip
        return lineage

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_complete(task_instance)
