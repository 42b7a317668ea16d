"""Checks of the data a model is given: inputs of the right shape, targets that fit the outputs.

Every message says what was expected, what was received and the likely fix. The checks run once
per call of `fit`, `predict` or `evaluate`, never per batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DataError, ShapeError, as_float_array
from ..losses import check_class_ids


def check_inputs(
    X: Any, input_shape: tuple[int, ...], dtype: np.dtype, name: str = "X"
) -> np.ndarray:
    """``X`` as a finite float batch of ``(n, *input_shape)``, or a clear error.

    A single sample (``X.shape == input_shape``) becomes a batch of one; for one input feature,
    a vector of n numbers becomes n samples.
    """
    X = as_float_array(X, name, dtype)
    if X.ndim == 1 and input_shape == (1,):
        X = X[:, None]
    elif X.shape == input_shape:
        X = X[None]
    if X.shape[1:] != input_shape or X.ndim < 2:
        raise ShapeError(_input_shape_message(X.shape, input_shape, name))
    if len(X) == 0:
        raise DataError(f"{name} is empty: there are no samples to work on.")
    return X


def _input_shape_message(got: tuple[int, ...], input_shape: tuple[int, ...], name: str) -> str:
    per_sample = math.prod(got[1:]) if len(got) > 1 else None
    if len(input_shape) == 1:
        hint = ""
        if len(got) > 2 and per_sample == input_shape[0]:
            hint = f" Did you forget to flatten the images? Use {name}.reshape(len({name}), -1)."
        return (
            f"The model's first layer expects {input_shape[0]} input features, got {name} "
            f"with shape {got}.{hint}"
        )
    wanted = ", ".join(map(str, input_shape))
    hint = ""
    if per_sample == math.prod(input_shape):
        hint = f" Reshape with {name}.reshape(-1, {wanted})."
    return (
        f"The model expects inputs of shape (batch, {wanted}), got {name} with shape {got}.{hint}"
    )


def check_targets(
    y: Any, n_samples: int, output: str, n_outputs: int, dtype: np.dtype, name: str = "y"
) -> np.ndarray:
    """Targets that fit a model's outputs: class ids or one-hot rows (softmax), 0/1 labels or
    probabilities (sigmoid), values (identity); or a clear error."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be numeric, got dtype={y.dtype}. Map string labels to class ids "
            "first (e.g. with np.unique(labels, return_inverse=True))."
        )
    if len(y) != n_samples:
        raise DataError(
            f"X has {n_samples} samples but {name} has {len(y)} labels; they must match one to one."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError(f"{name} contains NaN or infinite values.")
    if output == "softmax" and y.ndim == 1:
        if y.dtype.kind == "f":
            if not np.array_equal(y, np.round(y)):
                raise DataError(
                    f"{name} holds float labels that are not whole numbers "
                    f"(e.g. {y[y != np.round(y)][0]!r}); class labels must be integers "
                    "0 … n_classes − 1."
                )
        y = y.astype(np.intp)
        check_class_ids(y, n_outputs)
        return y
    y = y.astype(dtype, copy=False)
    if y.ndim == 1 and n_outputs == 1:
        y = y[:, None]
    if y.shape != (n_samples, n_outputs):
        raise ShapeError(
            f"{name} must have shape ({n_samples}, {n_outputs}) to match the "
            f"{n_outputs} outputs, got {y.shape}."
        )
    if output == "sigmoid" and (y.min() < 0 or y.max() > 1):
        raise DataError(f"{name} must hold 0/1 labels (or probabilities) for a sigmoid output.")
    return y
