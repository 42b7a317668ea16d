"""Checkpoints: save a fit as it runs, and resume it exactly, even after a crash.

>>> model.fit(X, y, epochs=20, seed=0, callbacks=[Checkpoint("run.ckpt")])   # doctest: +SKIP
(killed)
>>> checkpoint = load_checkpoint("run.ckpt")                                  # doctest: +SKIP
>>> checkpoint.resume(X, y, seed=0, callbacks=[Checkpoint("run.ckpt")])       # doctest: +SKIP

The `Checkpoint` callback writes one file, atomically (`glassnet.io.atomic_write`), at the end of
every epoch, every ``every`` batches if asked, and when training ends early (Ctrl-C). Resuming
restores the weights, the optimizer's state, the position in the epoch (epoch, batch and the
epoch's sample order), the training generator's state (shuffling and dropout), the running sums
of the epoch's logs and the history, so a run killed at any moment (even with SIGKILL) and resumed
from its last checkpoint ends with weights bit-identical to an uninterrupted run with the same
seed and BLAS thread count.

File format
-----------
A checkpoint is a model file (see `glassnet.io`: the same checks apply when loading) whose
document has ``"format": "glassnet-checkpoint"``, ``"history"`` holding the epochs completed so
far, and two more fields::

    "optimizer": {"type": "Adam", "options": {"beta1": 0.9, "beta2": 0.999, ...},
                  "learning_rate": 0.001 or {"schedule": "StepDecay", "config": {...}} or null,
                  "current_learning_rate": 0.001, "iterations": 120,
                  "state": {"*": ["m", "v"]}},
    "training":  {"epoch": 2, "batch": 14, "total_loss": 31.2, "correct": 651, "seen": 700,
                  "rng_state": {"bit_generator": "PCG64", "state": {"state": ..., "inc": ...},
                                "has_uint32": 0, "uinteger": 0},
                  "fit": {"epochs": 10, "batches": 40, "samples": 2000, "batch_size": 50}}

Besides the model's parameters and buffers it holds the tensors ``"optimizer.<state>.<key>"``
(the arrays of the optimizer's `state_dict`, e.g. ``"optimizer.*.m"``; ``*`` is a packed model's
single vector of parameters) in the model's dtype, and ``"training.order"`` (I64, the epoch's
sample order) when shuffling.
A learning rate that is a custom function (not a `glassnet.schedules` schedule) is saved as null:
the resumed optimizer continues at ``current_learning_rate`` with a warning; pass
``learning_rate=`` to `LoadedCheckpoint.resume` to restore the function.

Not saved: the state of other callbacks (e.g. `EarlyStopping`'s patience count), the loss object,
and the data. Resume with the same data and settings (checked: sample count and batch size).
Put `Checkpoint` last in the callbacks so that the history it saves includes what other
callbacks add to the logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError, check_positive_int
from ..models import Sequential
from ..train import optimizers
from ..train.callbacks import Callback, History
from ..train.loop import TrainingState
from .atomic import atomic_write
from .checkpoint_format import (
    FIT_KEYS,
    ORDER,
    build_optimizer,
    check_optimizer_type,
    optimizer_document,
    restore_training_state,
)
from .document import CHECKPOINT_FORMAT, model_document
from .errors import Invalid, ModelFileError
from .model_file import build_model, encode, parameter_tensors, read

__all__ = ["Checkpoint", "LoadedCheckpoint", "load_checkpoint", "write_checkpoint"]


class Checkpoint(Callback):
    """Save the fit in progress to one file, so that it can be resumed exactly.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file, replaced atomically at each save.
    every : "epoch" or int
        Save at the end of every epoch, and also every ``every`` batches of each epoch when an
        integer (batch ``every − 1``, ``2·every − 1``... counted from the epoch's start).

    Attributes
    ----------
    saves : int
        How many times the file was written during the last fit.

    Examples
    --------
    >>> checkpoint = Checkpoint("run.ckpt", every=100)
    >>> checkpoint.every
    100
    """

    rank_zero_only = True  # in data-parallel fits rank 0 alone writes (the state is global)

    def __init__(self, path: str | os.PathLike[str], every: str | int = "epoch") -> None:
        self.path = os.fspath(path)
        if every != "epoch":
            if isinstance(every, str):
                raise ValueError(f"every must be 'epoch' or a number of batches, got {every!r}.")
            every = check_positive_int(every, "every")
        self.every = every
        self.saves = 0
        self._fit_params: dict[str, int] = {}
        self._last: tuple[int, int] | None = None

    def on_train_begin(self, logs):
        check_optimizer_type(self.model.optimizer)  # fail now rather than at the first save
        self._fit_params = {key: int(logs[key]) for key in sorted(FIT_KEYS)}
        self._last, self.saves = None, 0

    def on_batch_end(self, batch, logs):
        if self.every != "epoch" and (batch + 1) % int(self.every) == 0:
            self.save()

    def on_epoch_end(self, epoch, logs):
        self.save(epoch, logs)

    def on_train_end(self, logs):
        state = self.model.training_state()
        if (state.epoch, state.batch) != self._last:  # stopped mid-epoch (Ctrl-C)
            self.save()

    def save(self, epoch: int | None = None, logs: dict[str, Any] | None = None) -> None:
        """Write the checkpoint now (only during `fit`)."""
        state = self.model.training_state()
        if epoch is not None:
            state.history = _with_epoch(state.history, epoch, logs or {})
        write_checkpoint(self.path, self.model, state, self._fit_params)
        self._last = (state.epoch, state.batch)
        self.saves += 1


def _with_epoch(history: dict[str, Any], epoch: int, logs: dict[str, Any]) -> dict[str, Any]:
    """The history including ``epoch``, whether or not `History` has recorded it yet.

    (At ``on_epoch_end`` `fit` has already moved its state to the next epoch; the `History`
    callback may run before or after this one.)
    """
    epochs = history.get("epoch", [])
    if epochs and epochs[-1] == epoch:
        return history
    updated = {key: list(values) for key, values in history.items()}
    updated["epoch"] = [*epochs, epoch]
    for key, value in logs.items():
        if isinstance(value, (int, float)):
            updated.setdefault(key, []).append(float(value))
    return updated


def write_checkpoint(
    path: str | os.PathLike[str],
    model: Sequential,
    state: TrainingState,
    fit_params: dict[str, int],
) -> None:
    """Write a checkpoint of ``model``, its optimizer and a `TrainingState` (atomically)."""
    optimizer = model.optimizer
    if optimizer is None:
        raise ValueError("The model has no optimizer yet: checkpoints are written during fit().")
    document = model_document(model, history=state.history, file_format=CHECKPOINT_FORMAT)
    saved = optimizer.state_dict()
    document["optimizer"] = optimizer_document(optimizer, saved)
    document["training"] = {
        "epoch": int(state.epoch),
        "batch": int(state.batch),
        "rng_state": state.rng_state,
        "total_loss": float(state.total_loss),
        "correct": int(state.correct),
        "seen": int(state.seen),
        "fit": dict(fit_params),
    }
    tensors = parameter_tensors(model)
    for name, arrays in saved["state"].items():
        for key, array in arrays.items():
            tensors[f"optimizer.{name}.{key}"] = array
    if state.order is not None:
        tensors[ORDER] = np.asarray(state.order, dtype=np.int64)
    atomic_write(path, encode(tensors, document))


@dataclass
class LoadedCheckpoint:
    """What `load_checkpoint` returns: everything needed to continue the fit.

    Attributes
    ----------
    model : Sequential
        The model with the checkpoint's weights.
    optimizer : Optimizer
        An optimizer on ``model.parameters()`` with the saved settings and state.
    training_state : TrainingState
        Epoch, batch, sample order, RNG state, running sums and history, for ``fit(resume=)``.
    fit_params : dict
        ``epochs``, ``batch_size``, ``samples`` and ``batches`` of the interrupted fit.
    path : str
        The file.
    """

    model: Sequential
    optimizer: optimizers.Optimizer
    training_state: TrainingState
    fit_params: dict[str, int]
    path: str

    @property
    def finished(self) -> bool:
        """Whether the saved fit had already run all its epochs."""
        return self.training_state.epoch >= self.fit_params["epochs"]

    def resume(self, X: Any, y: Any, **fit_options: Any) -> History:
        """Continue the fit: ``model.fit(X, y, optimizer=..., resume=..., **fit_options)``.

        ``epochs`` and ``batch_size`` default to the saved fit's. Give the same data (checked:
        the number of training samples) and the same batch size, shuffle and seed settings.
        To keep checkpointing, pass ``callbacks=[Checkpoint(path)]``.

        Returns
        -------
        History
            The whole fit's history, from its first epoch.
        """
        for key in ("optimizer", "resume"):
            if key in fit_options:
                raise TypeError(f"resume() sets {key}= itself; do not pass it.")
        fit_options.setdefault("epochs", self.fit_params["epochs"])
        batch_size = fit_options.setdefault("batch_size", self.fit_params["batch_size"])
        if batch_size != self.fit_params["batch_size"]:
            raise ValueError(
                f"The checkpoint was written with batch_size={self.fit_params['batch_size']}, "
                f"got batch_size={batch_size}; the saved position only makes sense with the same."
            )
        n_train = len(X)
        split = fit_options.get("validation_split")
        if split:
            n_train = int(round(len(X) * (1.0 - split)))
        if n_train != self.fit_params["samples"]:
            raise DataError(
                f"The checkpoint was written while training on {self.fit_params['samples']} "
                f"samples, got {n_train}. Resume with the same training data."
            )
        return self.model.fit(
            X, y, optimizer=self.optimizer, resume=self.training_state, **fit_options
        )


def load_checkpoint(path: str | os.PathLike[str]) -> LoadedCheckpoint:
    """Load a checkpoint written by `Checkpoint`, trusting nothing in it.

    Raises
    ------
    ModelFileError
        If the file is damaged, hostile, or not a glassnet checkpoint (a ``ValueError``).
    FileNotFoundError
        If there is no such file.
    """
    document, arrays, name = read(path, (CHECKPOINT_FORMAT,))
    try:
        model = build_model(document, arrays)
        optimizer = build_optimizer(document["optimizer"], model, arrays, name)
        state = restore_training_state(document, arrays)
    except Invalid as problem:
        raise ModelFileError(name, str(problem)) from None
    fit_params = {key: int(value) for key, value in document["training"]["fit"].items()}
    model.optimizer = optimizer
    return LoadedCheckpoint(model, optimizer, state, fit_params, name)
