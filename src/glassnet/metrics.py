"""Metrics: how good the predictions are, for classification and for regression.

All functions take ``(y_true, y_pred)`` as arrays of the same length and are vectorised.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ShapeError


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]
    if y_true.shape != y_pred.shape:
        raise ShapeError(
            f"y_true and y_pred must have the same shape, got y_true.shape={y_true.shape} and "
            f"y_pred.shape={y_pred.shape}."
        )
    if y_true.size == 0:
        raise ValueError("Metrics need at least one sample, got empty arrays.")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """The fraction of predictions equal to the truth."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Counts C[i, j] of samples of true class i predicted as class j.

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1
    if min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= n_classes:
        raise ValueError(f"Class ids must be in [0, {n_classes - 1}] for n_classes={n_classes}.")
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def precision_recall_f1(y_true, y_pred, n_classes: int | None = None) -> dict[str, Any]:
    """Per-class precision, recall and F1, and their unweighted (macro) means.

    precision_k = TP_k / (TP_k + FP_k),  recall_k = TP_k / (TP_k + FN_k),
    F1_k = 2·precision_k·recall_k / (precision_k + recall_k);  0 where a denominator is 0.

    Returns
    -------
    dict with "precision", "recall", "f1" (floats, macro averages) and "per_class" holding arrays
    of shape (n_classes,) under the same keys plus "support" (true samples per class).
    """
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    true_positive = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(actual > 0, true_positive / actual, 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / total, 0.0)
    return {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "per_class": {"precision": precision, "recall": recall, "f1": f1, "support": actual},
    }


def mean_squared_error(y_true, y_pred) -> float:
    """mean((y_true − y_pred)²)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


def mean_absolute_error(y_true, y_pred) -> float:
    """mean(|y_true − y_pred|)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def r2_score(y_true, y_pred) -> float:
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²: the fraction of the variance explained (1 is perfect).

    With several outputs, the mean of the per-output scores. A constant target gives 1.0 if it is
    predicted exactly and 0.0 otherwise.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    residual = ((y_true - y_pred) ** 2).sum(axis=0)
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(total > 0, 1.0 - residual / total, np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))
