"""A learning map of the training data ("dataset cartography", Swayamdipta et al., 2020).

For every training example and every epoch, `LearningMap` records the probability the model gave
to the example's label, read from the epoch's own forward passes (no second pass over the data):

    confidence  = mean over epochs of p(label)            (high: learnt easily)
    variability = standard deviation over epochs of p(label)  (high: the model hesitated)
    correctness = fraction of epochs the prediction was the label

Examples with low confidence and low variability are "hard to learn": the model never believed
their label. Mislabelled examples gather there, so the ranking (`statistics`) puts them first.

Memory: one float32 per example per epoch (``probabilities``, (epochs, n)), plus per example one
uint16 count of correct epochs and one int32 last prediction: 4·epochs + 6 bytes per example
(60,000 examples × 10 epochs: 2.76 MB), and a fixed buffer of `PENDING_ROWS` outputs.

Speed: a batch's outputs are only copied into that buffer; the softmax, the gather of p(label)
and the argmax run once per `PENDING_ROWS` rows. Done per batch of 32, NumPy's per-call cost
of the small reductions dominated: ~60 µs a batch, against ~13 µs buffered (CPU time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError
from .callbacks import Callback

__all__ = ["LearningMap", "MapStatistics", "load_map"]

PENDING_ROWS = 4096  # outputs buffered before they are turned into p(label): 4096 rows × classes


@dataclass
class MapStatistics:
    """Per-example statistics of a learning map (every array has shape (n,)).

    ``score`` orders examples from hardest (lowest) to easiest; ``ranking`` is that order.
    """

    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    variability: np.ndarray
    correctness: np.ndarray
    score: np.ndarray
    ranking: np.ndarray


class LearningMap(Callback):
    """Record p(label) for every training example and epoch, during training itself.

    Attributes (after `fit`)
    ------------------------
    probabilities : ndarray, float32, shape (epochs, n)
        p(label) of example i in epoch e, from that epoch's forward pass of i's batch (dropout
        and all, weights as they were at that batch); NaN for epochs not run.
    labels : ndarray, int64, shape (n,)
        The labels trained on (class ids; for one sigmoid output 0/1).
    predicted : ndarray, int32, shape (n,)
        The class predicted at each example's last pass.
    correct : ndarray, uint16, shape (n,)
        In how many epochs the prediction was the label.

    Examples
    --------
    >>> learning_map = LearningMap()
    >>> model.fit(X, y, epochs=10, callbacks=[learning_map])   # doctest: +SKIP
    >>> learning_map.statistics().ranking[:10]                 # doctest: +SKIP
    """

    def __init__(self, pending_rows: int = PENDING_ROWS) -> None:
        self.probabilities = np.zeros((0, 0), np.float32)
        self.labels = np.zeros(0, np.int64)
        self.predicted = np.zeros(0, np.int32)
        self.correct = np.zeros(0, np.uint16)
        self._epoch = 0
        self._binary = False
        self._capacity = int(pending_rows)
        # outputs not yet recorded: rows [0, _filled) of _pending, examples _pending_index
        self._pending = np.zeros((0, 0), np.float32)
        self._pending_index = np.zeros(0, np.int64)
        self._filled = 0
        self._positions = np.zeros(0, np.int64)  # arange(n): a batch's rows as indices

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        model = self.model
        if model.output == "identity":
            raise DataError(
                "A learning map needs a classifier (output='softmax' or 'sigmoid'); this model "
                "predicts values (output='identity')."
            )
        y = model.current_fit.y  # the targets fit validated: (n,) ids or (n, k) columns
        self._binary = model.output == "sigmoid"
        if self._binary and model.n_outputs != 1:
            raise DataError(
                f"A learning map needs one label per example; this model has {model.n_outputs} "
                "independent sigmoid outputs."
            )
        n, epochs = int(logs["samples"]), int(logs["epochs"])
        labels = y if y.ndim == 1 else (y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0])
        self.labels = np.asarray(labels).astype(np.int64)
        self.probabilities = np.full((epochs, n), np.nan, np.float32)
        self.predicted = np.zeros(n, np.int32)
        self.correct = np.zeros(n, np.uint16)
        self._pending = np.zeros((self._capacity, model.n_outputs), np.float32)
        self._pending_index = np.zeros(self._capacity, np.int64)
        self._positions = np.arange(n)
        self._filled = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._epoch = epoch

    def on_batch_outputs(self, rows: np.ndarray | slice, outputs: np.ndarray) -> None:
        """Keep a copy of the batch's outputs (the loss may reuse the array); `flush` reads them."""
        count = len(outputs)
        if self._filled + count > self._capacity:
            self.flush()
        if count > self._capacity:  # a batch larger than the buffer: record it at once
            self._record(self._positions[rows], outputs)
            return
        stop = self._filled + count
        self._pending[self._filled : stop] = outputs
        self._pending_index[self._filled : stop] = self._positions[rows]
        self._filled = stop

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        self.flush()

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self.flush()  # an epoch stopped in the middle (Ctrl-C, a callback)

    def flush(self) -> None:
        """Record the buffered outputs into ``probabilities``, ``predicted`` and ``correct``."""
        if self._filled:
            filled, self._filled = self._filled, 0
            self._record(self._pending_index[:filled], self._pending[:filled])

    def _record(self, rows: np.ndarray, outputs: np.ndarray) -> None:
        """p(label), the prediction and its correctness of examples ``rows`` (m,) from their
        raw outputs (m, classes), all seen in the current epoch."""
        labels = self.labels[rows]  # (m,)
        if self._binary:
            z = outputs[:, 0].astype(np.float32)  # the logit of class 1
            z_label = np.where(labels == 1, z, -z)  # log-odds of the label
            p_label = 1.0 / (1.0 + np.exp(-z_label))
            predicted = (z > 0).astype(np.int32)
        else:
            z = outputs.astype(np.float32, copy=False)  # (m, classes)
            n_classes = z.shape[1]
            true = np.arange(len(labels)) * n_classes + labels  # flat index of each label
            top = z.max(axis=1)  # (m,)
            z_label = z.ravel().take(true) - top
            # p(label) = e^(z_label − max) / Σ e^(z − max): stable for any logits
            p_label = np.exp(z_label) / np.exp(z - top[:, None]).sum(axis=1)
            predicted = z.argmax(axis=1).astype(np.int32)
        self.probabilities[self._epoch, rows] = p_label
        self.predicted[rows] = predicted
        self.correct[rows] += (predicted == labels).astype(np.uint16)

    @property
    def nbytes(self) -> int:
        """The memory the map holds, in bytes."""
        arrays = (self.probabilities, self.predicted, self.correct)
        return sum(a.nbytes for a in arrays)

    def statistics(self) -> MapStatistics:
        """Confidence, variability, correctness and the ranking from hardest; see `statistics`."""
        return statistics(self.probabilities, self.labels, self.predicted, self.correct)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the map to an ``.npz`` file (read back with `load_map`)."""
        with open(path, "wb") as file:
            np.savez(
                file,
                probabilities=self.probabilities,
                labels=self.labels,
                predicted=self.predicted,
                correct=self.correct,
            )


def statistics(
    probabilities: np.ndarray, labels: np.ndarray, predicted: np.ndarray, correct: np.ndarray
) -> MapStatistics:
    """The per-example statistics of a map, and the hardest-first ranking.

    The score (lower = harder) is ``log confidence + ½·log max(N[label, predicted], N₀)``, where
    N is the map's own confusion table (examples per given label and last prediction) and N₀ the
    median of its off-diagonal cells. Why: a flipped label is as likely in any pair of classes,
    so flips fill every off-diagonal cell to about the same small count N₀, while genuinely
    ambiguous examples crowd a few cells (shirt ↔ T-shirt). An unbelieved label in a crowded
    cell is more likely ambiguity than a mistake, and ranks after one in a sparse cell. On
    Fashion-MNIST with 5% of labels flipped this holds more flips in the hardest 5% than mean
    confidence alone (see benchmarks/label_noise.py). Ties keep the data's order.
    """
    seen = ~np.isnan(probabilities)  # (epochs, n)
    epochs_seen = np.maximum(seen.sum(axis=0), 1)  # (n,)
    p = np.where(seen, probabilities, 0.0).astype(np.float64)
    confidence = p.sum(axis=0) / epochs_seen
    variability = np.sqrt(np.maximum((p**2).sum(axis=0) / epochs_seen - confidence**2, 0.0))
    correctness = correct / epochs_seen
    n_classes = int(max(labels.max(initial=0), predicted.max(initial=0))) + 1
    cell = labels * n_classes + predicted  # (n,) flat index of (label, predicted)
    counts = np.bincount(cell, minlength=n_classes * n_classes).astype(np.float64)
    off_diagonal = counts.reshape(n_classes, n_classes)[~np.eye(n_classes, dtype=bool)]
    floor = max(float(np.median(off_diagonal)), 1.0) if off_diagonal.size else 1.0
    score = np.log(confidence + 1e-6) + 0.5 * np.log(np.maximum(counts[cell], floor))
    ranking = np.argsort(score, kind="stable")
    return MapStatistics(
        labels=labels,
        predicted=predicted,
        confidence=confidence.astype(np.float32),
        variability=variability.astype(np.float32),
        correctness=correctness.astype(np.float32),
        score=score.astype(np.float32),
        ranking=ranking,
    )


MAP_ARRAYS = {
    "probabilities": (np.float32, 2),
    "labels": (np.int64, 1),
    "predicted": (np.int32, 1),
    "correct": (np.uint16, 1),
}


def load_map(path: str | os.PathLike[str]) -> MapStatistics:
    """Read a map written by `LearningMap.save` and return its statistics.

    Raises
    ------
    DataError
        If the file is not a complete learning map (missing arrays, wrong types or lengths).
    """
    try:
        with np.load(path, allow_pickle=False) as file:
            arrays = {name: file[name] for name in MAP_ARRAYS}
    except (KeyError, ValueError, OSError, EOFError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DataError(f"{os.fspath(path)} is not a readable learning map ({error}).") from None
    n = len(arrays["labels"])
    for name, (dtype, ndim) in MAP_ARRAYS.items():
        array = arrays[name]
        if array.dtype != dtype or array.ndim != ndim or array.shape[-1] != n:
            raise DataError(
                f"{os.fspath(path)}: {name!r} should be {np.dtype(dtype).name} of {ndim} axes "
                f"ending in {n}, got {array.dtype} {array.shape}. The map is damaged; "
                "retrain with --map."
            )
    return statistics(**arrays)
