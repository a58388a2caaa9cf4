"""The extra links of this platform's operators and sensors (one class per label: Airflow keys a
task's links by name and registers them by class path)."""

from __future__ import annotations

from airflow_provider.common.links import RemoteRunLink


class DigitalHubRunLink(RemoteRunLink):
    name = "DigitalHub run"
