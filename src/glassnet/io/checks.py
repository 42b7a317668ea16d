"""Small checks of untrusted JSON values, shared by every part of a file's validation."""

from __future__ import annotations

from typing import Any

from .errors import Invalid

MAX_NAME = 256  # characters in a tensor, layer or class name, and in a text option


def is_int(value: Any) -> bool:
    """A JSON integer (``type(value) is int``: booleans excluded)."""
    return type(value) is int


def is_number(value: Any) -> bool:
    """A JSON number, integer or real (booleans excluded)."""
    return type(value) in (int, float)


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (file contents can be huge)."""
    return clip(repr(value), limit)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_keys(mapping: dict[str, Any], allowed: set[str], required: set[str], what: str) -> None:
    """Refuse unknown fields and missing required ones in a JSON object from a file."""
    unknown = set(mapping) - allowed
    if unknown:
        raise Invalid(f"{what} has unknown fields {short(sorted(unknown))}")
    missing = required - set(mapping)
    if missing:
        raise Invalid(f"{what} lacks the fields {sorted(missing)}")


def check_name(name: Any, what: str) -> None:
    """A name from a file: a printable string of 1 to `MAX_NAME` characters."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise Invalid(
            f"{what} {short(name)} is not a printable string of 1 to {MAX_NAME} characters"
        )
