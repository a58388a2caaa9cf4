"""Seed 000: code studios and their templates (hook methods, filled in by the code-studio work)."""

from __future__ import annotations


class CodeStudioCalls:
    pass
