"""Aqueduct: experiments, files, tags and extension actions (both server generations)."""
