"""The checkpoint's part of a file: the optimizer and the fit's position, written and checked.

A checkpoint is a model file with two more document fields, ``"optimizer"`` and ``"training"``,
and more tensors (the layout is in `glassnet.io.checkpoints`). This module turns an optimizer into
its document, checks both fields and their tensors before anything is read, and rebuilds the
optimizer and the `TrainingState` from them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from inspect import signature
from typing import Any

import numpy as np

from ..models import Sequential
from ..train import optimizers, schedules
from ..train.loop import TrainingState
from .architecture import FLOAT_CODES
from .checks import clip, is_int, is_number, short
from .container import TensorEntry, check_tensor
from .document import check_model_document, restore_history
from .errors import Invalid

OPTIMIZER_TYPES: dict[str, type[optimizers.Optimizer]] = {
    cls.__name__: cls for cls in optimizers.OPTIMIZERS.values()
}
SCHEDULE_TYPES: dict[str, type[schedules.Schedule]] = {
    cls.__name__: cls for cls in schedules.SCHEDULES.values()
}
OPTIMIZER_KEYS = {
    "type",
    "options",
    "learning_rate",
    "current_learning_rate",
    "iterations",
    "state",
}
TRAINING_KEYS = {"epoch", "batch", "rng_state", "total_loss", "correct", "seen", "fit"}
FIT_KEYS = {"epochs", "batches", "samples", "batch_size"}
ORDER = "training.order"  # the tensor of the epoch's sample order
MAX_COUNT = 2**62


def check_optimizer_type(optimizer: Any) -> None:
    kind = type(optimizer).__name__
    if OPTIMIZER_TYPES.get(kind) is not type(optimizer):
        raise TypeError(
            f"Checkpoints hold the built-in optimizers {sorted(OPTIMIZER_TYPES)}, got {kind}, "
            "whose state they could not restore without running its code."
        )


def optimizer_document(optimizer: optimizers.Optimizer, saved: dict[str, Any]) -> dict[str, Any]:
    check_optimizer_type(optimizer)
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


def check_checkpoint_file(document: dict[str, Any], table: Mapping[str, TensorEntry]) -> None:
    """The checks of a checkpoint's document and tensors before anything is read or built."""
    architecture = check_model_document(document, table, frozenset({"optimizer", "training"}))
    dtype_code = FLOAT_CODES[document["config"]["dtype"]]
    expected = {name: (dtype_code, entry.shape) for name, entry in architecture.tensors.items()}
    # the optimizer's state belongs to the parameters only: buffers are never stepped
    expected.update(_check_optimizer(document["optimizer"], architecture.parameters, dtype_code))
    training = document["training"]
    fit = _check_training(training, document["n_outputs"])
    if ORDER in table:
        expected[ORDER] = ("I64", (fit["samples"],))
    for name, (dtype, shape) in expected.items():
        check_tensor(table, name, dtype, shape)
    extra = set(table) - set(expected)
    if extra:
        raise Invalid(f"it has tensors a checkpoint does not use: {short(sorted(extra))}")


def _check_optimizer(
    saved: Any, model_tensors: Mapping[str, TensorEntry], dtype_code: str
) -> dict[str, tuple[str, tuple[int, ...]]]:
    if not isinstance(saved, dict) or set(saved) != OPTIMIZER_KEYS:
        raise Invalid(f"optimizer should have the fields {sorted(OPTIMIZER_KEYS)}")
    kind = saved["type"]
    if not isinstance(kind, str) or kind not in OPTIMIZER_TYPES:
        raise Invalid(f"optimizer type {short(kind)} is not one of {sorted(OPTIMIZER_TYPES)}")
    _check_options(saved["options"], _optimizer_options(OPTIMIZER_TYPES[kind]), f"{kind} options")
    rate = saved["learning_rate"]
    if isinstance(rate, dict):
        if (
            set(rate) != {"schedule", "config"}
            or not isinstance(rate["schedule"], str)
            or rate["schedule"] not in SCHEDULE_TYPES
        ):
            raise Invalid(
                f"learning_rate {short(rate)} is not a schedule of {sorted(SCHEDULE_TYPES)}"
            )
        schedule = SCHEDULE_TYPES[rate["schedule"]]
        _check_options(rate["config"], set(signature(schedule).parameters), "schedule config")
    elif not (rate is None or (is_number(rate) and rate >= 0)):
        raise Invalid(f"learning_rate is {short(rate)}; expected a number, schedule or null")
    current = saved["current_learning_rate"]
    if not (is_number(current) and current >= 0):
        raise Invalid(f"current_learning_rate is {short(current)}; expected a number >= 0")
    iterations = saved["iterations"]
    if not (is_int(iterations) and 0 <= iterations <= MAX_COUNT):
        raise Invalid(f"iterations is {short(iterations)}; expected an integer >= 0")
    state = saved["state"]
    if not isinstance(state, dict) or (iterations > 0 and not state):
        raise Invalid("the optimizer state should map parameters to their arrays' names")
    n_values = sum(entry.count for entry in model_tensors.values())
    tensors = {}
    for target, keys in state.items():
        if target == "*":
            shape: tuple[int, ...] = (n_values,)
        elif target in model_tensors:
            shape = model_tensors[target].shape
        else:
            raise Invalid(f"the optimizer state names {short(target)}, which is not a parameter")
        if (
            not isinstance(keys, list)
            or len(set(map(str, keys))) != len(keys)
            or not all(isinstance(k, str) and k.isidentifier() for k in keys)
        ):
            raise Invalid(f"the optimizer state of {short(target)} lists {short(keys)}")
        for key in keys:
            tensors[f"optimizer.{target}.{key}"] = (dtype_code, shape)
    return tensors


def _check_options(options: Any, allowed: set[str], what: str) -> None:
    if not isinstance(options, dict) or not set(options) <= allowed:
        raise Invalid(f"{what} {short(options)} should only have the fields {sorted(allowed)}")
    for key, value in options.items():
        if not (value is None or is_number(value) or isinstance(value, bool)):
            raise Invalid(f"{what} has {key}={short(value)}; expected a number")


def _check_training(training: Any, n_outputs: int) -> dict[str, int]:
    if not isinstance(training, dict) or set(training) != TRAINING_KEYS:
        raise Invalid(f"training should have the fields {sorted(TRAINING_KEYS)}")
    fit = training["fit"]
    if (
        not isinstance(fit, dict)
        or set(fit) != FIT_KEYS
        or not all(is_int(v) and 1 <= v <= MAX_COUNT for v in fit.values())
        or fit["batches"] != -(-fit["samples"] // fit["batch_size"])
    ):
        raise Invalid(f"training.fit is {short(fit)}; expected consistent positive counts")
    limits = {
        "epoch": fit["epochs"],
        "batch": fit["batches"],
        "seen": fit["samples"],
        "correct": fit["samples"] * max(n_outputs, 1),
    }
    for key, limit in limits.items():
        value = training[key]
        if not (is_int(value) and 0 <= value <= limit):
            raise Invalid(f"training.{key} is {short(value)}; expected an integer in [0, {limit}]")
    if training["correct"] > training["seen"] * max(n_outputs, 1):
        raise Invalid("training.correct exceeds the samples seen")
    if not is_number(training["total_loss"]):
        raise Invalid(f"training.total_loss is {short(training['total_loss'])}")
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
        raise Invalid(f"training.rng_state is {short(saved)}; expected {expected}")
    inner = saved["state"]
    if (
        saved["bit_generator"] != "PCG64"
        or not isinstance(inner, dict)
        or set(inner) != {"state", "inc"}
        or not all(is_int(v) and 0 <= v < 2**128 for v in inner.values())
        or saved["has_uint32"] not in (0, 1)
        or not is_int(saved["has_uint32"])
        or not (is_int(saved["uinteger"]) and 0 <= saved["uinteger"] < 2**32)
    ):
        raise Invalid(f"training.rng_state is {short(saved)}; expected {expected}")


def build_optimizer(
    saved: dict[str, Any], model: Sequential, arrays: Mapping[str, np.ndarray], name: str
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
        raise Invalid(f"the optimizer cannot be rebuilt: {clip(str(error), 200)}") from None
    for target, keys in saved["state"].items():
        missing = set(optimizer.state[target]) - {"scratch"} - set(keys)
        if missing:
            raise Invalid(f"the optimizer state of {target!r} lacks {sorted(missing)}")
    return optimizer


def restore_training_state(
    document: dict[str, Any], arrays: Mapping[str, np.ndarray]
) -> TrainingState:
    training = document["training"]
    order = arrays.get(ORDER)
    if order is not None:
        samples = training["fit"]["samples"]
        # In range first (bincount would fail on a negative), then each sample exactly once.
        if order.min() < 0 or order.max() >= samples:
            raise Invalid(f"training.order holds sample numbers outside [0, {samples})")
        if not (np.bincount(order, minlength=samples) == 1).all():
            raise Invalid("training.order repeats some samples and misses others")
        order = np.array(order, dtype=np.int64)  # a writable, native-endian copy
    try:  # the structure was checked; NumPy checks the values
        np.random.PCG64().state = training["rng_state"]
    except (TypeError, ValueError) as error:
        problem = f"training.rng_state is refused by NumPy: {clip(str(error), 200)}"
        raise Invalid(problem) from None
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
