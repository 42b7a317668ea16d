"""Parsing JSON from a file that may be hostile: bounded depth, no duplicate keys, sane numbers.

`json.loads` alone would recurse once per nesting level (a ``RecursionError`` on ``[[[[...``),
silently keep the last of two equal keys, accept ``NaN`` and ``Infinity``, and spend quadratic
time converting a 100,000-digit integer. `parse_json` refuses all of these with an `Invalid`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .checks import clip, short
from .errors import Invalid

MAX_JSON_DEPTH = 64
# JSON values a document may hold: a model's header has a few per tensor and its document a
# few per layer and per history entry. Python spends ~60 bytes per value (a 16 MB list of `{}`
# would take 400 MB and 25 s to parse), so the count is bounded before parsing.
MAX_JSON_VALUES = 1_000_000
MAX_NUMBER_TEXT = 60  # characters in a JSON number
SCAN_CHUNK = 1 << 20  # bytes the nesting scan looks at in one NumPy pass


def parse_json(raw: bytes, what: str) -> Any:
    """Parse untrusted JSON: UTF-8, nesting ≤ `MAX_JSON_DEPTH`, no duplicate keys, no NaN."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"{what} is not valid UTF-8 ({error.reason} at byte {error.start})"
        raise Invalid(reason) from None
    # Every value after the first in a list or object follows a comma, and every container opens
    # with a bracket: their count bounds the values. Counted in strings too first (C speed),
    # then exactly, outside strings, only when that rough count is over the limit.
    values = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if values > MAX_JSON_VALUES:
        values = structural_count(raw)
    if values > MAX_JSON_VALUES:
        raise Invalid(
            f"{what} holds about {values:,} JSON values, more than the {MAX_JSON_VALUES:,} a "
            "glassnet file needs"
        )
    nesting = nesting_problem(raw, MAX_JSON_DEPTH)
    if nesting:
        raise Invalid(f"{what} {nesting}")
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
        )
    except RecursionError:  # cannot happen after the scan; kept as a last line of defence
        raise Invalid(f"{what} is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and the hooks' errors
        raise Invalid(f"{what} is not valid JSON: {clip(str(error), 120)}") from None


def nesting_problem(raw: bytes, limit: int) -> str | None:
    """How JSON text ``raw`` nests too deeply (or has unbalanced brackets), or None.

    A linear scan (time and memory proportional to the text, in C-speed NumPy chunks) run before
    ``json.loads`` so that parsing can never recurse deeply. Brackets inside strings do not count.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None  # the depth cannot exceed the number of opening brackets
    # JSON escapes are read two characters at a time from the left, so once every "\\" pair and
    # then every '\"' pair is removed, each remaining quote opens or closes a string.
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    depth, in_string = 0, 0
    for start in range(0, len(text), SCAN_CHUNK):
        chunk = np.frombuffer(text, np.uint8, min(SCAN_CHUNK, len(text) - start), start)
        quotes = chunk == ord('"')
        # Inside a string after an odd number of quotes (a uint8 sum wraps but keeps parity).
        outside = (np.cumsum(quotes, dtype=np.uint8) + in_string) % 2 == 0
        step = ((chunk == ord("[")) | (chunk == ord("{"))).astype(np.int8)
        step -= (chunk == ord("]")) | (chunk == ord("}"))
        step *= outside
        # NOTE: an int8 running depth wraps only past ±127, and the depth moves by one per
        # bracket, so any excursion beyond `limit` (≤ 64) or below 0 is recorded before a wrap.
        level = np.cumsum(step, dtype=np.int8)
        if depth + int(level.max()) > limit:
            return f"is nested more than {limit} levels deep"
        if depth + int(level.min()) < 0:
            return "is not valid JSON: a bracket closes that was never opened"
        depth += int(level[-1])
        in_string = (in_string + int(np.count_nonzero(quotes))) % 2
    return None


def structural_count(raw: bytes) -> int:
    """Commas and opening brackets of JSON text ``raw`` outside strings (linear, in chunks)."""
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")  # as in `nesting_problem`
    count, in_string = 0, 0
    for start in range(0, len(text), SCAN_CHUNK):
        chunk = np.frombuffer(text, np.uint8, min(SCAN_CHUNK, len(text) - start), start)
        quotes = chunk == ord('"')
        outside = (np.cumsum(quotes, dtype=np.uint8) + in_string) % 2 == 0
        marks = (chunk == ord(",")) | (chunk == ord("[")) | (chunk == ord("{"))
        count += int(np.count_nonzero(marks & outside))
        in_string = (in_string + int(np.count_nonzero(quotes))) % 2
    return count


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {short(key)}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_TEXT:
        raise ValueError(f"a number with {len(text)} digits")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_TEXT:
        raise ValueError(f"a number written with {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{short(text)} is out of the float range")
    return value
