"""Example DAGs, shipped in the wheel so the demo and users' tests find them without a checkout.

``DAGS_FOLDER`` is this directory: point Airflow's ``[core] dags_folder`` (or ``DagBag``) at it.
"""

from __future__ import annotations

from pathlib import Path

DAGS_FOLDER = Path(__file__).resolve().parent
