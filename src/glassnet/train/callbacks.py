"""Callbacks: code that `fit` calls at fixed points of training, with a ``logs`` dict.

Hooks: ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``, ``on_batch_end(batch, logs)``,
``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``. A callback sees the model as ``self.model``
(and its optimizer as ``self.model.optimizer``) and may stop training by setting
``self.model.stop_training = True``: from ``on_batch_end`` training ends after that batch (the
partial epoch is not recorded), from ``on_epoch_end`` after that epoch. ``on_batch_end`` is only
called on callbacks that define it, so an epoch-level callback costs nothing per batch.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np


class Callback:
    """Base class: every hook does nothing.

    ``rank_zero_only``: in a data-parallel fit, run this callback on rank 0 only (printing,
    writing files); the others run on every rank.
    """

    model: Any = None
    rank_zero_only: bool = False

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_train_end(self, logs: dict[str, Any]) -> None:
        pass


class History(Callback):
    """Records the logs of every epoch; `fit` returns it.

    Attributes
    ----------
    history : dict[str, list[float]]
        One list per metric: ``"loss"``, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``...
    epoch : list[int]
        The epochs recorded (0-based).
    stopped_early, interrupted : bool
        Whether a callback stopped training, or the user pressed Ctrl-C.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stopped_early = False
        self.interrupted = False

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            if isinstance(value, (int, float)):
                self.history.setdefault(key, []).append(float(value))

    def restore(self, saved: dict[str, Any]) -> None:
        """Continue from `to_dict` output (used when resuming from a checkpoint)."""
        saved = dict(saved)
        self.epoch = [int(e) for e in saved.pop("epoch", [])]
        self.history = {k: [float(v) for v in values] for k, values in saved.items()}

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


class EarlyStopping(Callback):
    """Stop when a monitored metric has stopped improving.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
    patience : int
        Epochs without improvement to wait before stopping.
    min_delta : float
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; "auto" picks "max" for accuracy-like names.
    restore_best_weights : bool
        When stopping (or at the end of training), put back the weights of the best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got mode={mode!r}.")
        if mode == "auto":
            higher = any(k in monitor for k in ("acc", "f1", "precision", "recall", "r2"))
            mode = "max" if higher else "min"
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.best: float = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.best_weights: np.ndarray | None = None
        self.wait = 0

    def on_train_begin(self, logs):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.best_weights, self.wait = -1, None, 0

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise KeyError(
                f"EarlyStopping monitors {self.monitor!r}, but the epoch logs only have "
                f"{sorted(logs)}. Pass validation data for 'val_*' metrics."
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch: lr = schedule(epoch).

    ``schedule`` is any callable ``epoch -> float``, such as those in `glassnet.schedules`.
    """

    def __init__(self, schedule: Callable[[int], float]) -> None:
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs):
        self.model.optimizer.learning_rate = float(self.schedule(epoch))

    def on_epoch_end(self, epoch, logs):
        logs["learning_rate"] = self.model.optimizer.current_learning_rate


class Progress(Callback):
    """Report progress to a function: the hook the command line's progress bar uses.

    ``report(event)`` receives a dict with ``"event"`` ("train_begin", "batch", "epoch",
    "train_end"), ``"epoch"`` and ``"epochs"``, ``"batch"`` and ``"batches"``, ``"samples_seen"``,
    ``"elapsed"`` seconds, and the running ``"loss"``/``"accuracy"`` (and, at epoch end, every
    metric in the logs). Batch events come at most every ``every`` batches.
    """

    def __init__(self, report: Callable[[dict[str, Any]], None], every: int = 1) -> None:
        self.report = report
        self.every = max(1, int(every))
        self._start = 0.0
        self._epoch = 0
        self._params: dict[str, Any] = {}

    def on_train_begin(self, logs):
        self._start = time.perf_counter()
        self._params = dict(logs)
        self.report({"event": "train_begin", **logs})

    def on_epoch_begin(self, epoch, logs):
        self._epoch = epoch

    def on_batch_end(self, batch, logs):
        if (batch + 1) % self.every == 0 or batch + 1 == self._params.get("batches"):
            self.report(
                {
                    "event": "batch",
                    "epoch": self._epoch,
                    "batch": batch,
                    **self._params,
                    "elapsed": time.perf_counter() - self._start,
                    **logs,
                }
            )

    def on_epoch_end(self, epoch, logs):
        self.report(
            {
                "event": "epoch",
                "epoch": epoch,
                **self._params,
                "elapsed": time.perf_counter() - self._start,
                **logs,
            }
        )

    def on_train_end(self, logs):
        self.report(
            {
                "event": "train_end",
                **self._params,
                "elapsed": time.perf_counter() - self._start,
                **logs,
            }
        )


class PrintProgress(Callback):
    """Print one line per epoch (what ``fit(verbose=1)`` uses)."""

    rank_zero_only = True  # data-parallel fits print once, from rank 0

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._start = 0.0
        self._epochs: Any = "?"

    def on_train_begin(self, logs):
        self._epochs = logs.get("epochs", "?")

    def on_epoch_begin(self, epoch, logs):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        stream = self.stream or sys.stdout
        metrics = "  ".join(
            f"{k}={v:.4f}" for k, v in logs.items() if isinstance(v, float) and k != "learning_rate"
        )
        seconds = time.perf_counter() - self._start
        print(f"epoch {epoch + 1}/{self._epochs}  {metrics}  ({seconds:.2f}s)", file=stream)
