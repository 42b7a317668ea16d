"""Mini-batches: an index permutation per epoch, never a copy of the data set."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import check_positive_int


def batch_indices(
    n_samples: int, batch_size: int, shuffle: bool = True, rng: np.random.Generator | None = None
) -> Iterator[np.ndarray | slice]:
    """Yield the rows of each mini-batch of one epoch.

    Shuffled epochs yield index arrays cut from one permutation; unshuffled epochs yield slices,
    so ``X[rows]`` is a view and nothing is copied. The last batch may be smaller.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if shuffle:
        order = (rng if rng is not None else np.random.default_rng()).permutation(n_samples)
        for start in range(0, n_samples, batch_size):
            yield order[start : start + batch_size]
    else:
        for start in range(0, n_samples, batch_size):
            yield slice(start, min(start + batch_size, n_samples))


def iterate_minibatches(
    X: np.ndarray,
    y: np.ndarray | None = None,
    batch_size: int = 32,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield ``(X_batch, y_batch)`` pairs covering every sample once.

    Examples
    --------
    >>> X = np.arange(10.0).reshape(5, 2); y = np.arange(5)
    >>> [len(yb) for _, yb in iterate_minibatches(X, y, batch_size=2, shuffle=False)]
    [2, 2, 1]
    """
    if y is not None and len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}.")
    generator = np.random.default_rng(rng) if shuffle else None
    for rows in batch_indices(len(X), batch_size, shuffle, generator):
        yield X[rows], (None if y is None else y[rows])
