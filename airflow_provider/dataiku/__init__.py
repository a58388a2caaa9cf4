"""Dataiku DSS: scenarios, code studios and templates."""
