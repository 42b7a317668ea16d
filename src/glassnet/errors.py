"""Error types and the input checks shared by the model, the losses and the metrics.

Every message follows one template: what was expected, what was received, and the likely fix.
The types subclass the standard ``ValueError``/``TypeError`` so callers can catch those.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class ShapeError(ValueError):
    """An array has the wrong shape for the layer or model it was given to."""


class DataError(ValueError):
    """Training or evaluation data that cannot be used as given (NaN, wrong labels, empty...)."""


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite during training.

    Attributes
    ----------
    history : History
        The history up to the last finite epoch; the model holds that epoch's weights.
    """

    def __init__(self, message: str, history: object = None) -> None:
        super().__init__(message)
        self.history = history


def as_float_array(x: object, name: str, dtype: np.dtype) -> np.ndarray:
    """Convert ``x`` to a finite float array of ``dtype`` or raise a clear error.

    The array is not copied when it already has the right dtype.
    """
    if isinstance(x, np.ndarray) and x.dtype == dtype:
        array = x
    else:
        try:
            array = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"{name} must be a numeric array, got {type(x).__name__}: {error}"
            ) from None
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must be a numeric array, got dtype={array.dtype}. "
                "Convert strings or objects to numbers first "
                "(e.g. with np.asarray(..., dtype=float))."
            )
        array = array.astype(dtype, copy=False)
    # NOTE: a sum is NaN or inf whenever an entry is, so one cheap reduction clears the common
    # case; only a non-finite sum (maybe an overflow of finite values) needs the full check.
    # math.isfinite on the sum: np.isfinite on one scalar costs a one-sample prediction ~0.5 µs.
    if (
        array.size
        and not math.isfinite(np.add.reduce(array, axis=None))
        and (not np.isfinite(array).all())
    ):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise DataError(
            f"{name} contains NaN or infinite values "
            f"(first at index {tuple(int(i) for i in bad)}). "
            "Remove or impute missing values before training."
        )
    return array


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int, or raise if it is not a whole number ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {name}={value!r}.")
    return int(value)


def check_real(
    value: object, name: str, low: float | None = None, high: float | None = None
) -> float:
    """Return ``value`` as a float if it is a real number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {name}={value!r}.")
    number = float(value)
    if not np.isfinite(number):
        raise TypeError(f"{name} must be a finite real number, got {name}={value!r}.")
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{name} must be in {bounds}, got {name}={value!r}.")
    return number
