"""The Aqueduct server's input rules, as the emulator applies them (read in aqueductcore 0.5.0 and main:
``services/validators.py``, ``services/experiment.py``, ``services/extensions.py``, ``routers/files.py``).

Each function raises :class:`RuleError` with the server's own message; the emulator turns it into a
GraphQL error or an HTTP status.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TITLE_MAX, TITLE_FILTER_MAX, DESCRIPTION_MAX = 256, 64, 5000
TAG_MAX_LEN, TAGS_PER_EXPERIMENT = 64, 64
FILTER_TAGS_MAX, FILTER_MUST_TAGS_MAX = 10, 6
LIST_LIMIT = 500
ARCHIVED = "__archived__"
_TAG = re.compile(r"^[a-zA-Z0-9\-_:/]+$")


class RuleError(Exception):
    """An input the server refuses, with the server's message."""


def title(value: str, limit: int = TITLE_MAX) -> str:
    if len(value) > limit:
        raise RuleError(f"Title should be maximum {limit} characters long.")
    return value


def description(value: str) -> str:
    if len(value) > DESCRIPTION_MAX:
        raise RuleError(f"Description should be maximum {DESCRIPTION_MAX} characters long.")
    return value


def tag(value: str) -> str:
    if not value:
        raise RuleError("Tag cannot be empty")
    if len(value) > TAG_MAX_LEN:
        raise RuleError(f"Tag should be less than {TAG_MAX_LEN} characters long ")  # sic: the trailing space is the server's
    if not _TAG.match(value):
        raise RuleError("Tag can only contain alphanumeric characters, colons, hyphens, underscores and slashes")
    return value


def tag_list(values: Iterable[str], field: str, max_items: int | None = None) -> list[str]:
    """A list of tags checked the way pydantic's ``validate_call`` does (item rules, then ``max_length``)."""
    items = [tag(v) for v in values]
    if max_items is not None and len(items) > max_items:
        # pydantic's ValidationError text, which strawberry passes on as the GraphQL message
        raise RuleError(
            f"1 validation error for get_all_experiments\n{field}\n  List should have at most {max_items} items after validation, "
            f"not {len(items)} [type=too_long, input_value={items!r}, input_type=list]"
        )
    return items


def like(pattern: str, text: str, *, case_insensitive: bool) -> bool:
    """SQL ``LIKE``/``ILIKE`` as PostgreSQL runs it: ``%`` any run, ``_`` one character, ``\\`` escapes."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), text, re.DOTALL | (re.IGNORECASE if case_insensitive else 0)) is not None


def is_archived(tag_keys: Iterable[str]) -> bool:
    """The server hides experiments with a tag key ``LIKE '__archived__'`` (``_`` is a wildcard there)."""
    return any(like(ARCHIVED, key, case_insensitive=False) for key in tag_keys)


_RESERVED_NAMES = {"CON", "PRN", "AUX", "CLOCK$", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
_BAD_FILE_CHARS = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


def file_name_ok(name: str) -> bool:
    """``pathvalidate.validate_filename`` with its default "universal" platform, as far as names go."""
    if not name or name in (".", "..") or len(name.encode()) > 255:
        return False
    if _BAD_FILE_CHARS.search(name) or name[-1] in " .":
        return False
    return name.split(".")[0].upper() not in _RESERVED_NAMES


def human_list(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c`` (the server's ``format_list_human_readable``)."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def parameter_value(data_type: str, value: str, options: list[str] | None) -> str:
    """An extension parameter checked and normalised as the server does before running the script:
    ``bool`` becomes ``"1"``/``"0"``; ``int``/``float`` are only checked (passed on as given)."""
    if data_type == "int":
        try:
            int(value)
        except ValueError:
            raise RuleError(f"{value} is not int.") from None
    elif data_type == "float":
        try:
            float(value)
        except ValueError:
            raise RuleError(f"{value} is not float.") from None
    elif data_type == "bool":
        if value.lower() in ("true", "1"):
            return "1"
        if value.lower() in ("false", "0"):
            return "0"
        raise RuleError(f"{value} is not a valid bool.")
    elif data_type == "experiment":
        parts = value.split("-")
        if len(parts) != 2 or not parts[0].isdecimal() or not parts[1].isalnum():
            raise RuleError(f"{value} is not a valid EID.")
    elif data_type == "select" and value not in (options or []):
        raise RuleError(f"{value} is not in {options}.")
    return value
