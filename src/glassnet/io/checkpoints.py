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

Besides the model's parameters it holds the tensors ``"optimizer.<state>.<key>"`` (the arrays of
the optimizer's `state_dict`, e.g. ``"optimizer.*.m"``; ``*`` is a packed model's single buffer)
in the model's dtype, and ``"training.order"`` (I64, the epoch's sample order) when shuffling.
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
import warnings
from dataclasses import dataclass
from inspect import signature
from typing import Any

import numpy as np

from .errors import DataError, check_positive_int
from .io import (
    CHECKPOINT_FORMAT,
    FLOAT_CODES,
    ModelFileError,
    TensorEntry,
    _clip,
    _Invalid,
    _is_int,
    _is_number,
    _short,
    atomic_write,
    build_model,
    check_model_document,
    check_tensor,
    encode,
    model_document,
    parameter_tensors,
    read,
    restore_history,
)
from .models import Sequential
from .train import optimizers, schedules
from .train.callbacks import Callback, History
from .train.loop import TrainingState

__all__ = ["Checkpoint", "LoadedCheckpoint", "load_checkpoint"]

OPTIMIZER_TYPES: dict[str, type[optimizers.Optimizer]] = {
    cls.__name__: cls for cls in optimizers.OPTIMIZERS.values()
}
SCHEDULE_TYPES: dict[str, type[schedules.Schedule]] = {
    cls.__name__: cls for cls in schedules.SCHEDULES.values()
}
_OPTIMIZER_KEYS = {
    "type",
    "options",
    "learning_rate",
    "current_learning_rate",
    "iterations",
    "state",
}
_TRAINING_KEYS = {"epoch", "batch", "rng_state", "total_loss", "correct", "seen", "fit"}
_FIT_KEYS = {"epochs", "batches", "samples", "batch_size"}
_ORDER = "training.order"
_MAX_COUNT = 2**62


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
        _check_optimizer_type(self.model.optimizer)  # fail now rather than at the first save
        self._fit_params = {key: int(logs[key]) for key in sorted(_FIT_KEYS)}
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
    document["optimizer"] = _optimizer_document(optimizer, saved)
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
        tensors[_ORDER] = np.asarray(state.order, dtype=np.int64)
    atomic_write(path, encode(tensors, document))


def _check_optimizer_type(optimizer: Any) -> None:
    kind = type(optimizer).__name__
    if OPTIMIZER_TYPES.get(kind) is not type(optimizer):
        raise TypeError(
            f"Checkpoints hold the built-in optimizers {sorted(OPTIMIZER_TYPES)}, got {kind}, "
            "whose state they could not restore without running its code."
        )


def _optimizer_document(optimizer: optimizers.Optimizer, saved: dict[str, Any]) -> dict[str, Any]:
    _check_optimizer_type(optimizer)
    kind = type(optimizer).__name__
    options = {
        key: getattr(optimizer, key)
        for key in _optimizer_options(type(optimizer))
        if hasattr(optimizer, key)
    }
    rate = optimizer.learning_rate
    learning_rate: Any = None
    if isinstance(rate, (int, float)):
        learning_rate = float(rate)
    elif SCHEDULE_TYPES.get(type(rate).__name__) is type(rate):
        learning_rate = {"schedule": type(rate).__name__, "config": rate.get_config()}
    return {
        "type": kind,
        "options": options,
        "learning_rate": learning_rate,
        "current_learning_rate": optimizer.current_learning_rate,
        "iterations": int(saved["iterations"]),
        "state": {name: sorted(arrays) for name, arrays in saved["state"].items()},
    }


def _optimizer_options(cls: type) -> set[str]:
    return set(signature(cls).parameters) - {"parameters", "learning_rate"}


# ---------------------------------------------------------------------- loading


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
        optimizer = _build_optimizer(document["optimizer"], model, arrays, name)
        state = _training_state(document, arrays)
    except _Invalid as problem:
        raise ModelFileError(name, str(problem)) from None
    fit_params = {key: int(value) for key, value in document["training"]["fit"].items()}
    model.optimizer = optimizer
    return LoadedCheckpoint(model, optimizer, state, fit_params, name)


def check_checkpoint_file(document: dict[str, Any], table: dict[str, TensorEntry]) -> None:
    """The checks of a checkpoint's document and tensors before anything is read or built."""
    model_tensors = check_model_document(document, table, frozenset({"optimizer", "training"}))
    dtype_code = FLOAT_CODES[document["config"]["dtype"]]
    expected = {name: (dtype_code, entry.shape) for name, entry in model_tensors.items()}
    expected.update(_check_optimizer(document["optimizer"], model_tensors, dtype_code))
    training = document["training"]
    fit = _check_training(training, document["n_outputs"])
    if _ORDER in table:
        expected[_ORDER] = ("I64", (fit["samples"],))
    for name, (dtype, shape) in expected.items():
        check_tensor(table, name, dtype, shape)
    extra = set(table) - set(expected)
    if extra:
        raise _Invalid(f"it has tensors a checkpoint does not use: {_short(sorted(extra))}")


def _check_optimizer(
    saved: Any, model_tensors: dict[str, TensorEntry], dtype_code: str
) -> dict[str, tuple[str, tuple[int, ...]]]:
    if not isinstance(saved, dict) or set(saved) != _OPTIMIZER_KEYS:
        raise _Invalid(f"optimizer should have the fields {sorted(_OPTIMIZER_KEYS)}")
    kind = saved["type"]
    if not isinstance(kind, str) or kind not in OPTIMIZER_TYPES:
        raise _Invalid(f"optimizer type {_short(kind)} is not one of {sorted(OPTIMIZER_TYPES)}")
    _check_options(saved["options"], _optimizer_options(OPTIMIZER_TYPES[kind]), f"{kind} options")
    rate = saved["learning_rate"]
    if isinstance(rate, dict):
        if set(rate) != {"schedule", "config"} or rate["schedule"] not in SCHEDULE_TYPES:
            raise _Invalid(
                f"learning_rate {_short(rate)} is not a schedule of {sorted(SCHEDULE_TYPES)}"
            )
        schedule = SCHEDULE_TYPES[rate["schedule"]]
        _check_options(rate["config"], set(signature(schedule).parameters), "schedule config")
    elif not (rate is None or (_is_number(rate) and rate >= 0)):
        raise _Invalid(f"learning_rate is {_short(rate)}; expected a number, schedule or null")
    current = saved["current_learning_rate"]
    if not (_is_number(current) and current >= 0):
        raise _Invalid(f"current_learning_rate is {_short(current)}; expected a number >= 0")
    iterations = saved["iterations"]
    if not (_is_int(iterations) and 0 <= iterations <= _MAX_COUNT):
        raise _Invalid(f"iterations is {_short(iterations)}; expected an integer >= 0")
    state = saved["state"]
    if not isinstance(state, dict) or (iterations > 0 and not state):
        raise _Invalid("the optimizer state should map parameters to their arrays' names")
    n_values = sum(entry.count for entry in model_tensors.values())
    tensors = {}
    for target, keys in state.items():
        if target == "*":
            shape: tuple[int, ...] = (n_values,)
        elif target in model_tensors:
            shape = model_tensors[target].shape
        else:
            raise _Invalid(f"the optimizer state names {_short(target)}, which is not a parameter")
        if (
            not isinstance(keys, list)
            or len(set(map(str, keys))) != len(keys)
            or not all(isinstance(k, str) and k.isidentifier() for k in keys)
        ):
            raise _Invalid(f"the optimizer state of {_short(target)} lists {_short(keys)}")
        for key in keys:
            tensors[f"optimizer.{target}.{key}"] = (dtype_code, shape)
    return tensors


def _check_options(options: Any, allowed: set[str], what: str) -> None:
    if not isinstance(options, dict) or not set(options) <= allowed:
        raise _Invalid(f"{what} {_short(options)} should only have the fields {sorted(allowed)}")
    for key, value in options.items():
        if not (value is None or _is_number(value) or isinstance(value, bool)):
            raise _Invalid(f"{what} has {key}={_short(value)}; expected a number")


def _check_training(training: Any, n_outputs: int) -> dict[str, int]:
    if not isinstance(training, dict) or set(training) != _TRAINING_KEYS:
        raise _Invalid(f"training should have the fields {sorted(_TRAINING_KEYS)}")
    fit = training["fit"]
    if (
        not isinstance(fit, dict)
        or set(fit) != _FIT_KEYS
        or not all(_is_int(v) and 1 <= v <= _MAX_COUNT for v in fit.values())
        or fit["batches"] != -(-fit["samples"] // fit["batch_size"])
    ):
        raise _Invalid(f"training.fit is {_short(fit)}; expected consistent positive counts")
    limits = {
        "epoch": fit["epochs"],
        "batch": fit["batches"],
        "seen": fit["samples"],
        "correct": fit["samples"] * max(n_outputs, 1),
    }
    for key, limit in limits.items():
        value = training[key]
        if not (_is_int(value) and 0 <= value <= limit):
            raise _Invalid(
                f"training.{key} is {_short(value)}; expected an integer in [0, {limit}]"
            )
    if training["correct"] > training["seen"] * max(n_outputs, 1):
        raise _Invalid("training.correct exceeds the samples seen")
    if not _is_number(training["total_loss"]):
        raise _Invalid(f"training.total_loss is {_short(training['total_loss'])}")
    _check_rng_state(training["rng_state"])
    return fit


def _check_rng_state(saved: Any) -> None:
    """A NumPy PCG64 state (what ``np.random.default_rng`` uses), as JSON."""
    expected = "a PCG64 generator state"
    if not isinstance(saved, dict) or set(saved) != {
        "bit_generator",
        "state",
        "has_uint32",
        "uinteger",
    }:
        raise _Invalid(f"training.rng_state is {_short(saved)}; expected {expected}")
    inner = saved["state"]
    if (
        saved["bit_generator"] != "PCG64"
        or not isinstance(inner, dict)
        or set(inner) != {"state", "inc"}
        or not all(_is_int(v) and 0 <= v < 2**128 for v in inner.values())
        or saved["has_uint32"] not in (0, 1)
        or not _is_int(saved["has_uint32"])
        or not (_is_int(saved["uinteger"]) and 0 <= saved["uinteger"] < 2**32)
    ):
        raise _Invalid(f"training.rng_state is {_short(saved)}; expected {expected}")


def _build_optimizer(
    saved: dict[str, Any], model: Sequential, arrays: dict[str, np.ndarray], name: str
) -> optimizers.Optimizer:
    cls = OPTIMIZER_TYPES[saved["type"]]
    rate = saved["learning_rate"]
    try:
        if isinstance(rate, dict):
            learning_rate: Any = SCHEDULE_TYPES[rate["schedule"]](**rate["config"])
        elif rate is None:
            learning_rate = float(saved["current_learning_rate"])
            warnings.warn(
                f"{name}: the learning rate was a custom function, which a checkpoint cannot "
                f"hold; the optimizer continues at {learning_rate:g}. Pass learning_rate= to "
                "resume() to restore the function.",
                stacklevel=3,
            )
        else:
            learning_rate = float(rate)
        optimizer = cls(model.parameters(), learning_rate=learning_rate, **saved["options"])
        optimizer.load_state_dict(
            {
                "iterations": saved["iterations"],
                "state": {
                    target: {key: arrays[f"optimizer.{target}.{key}"] for key in keys}
                    for target, keys in saved["state"].items()
                },
            }
        )
    except Exception as error:  # NOTE: the optimizer's own checks of options and state
        raise _Invalid(f"the optimizer cannot be rebuilt: {_clip(str(error), 200)}") from None
    for target, keys in saved["state"].items():
        missing = set(optimizer.state[target]) - {"scratch"} - set(keys)
        if missing:
            raise _Invalid(f"the optimizer state of {target!r} lacks {sorted(missing)}")
    return optimizer


def _training_state(document: dict[str, Any], arrays: dict[str, np.ndarray]) -> TrainingState:
    training = document["training"]
    order = arrays.get(_ORDER)
    if order is not None:
        samples = training["fit"]["samples"]
        # In range first (bincount would fail on a negative), then each sample exactly once.
        if order.min() < 0 or order.max() >= samples:
            raise _Invalid(f"training.order holds sample numbers outside [0, {samples})")
        if not (np.bincount(order, minlength=samples) == 1).all():
            raise _Invalid("training.order repeats some samples and misses others")
        order = np.array(order, dtype=np.int64)  # a writable, native-endian copy
    try:  # the structure was checked; NumPy checks the values
        np.random.PCG64().state = training["rng_state"]
    except (TypeError, ValueError) as error:
        problem = f"training.rng_state is refused by NumPy: {_clip(str(error), 200)}"
        raise _Invalid(problem) from None
    return TrainingState(
        epoch=training["epoch"],
        batch=training["batch"],
        order=order,
        rng_state=training["rng_state"],
        total_loss=float(training["total_loss"]),
        correct=training["correct"],
        seen=training["seen"],
        history=restore_history(document["history"] or {}),
    )
