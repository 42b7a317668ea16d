"""Checks on the numbers a request sends: lists of numbers, drawings, whole numbers.

Each returns the checked value or raises `LabError` (422) naming the field and what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np

from .replies import LabError

MAX_DRAWING_SIDE = 1024


def numbers(value: Any, name: str) -> np.ndarray:
    """A JSON list (of lists) of finite numbers as a float64 array, or a 422 saying why not."""
    if not isinstance(value, list):
        raise LabError(422, f"{name} must be a list of numbers, got {type(value).__name__}.")
    try:
        array = np.asarray(value)
    except ValueError:
        message = f"{name} must be a rectangular list of numbers (rows of one length)."
        raise LabError(422, message) from None
    if array.dtype.kind not in "iuf":
        raise LabError(
            422, f"{name} must hold only numbers (and rows of one length), found {_culprit(value)}."
        )
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise LabError(422, f"{name} holds a number too large to be finite.")
    return array


def _culprit(value: Any) -> str:
    """The first non-number in a nested list, for the error message."""
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            if stack and isinstance(stack[0], list) and len(item) != len(stack[0]):
                return "rows of different lengths"
            stack[:0] = item
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return f"{json.dumps(item)!s:.40}"
    return "nested lists of different depths"


def drawing(value: Any) -> np.ndarray:
    """A drawing: 2-D ink levels 0–255 from a list of rows or ``{"width", "height", "data"}``."""
    if isinstance(value, dict):
        unknown = set(value) - {"width", "height", "data"}
        if unknown:
            raise LabError(422, f"image has unknown keys {sorted(unknown)}; expected width, "
                           "height and data (base64 bytes).")  # fmt: skip
        width, height = (
            whole_number(value.get("width"), "image.width"),
            whole_number(value.get("height"), "image.height"),
        )
        _check_side(height, width)
        data = value.get("data")
        if not isinstance(data, str):
            raise LabError(422, "image.data must be a base64 string of width × height bytes.")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise LabError(422, "image.data is not valid base64.") from None
        if len(raw) != width * height:
            raise LabError(
                422,
                f"image.data holds {len(raw)} bytes; a {width}×{height} image needs "
                f"{width * height} (one ink level 0–255 per pixel, row by row).",
            )
        return np.frombuffer(raw, np.uint8).reshape(height, width)
    array = numbers(value, "image")
    if array.ndim != 2:
        raise LabError(
            422, f"image must be a list of rows (2-D), got {array.ndim} dimension(s) of numbers."
        )
    _check_side(*array.shape)
    if array.min() < 0 or array.max() > 255:
        raise LabError(422, "image holds ink levels outside 0–255 (0 is background).")
    return array


def picture(value: Any) -> np.ndarray:
    """An uploaded image: ``{"width", "height", "channels": 1 | 3, "data": base64}``, uint8."""
    if not isinstance(value, dict) or set(value) - {"width", "height", "channels", "data"}:
        raise LabError(
            422, "picture must be an object with width, height, channels (1 or 3) and data "
            "(base64 bytes, row by row).",
        )  # fmt: skip
    width = whole_number(value.get("width"), "picture.width", 1, MAX_DRAWING_SIDE)
    height = whole_number(value.get("height"), "picture.height", 1, MAX_DRAWING_SIDE)
    channels = whole_number(value.get("channels", 1), "picture.channels", 1, 3)
    if channels == 2:
        raise LabError(422, "picture.channels must be 1 (grey) or 3 (RGB), got 2.")
    data = value.get("data")
    if not isinstance(data, str):
        raise LabError(422, "picture.data must be a base64 string of the pixels' bytes.")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise LabError(422, "picture.data is not valid base64.") from None
    if len(raw) != width * height * channels:
        raise LabError(
            422,
            f"picture.data holds {len(raw)} bytes; a {width}×{height} image with {channels} "
            f"channel(s) needs {width * height * channels}.",
        )
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(raw, np.uint8).reshape(shape)


def row(value: Any, columns: list[str]) -> dict[str, Any]:
    """A table row: ``{column: number or text}`` with exactly the model's columns."""
    if not isinstance(value, dict):
        raise LabError(422, f"row must be an object {{column: value}} for the columns {columns}.")
    missing = [c for c in columns if c not in value]
    unknown = sorted(set(value) - set(columns))
    if missing or unknown:
        raise LabError(
            422, f"row must give exactly the columns {columns}; missing {missing}, unknown "
            f"{unknown[:5]}.",
        )  # fmt: skip
    for name, cell in value.items():
        if (
            isinstance(cell, bool)
            or not isinstance(cell, (int, float, str))
            or (isinstance(cell, str) and len(cell) > 200)
        ):
            raise LabError(422, f"row[{json.dumps(name)}] must be a number or a short text.")
    return value


def _check_side(height: int, width: int) -> None:
    low, high = 28, MAX_DRAWING_SIDE
    if not (low <= height <= high and low <= width <= high):
        sizes = f"{low}×{low} and {high}×{high}"
        raise LabError(422, f"image must be between {sizes} pixels, got {width}×{height}.")


def whole_number(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """An int (not a bool) in ``[low, high]`` where those are given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LabError(422, f"{name} must be a whole number, got {json.dumps(value)}.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise LabError(422, f"{name} must be from {low} to {high}, got {value}.")
    return value
