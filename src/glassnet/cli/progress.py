"""Training callbacks for the terminal: a Rich progress bar, or one JSON line per epoch."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

import glassnet as gn

from .application import STATE


class ProgressBar(gn.Callback):
    """A Rich progress bar per epoch: batches, loss, accuracy, speed and time left."""

    rank_zero_only = True

    def __init__(self, console: Any) -> None:
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[accuracy]}"),
            TextColumn("{task.fields[speed]:,.0f} samples/s"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task: Any = None
        self.batches = 0
        self.batch_size = 0
        self.epochs = 0
        self.started = 0.0

    def on_train_begin(self, logs):
        self.batches, self.batch_size, self.epochs = (
            logs["batches"],
            logs["batch_size"],
            logs["epochs"],
        )
        self.progress.start()

    def on_epoch_begin(self, epoch, logs):
        self.started = time.perf_counter()
        self.task = self.progress.add_task(
            "train",
            total=self.batches,
            epoch=f"{epoch + 1}/{self.epochs}",
            loss=0.0,
            accuracy="-",
            speed=0.0,
        )

    def on_batch_end(self, batch, logs):
        if batch % 20 and batch + 1 != self.batches:
            return
        seconds = max(time.perf_counter() - self.started, 1e-9)
        accuracy = f"{logs['accuracy']:.4f}" if "accuracy" in logs else "-"
        self.progress.update(
            self.task,
            completed=batch + 1,
            loss=logs["loss"],
            accuracy=accuracy,
            speed=(batch + 1) * self.batch_size / seconds,
        )

    def on_train_end(self, logs):
        self.progress.stop()


class JsonLines(gn.Callback):
    """One JSON line per epoch (``--json``)."""

    rank_zero_only = True

    def on_epoch_end(self, epoch, logs):
        STATE.emit({"event": "epoch", "epoch": epoch + 1, **logs})
