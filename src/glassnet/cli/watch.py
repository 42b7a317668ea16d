"""Watching a run for getting worse: a loss that climbs far above where it started.

A learning rate far too large can saturate sigmoid units so that the loss stays finite (no
``TrainingDivergedError``) while the model learns nothing. :class:`GettingWorse` compares each
epoch's training loss with the untrained model's loss and says so, naming the learning rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import glassnet as gn

#: An epoch loss this many times the untrained model's loss counts as getting worse.
WORSE_FACTOR = 1.5
_SAMPLE = 2048  # training rows the starting loss is measured on


def starting_loss(model: gn.Sequential, X: np.ndarray, y: np.ndarray, loss: Any) -> float:
    """The untrained model's loss on the first rows of the training set."""
    return float(model.evaluate(X[:_SAMPLE], y[:_SAMPLE], loss=loss)["loss"])


class GettingWorse(gn.Callback):
    """Record the first epoch whose training loss exceeds ``WORSE_FACTOR`` × the start.

    ``warning`` is then the sentence to show (None while the run is healthy).
    """

    def __init__(self, start: float, learning_rate: float) -> None:
        self.start = start
        self.learning_rate = learning_rate
        self.warning: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        loss = logs.get("loss")
        if self.warning is None and loss is not None and loss > WORSE_FACTOR * self.start:
            self.warning = (
                f"Warning: training got worse — the loss rose from {self.start:.4g} before "
                f"training to {loss:.4g} in epoch {epoch + 1}. The learning rate "
                f"{self.learning_rate:g} is probably too large; try --learning-rate "
                f"{self.learning_rate / 10:g}."
            )
