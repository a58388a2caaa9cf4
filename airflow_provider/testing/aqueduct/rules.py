"""The Aqueduct server's input rules, as the emulator applies them (read in aqueductcore 0.5.0 and main:
``services/validators.py``, ``services/experiment.py``, ``services/extensions.py``, ``routers/files.py``).

Each function raises :class:`RuleError` with the server's own message; the emulator turns it into a
GraphQL error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TEXT_MAX = {"title": 256, "description": 5000}
TITLE_FILTER_MAX = 64
TAG_MAX_LEN, TAGS_PER_EXPERIMENT = 64, 64
FILTER_TAGS_MAX, FILTER_MUST_TAGS_MAX = 10, 6
LIST_LIMIT = 500
ARCHIVED = "__archived__"
_TAG = re.compile(r"^[a-zA-Z0-9\-_:/]+$")


class RuleError(Exception):
    """An input the server refuses, with the server's message."""


def check(ok: bool, message: str) -> None:
    if not ok:
        raise RuleError(message)


def text(what: str, value: str | None, limit: int | None = None) -> None:
    """A title or a description (``None``: not given); ``limit`` overrides the field's own maximum."""
    limit = limit or TEXT_MAX[what]
    check(value is None or len(value) <= limit, f"{what.capitalize()} should be maximum {limit} characters long.")


def tag(value: str) -> str:
    check(bool(value), "Tag cannot be empty")
    check(len(value) <= TAG_MAX_LEN, f"Tag should be less than {TAG_MAX_LEN} characters long ")  # sic: the trailing space is the server's
    check(bool(_TAG.match(value)), "Tag can only contain alphanumeric characters, colons, hyphens, underscores and slashes")
    return value


def tag_list(values: Iterable[str], field: str, max_items: int | None = None) -> list[str]:
    """A list of tags checked the way pydantic's ``validate_call`` does (item rules, then ``max_length``)."""
    items = [tag(v) for v in values]
    # pydantic's ValidationError text, which strawberry passes on as the GraphQL message
    check(
        max_items is None or len(items) <= max_items,
        f"1 validation error for get_all_experiments\n{field}\n  List should have at most {max_items} items after validation, "
        f"not {len(items)} [type=too_long, input_value={items!r}, input_type=list]",
    )
    return items


def like(pattern: str, text: str, *, case_insensitive: bool) -> bool:
    """SQL ``LIKE``/``ILIKE`` as PostgreSQL runs it: ``%`` any run, ``_`` one character, ``\\`` escapes."""
    tokens = re.findall(r"\\.|.", pattern, re.DOTALL)  # an escaped character is one token (a trailing ``\`` is itself)
    regex = "".join(".*" if t == "%" else "." if t == "_" else re.escape(t[-1]) for t in tokens)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if case_insensitive else 0)) is not None


def is_archived(tag_keys: Iterable[str]) -> bool:
    """The server hides experiments with a tag key ``LIKE '__archived__'`` (``_`` is a wildcard there)."""
    return any(like(ARCHIVED, key, case_insensitive=False) for key in tag_keys)


_RESERVED_NAMES = {"CON", "PRN", "AUX", "CLOCK$", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
_BAD_FILE_CHARS = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


def file_name_ok(name: str) -> bool:
    """``pathvalidate.validate_filename`` with its default "universal" platform, as far as names go."""
    shape_ok = bool(name) and name not in (".", "..") and len(name.encode()) <= 255 and name[-1] not in " ."
    return shape_ok and not _BAD_FILE_CHARS.search(name) and name.split(".")[0].upper() not in _RESERVED_NAMES


def human_list(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c`` (the server's ``format_list_human_readable``)."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def parameter_value(data_type: str, value: str, options: list[str] | None) -> str:
    """An extension parameter checked and normalised as the server does before running the script:
    ``bool`` becomes ``"1"``/``"0"``; ``int``/``float`` are only checked (passed on as given)."""
    if data_type in ("int", "float"):
        try:
            (int if data_type == "int" else float)(value)
        except ValueError:
            raise RuleError(f"{value} is not {data_type}.") from None
    elif data_type == "bool":
        check(value.lower() in ("true", "1", "false", "0"), f"{value} is not a valid bool.")
        return "1" if value.lower() in ("true", "1") else "0"
    elif data_type == "experiment":
        parts = value.split("-")
        check(len(parts) == 2 and parts[0].isdecimal() and parts[1].isalnum(), f"{value} is not a valid EID.")
    elif data_type == "select":
        check(value in (options or []), f"{value} is not in {options}.")
    return value
