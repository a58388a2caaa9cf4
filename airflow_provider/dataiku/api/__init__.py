"""Dataiku DSS public API: endpoint flows (no I/O) and models."""
