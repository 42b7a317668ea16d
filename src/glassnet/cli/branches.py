"""Runs you can revisit: the training of a run, its per-epoch checkpoints, branches and replays.

A run directory keeps ``checkpoints/epoch-NNNN.ckpt`` after every epoch (``--keep N``: the last
N). ``glassnet train --from RUN --at-epoch K [options] --out NEW`` loads RUN's checkpoint after K
epochs (weights, optimizer state, generator state: the same data order) and trains on with the
changed options; up to K the branch *is* its parent, bit for bit. Options that fix the
architecture or the data cannot change (`UNCHANGEABLE`).

A run is a list of segments (``{"options", "parent"}``): the first trained from scratch, each
later one branched from the one before at ``parent["epoch"]``. `replay` retrains them all in
memory, which is what ``glassnet verify`` compares with the receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import glassnet as gn
from glassnet import io

from .application import UserError
from .architecture import as_model_inputs
from .building import build_model, make_optimizer, make_schedule, optimizer_choice
from .data import Data, load_data
from .receipt import read_receipt

CHECKPOINTS = "checkpoints"
# What the weights' shapes, the training data or its order depend on: fixed for a whole run.
UNCHANGEABLE = (
    "data",
    "arch",
    "hidden",
    "activation",
    "loss",
    "seed",
    "limit",
    "target",
    "image_size",
    "color",
    "digits",
    "validation_split",
    "batch_size",
)


def load_training_data(options: dict[str, Any]) -> Data:
    """The data set of ``options``, cut to ``--limit`` samples."""
    dataset = load_data(options["data"], options)
    if options["limit"]:
        dataset.X_train = dataset.X_train[: options["limit"]]
        dataset.y_train = dataset.y_train[: options["limit"]]
        if dataset.train_paths is not None:
            dataset.train_paths = dataset.train_paths[: options["limit"]]
    return dataset


def optimizer_name(options: dict[str, Any]) -> str:
    return optimizer_choice(options)[0]


def base_rate(options: dict[str, Any]) -> float:
    """The learning rate `make_optimizer` starts from (and schedules scale)."""
    return optimizer_choice(options)[1]


def training_callbacks(
    options: dict[str, Any], extra: list[gn.Callback], rate: float | None = None
) -> list[gn.Callback]:
    """The callbacks that shape the weights (schedule, early stopping), then ``extra``.

    ``rate`` is the optimizer's learning rate the schedule scales (default: `base_rate`).
    """
    callbacks: list[gn.Callback] = []
    schedule = make_schedule(options, base_rate(options) if rate is None else rate)
    if schedule is not None:
        callbacks.append(gn.LearningRateScheduler(schedule))
    if options["early_stopping"]:
        callbacks.append(gn.EarlyStopping("val_loss", patience=options["early_stopping"]))
    return callbacks + extra


def fit_segment(
    model: gn.Sequential,
    dataset: Data,
    options: dict[str, Any],
    optimizer: gn.optimizers.Optimizer,
    callbacks: list[gn.Callback],
    resume: gn.TrainingState | None = None,
    communicator: Any = None,
) -> gn.History:
    # communicator: data-parallel under mpiexec (None on one process: the plain fit)
    return model.fit(
        dataset.X_train,
        dataset.y_train,
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        optimizer=optimizer,
        loss=options["loss"],
        validation_split=options["validation_split"],
        callbacks=callbacks,
        seed=options["seed"],
        resume=resume,
        communicator=communicator,
        # "auto": the compiled training step where it applies (glassnet.train.fused). Runs
        # written before --kernel existed have none and trained layer by layer: None replays that.
        kernel=options.get("kernel"),
        threads=options.get("threads", 1),  # runs before --threads trained on one
    )


def branch_optimizer(
    optimizer: gn.optimizers.Optimizer,
    model: gn.Sequential,
    before: dict[str, Any],
    options: dict[str, Any],
) -> gn.optimizers.Optimizer:
    """The parent's optimizer with the branch's settings; a fresh one if its type changes."""
    if optimizer_name(options) != optimizer_name(before):
        return make_optimizer(model, options)  # a new rule starts with no state
    if base_rate(options) != base_rate(before):
        optimizer.learning_rate = base_rate(options)
    if optimizer_name(options) == "sgd" and options["momentum"] != before["momentum"]:
        optimizer.momentum = float(options["momentum"])  # type: ignore[attr-defined]
    return optimizer


class StopAfter(gn.Callback):
    """Stop a fit after ``epochs`` epochs and keep its exact state there (for replays)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.state: gn.TrainingState | None = None
        self.weights: np.ndarray | None = None

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 == self.epochs:
            self.state = self.model.training_state()
            self.weights = self.model.get_weights()
            self.model.stop_training = True


def replay(segments: list[dict[str, Any]], dataset: Data) -> gn.Sequential:
    """Retrain a run's segments from scratch, in memory; return the final model."""
    first = segments[0]["options"]
    model = build_model(dataset, first)
    # a CNN takes (n, C, H, W) images; the data sources give rows of pixels (as train does)
    dataset.X_train = as_model_inputs(model, dataset.X_train)
    optimizer = make_optimizer(model, first)
    state = None
    for i, segment in enumerate(segments):
        options = segment["options"]
        if i:
            optimizer = branch_optimizer(optimizer, model, segments[i - 1]["options"], options)
        stop = StopAfter(int(segments[i + 1]["parent"]["epoch"])) if i + 1 < len(segments) else None
        callbacks = training_callbacks(options, [stop] if stop else [])
        history = fit_segment(model, dataset, options, optimizer, callbacks, resume=state)
        if stop is not None:
            if stop.state is None or stop.weights is None:
                raise UserError(
                    f"The replay stopped before epoch {stop.epochs}, where the next segment "
                    "branched: the receipt does not describe this run."
                )
            # EarlyStopping may have put back its best weights at the stop: undo that
            model.set_weights(stop.weights)
            state = stop.state
            state.history = history.to_dict()
    return model


@dataclass
class Branch:
    """A run to branch from: its receipt, the checkpoint after ``epoch`` epochs, new options."""

    parent: Path
    epoch: int
    receipt: dict[str, Any]
    checkpoint: io.LoadedCheckpoint
    options: dict[str, Any]

    @property
    def new_optimizer(self) -> bool:
        """Whether the branch changes the optimizer's type (which then starts afresh)."""
        return optimizer_name(self.options) != optimizer_name(self.receipt["config"])

    @property
    def segments(self) -> list[dict[str, Any]]:
        parent = {"run": str(self.parent), "epoch": self.epoch}
        state = "fresh" if self.new_optimizer else "continued"
        segment = {"options": self.options, "parent": parent, "optimizer_state": state}
        return [*self.receipt["segments"], segment]

    def optimizer_note(self) -> str | None:
        """One line saying that a new optimizer type starts with fresh state; None if the
        branch keeps its parent's optimizer (and so its moments, momentum and step count)."""
        if not self.new_optimizer:
            return None
        before, after = optimizer_name(self.receipt["config"]), optimizer_name(self.options)
        return (
            f"note: the optimizer changes from {before} to {after} at epoch {self.epoch}: {after} "
            f"starts with fresh state (none of {before}'s moments, momentum or step count); the "
            "weights and the data order continue from the checkpoint."
        )


def check_branch_data(branch: Branch, data_sha256: str) -> None:
    """Refuse to branch on data other than the parent's (its checkpoint's order indexes it)."""
    expected = branch.receipt["data"]["train_sha256"]
    if data_sha256 != expected:
        raise UserError(
            f"The training data no longer matches {branch.parent}'s receipt (SHA-256 "
            f"{data_sha256[:16]}…, the receipt says {expected[:16]}…): a branch must train on "
            "the data its parent did."
        )


def fresh_checkpoints(run: Path, keep: int) -> io.EpochCheckpoints:
    """The per-epoch checkpoints of ``run``, after removing those of an earlier run there."""
    folder = run / CHECKPOINTS
    for epoch in io.epoch_checkpoints(folder):
        io.epoch_checkpoint_path(folder, epoch).unlink(missing_ok=True)
    return io.EpochCheckpoints(folder, keep=keep)


def prepare_branch(from_run: str, at_epoch: int | None, given: dict[str, Any]) -> Branch:
    """Check a branch request completely (before anything is written) and load its checkpoint."""
    parent = Path(from_run)
    receipt = read_receipt(parent)
    if at_epoch is None:
        raise UserError("--from needs --at-epoch K: the epoch of the run to branch at.")
    available = io.epoch_checkpoints(parent / CHECKPOINTS)
    if at_epoch not in available:
        kept = (
            f"it keeps epochs {', '.join(map(str, available))}"
            if available
            else "it has no checkpoints"
        )
        raise UserError(f"{parent} has no checkpoint for epoch {at_epoch}; {kept}.")
    before = receipt["config"]
    for key in UNCHANGEABLE:
        if key in given and given[key] != before.get(key):
            flag = "the data argument" if key == "data" else "--" + key.replace("_", "-")
            raise UserError(
                f"{flag} cannot change in a branch: {parent} was trained with "
                f"{before.get(key)!r}, got {given[key]!r}. The checkpoint's weights and data "
                "order depend on it; start a new run instead."
            )
    options = {**before, **given}
    options["out"] = given.get("out")
    if options["epochs"] <= at_epoch:
        raise UserError(
            f"--epochs {options['epochs']} leaves nothing to train after epoch {at_epoch}: give "
            f"more epochs than --at-epoch."
        )
    path = io.epoch_checkpoint_path(parent / CHECKPOINTS, at_epoch)
    try:
        checkpoint = io.load_checkpoint(path)
    except io.ModelFileError as error:
        raise UserError(f"The checkpoint {path} is damaged: {error}") from None
    return Branch(parent, at_epoch, receipt, checkpoint, options)
