"""Preparing arrays for training: split, standardise, one-hot encode, and mini-batches."""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from ._errors import DatasetError

__all__ = ["Standardizer", "one_hot", "train_test_split"]


def _check_rows(X: np.ndarray, y: np.ndarray | None, where: str) -> None:
    if X.ndim < 1:
        raise DatasetError(f"{where} expects X with one row per sample, got a scalar.")
    if y is not None and y.shape[:1] != X.shape[:1]:
        raise DatasetError(
            f"{where} expects one target per row of X, got X.shape={X.shape} and "
            f"y.shape={y.shape}. Check that X and y come from the same data set."
        )


def _n_test(n: int, test_size: float | int) -> int:
    if isinstance(test_size, Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, Real) and 0 < float(test_size) < 1:
        n_test = math.ceil(float(test_size) * n)
    else:
        raise DatasetError(
            "train_test_split expects test_size as a fraction in (0, 1) or a count of "
            f"samples, got test_size={test_size!r}."
        )
    if not 1 <= n_test <= n - 1:
        raise DatasetError(
            f"train_test_split expects a test set of 1 to {n - 1} samples (n={n}), got "
            f"test_size={test_size!r} -> {n_test} samples. Use a test_size in (0, 1)."
        )
    return n_test


def _stratified_test_mask(y: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask over a shuffled order picking ``n_test`` samples in class proportions.

    Each class c with count n_c gets floor(n_c * n_test / n) test samples, and the samples
    left over go to the classes with the largest remainders, so every class is within one
    sample of its exact share and the total is exactly ``n_test``.
    """
    n = y.shape[0]
    _, cls, counts = np.unique(y, return_inverse=True, return_counts=True)
    cls = cls.ravel()
    # Integer arithmetic: quota = floor(n_c * n_test / n), remainder = the fractional part * n.
    quota, remainder = np.divmod(counts.astype(np.int64) * n_test, n)
    leftover = n_test - int(quota.sum())
    # Largest remainders first; ties broken at random so no class is always favoured.
    order = np.lexsort((rng.random(counts.size), -remainder))
    quota[order[:leftover]] += 1
    # Rank of each sample within its class (the order is already shuffled): test if rank < quota.
    by_class = np.argsort(cls, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[by_class] = np.arange(n) - starts[cls[by_class]]
    return rank < quota[cls]


def train_test_split(
    X: np.ndarray,
    y: np.ndarray,
    test_size: float | int = 0.2,
    stratify: bool = True,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split samples into a training and a test set, keeping class proportions.

    Parameters
    ----------
    X : numpy.ndarray
        Shape ``(n, ...)``: one row (or image) per sample.
    y : numpy.ndarray
        Shape ``(n,)``. Integer, bool or string labels are split per class when
        ``stratify=True``; float targets (regression) are shuffled without stratifying.
    test_size : float or int
        Fraction of samples in the test set (rounded up), or their number.
    stratify : bool
        Give each class the same share in both sets (within one sample per class).
    seed : int or None
        Seed for ``np.random.default_rng``: the same seed gives the same split.

    Returns
    -------
    X_train, X_test, y_train, y_test : numpy.ndarray
        Rows of ``X`` and ``y`` (copies), each set in shuffled order.

    Examples
    --------
    >>> X = np.arange(20, dtype=np.float32).reshape(10, 2)
    >>> y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4)
    >>> X_train.shape, X_test.shape, np.bincount(y_test).tolist()
    ((6, 2), (4, 2), [2, 2])
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_rows(X, y, "train_test_split")
    n = X.shape[0]
    n_test = _n_test(n, test_size)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # shuffle indices, never the data
    if stratify and y.dtype.kind in "biuUSO":
        in_test = _stratified_test_mask(y[order], n_test, rng)
        test_idx, train_idx = order[in_test], order[~in_test]
        # The mask keeps the shuffled order within each set.
    else:
        test_idx, train_idx = order[:n_test], order[n_test:]
    return (
        np.take(X, train_idx, axis=0),
        np.take(X, test_idx, axis=0),
        np.take(y, train_idx, axis=0),
        np.take(y, test_idx, axis=0),
    )


class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1: ``z = (x - mean) / scale``.

    ``mean`` and ``scale`` (the standard deviation, or 1 for a constant feature so it is not
    divided by zero) are learnt from the training set by :meth:`fit` and reused unchanged on
    validation, test and new data.

    Attributes
    ----------
    mean : numpy.ndarray or None
        ``float32``, shape ``(n_features,)``; None before :meth:`fit`.
    scale : numpy.ndarray or None
        ``float32``, shape ``(n_features,)``, all > 0; None before :meth:`fit`.

    Examples
    --------
    >>> X = np.array([[1.0, 10.0], [3.0, 10.0]], dtype=np.float32)
    >>> s = Standardizer().fit(X)
    >>> s.transform(X).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    >>> Standardizer.from_dict(s.to_dict()).inverse_transform(s.transform(X)).tolist()
    [[1.0, 10.0], [3.0, 10.0]]
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        """Learn per-feature mean and scale from ``X`` of shape ``(n_samples, n_features)``."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] < 1:
            raise DatasetError(
                f"Standardizer.fit expects X of shape (n_samples, n_features) with n_samples "
                f">= 1, got shape={X.shape}. Flatten images first, e.g. X.reshape(len(X), -1)."
            )
        # float64 accumulators: float32 sums of 60,000 values lose digits.
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
            raise DatasetError(
                "Standardizer.fit expects finite values, got NaN or infinity in columns "
                f"{np.flatnonzero(~np.isfinite(mean + std))[:10].tolist()}. Clean the data first."
            )
        std[std == 0] = 1.0  # constant feature: leave it centred, do not divide by zero
        self.mean = mean.astype(np.float32)
        self.scale = std.astype(np.float32)
        return self

    def _check(self, X: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (X, mean, scale) after checking the fit and the feature count."""
        if self.mean is None or self.scale is None:
            raise DatasetError(
                f"Standardizer.{where} expects a fitted Standardizer, got an unfitted one. "
                "Call fit(X_train) (or fit_transform) first."
            )
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise DatasetError(
                f"Standardizer.{where} expects X of shape (n, {self.mean.shape[0]}) as in fit, "
                f"got shape={X.shape}. Did you forget to flatten, or pass another data set?"
            )
        return X, self.mean, self.scale

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``(X - mean) / scale`` as float32, shape ``(n, n_features)``; X is unchanged."""
        X, mean, scale = self._check(X, "transform")
        out = np.subtract(X, mean, dtype=np.float32)
        out /= scale
        return out

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """:meth:`fit` on ``X``, then :meth:`transform` it."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Return ``Z * scale + mean`` as float32: undo :meth:`transform`."""
        Z, mean, scale = self._check(Z, "inverse_transform")
        out = np.multiply(Z, scale, dtype=np.float32)
        out += mean
        return out

    def to_dict(self) -> dict[str, list[float]]:
        """Plain lists ``{"mean": [...], "scale": [...]}``, ready for ``json.dumps``."""
        if self.mean is None or self.scale is None:
            raise DatasetError(
                "Standardizer.to_dict expects a fitted Standardizer, got an unfitted one. "
                "Call fit(X_train) first."
            )
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Standardizer:
        """Rebuild a fitted Standardizer from :meth:`to_dict` output."""
        try:
            mean = np.asarray(state["mean"], dtype=np.float32)
            scale = np.asarray(state["scale"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as error:
            raise DatasetError(
                "Standardizer.from_dict expects {'mean': [numbers], 'scale': [numbers]}, got "
                f"keys={sorted(state) if isinstance(state, Mapping) else type(state).__name__}."
            ) from error
        if mean.ndim != 1 or mean.shape != scale.shape or not np.all(scale > 0):
            raise DatasetError(
                "Standardizer.from_dict expects 'mean' and 'scale' as lists of equal length with "
                f"every scale > 0, got mean shape {mean.shape} and scale shape {scale.shape}."
            )
        standardizer = cls()
        standardizer.mean, standardizer.scale = mean, scale
        return standardizer

    def __repr__(self) -> str:
        if self.mean is None:
            return "Standardizer(unfitted)"
        return f"Standardizer(n_features={self.mean.shape[0]})"


def one_hot(
    labels: np.ndarray, n_classes: int | None = None, dtype: Any = np.float32
) -> np.ndarray:
    """Encode class ids as one-hot rows: ``out[i, labels[i]] = 1``, all else 0.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer class ids, shape ``(n,)``, each in ``0 .. n_classes - 1``.
    n_classes : int, optional
        Number of classes. Default: ``labels.max() + 1``.
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    encoded : numpy.ndarray
        Shape ``(n, n_classes)``.

    Examples
    --------
    >>> one_hot(np.array([0, 2]), n_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise DatasetError(
            f"one_hot expects integer class ids, got dtype={labels.dtype}. For text labels "
            "use the class ids from load_csv (table.y); for floats holding whole numbers use "
            "labels.astype(np.int64)."
        )
    if labels.ndim != 1:
        raise DatasetError(
            f"one_hot expects class ids of shape (n,), got shape={labels.shape}. "
            "Use labels.ravel() for a column vector."
        )
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    elif not isinstance(n_classes, Integral) or n_classes < 1:
        raise DatasetError(f"one_hot expects n_classes >= 1, got n_classes={n_classes!r}.")
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        where = np.flatnonzero(bad)
        raise DatasetError(
            f"one_hot expects class ids in 0..{int(n_classes) - 1}, got {where.size} outside it, "
            f"e.g. labels[{where[0]}]={labels[where[0]]}. Pass the right n_classes, or map labels "
            "to 0..k-1 first."
        )
    encoded = np.zeros((labels.shape[0], int(n_classes)), dtype=dtype)
    encoded[np.arange(labels.shape[0]), labels] = 1
    return encoded
