"""The network, optimizer and learning-rate schedule ``glassnet train`` builds from its settings.

The architecture comes from ``--arch 784-16-16-10``, a layer spec such as
``--arch conv32-pool-conv64-pool-dense128``, a TOML model config ``--arch model.toml`` (see
`architecture`) or ``--hidden 16,16`` and must
fit the data; image folders train a small CNN with augmentation unless told otherwise. The
optimizer and its learning rate default to a good pair for the hidden activation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import glassnet as gn

from .application import UserError
from .architecture import (
    build_cnn,
    build_from_model_config,
    image_shape,
    is_layer_spec,
    is_model_config,
)
from .data import Data
from .options import DEFAULT_HIDDEN, DEFAULT_OPTIMIZER, MAX_PARAMETERS


def build_model(data: Data, options: dict[str, Any]) -> gn.Sequential:
    n_features = data.X_train.shape[1]
    if data.task == "regression":
        n_outputs, output = 1, "identity"
    else:
        n_outputs = len(data.class_names or np.unique(data.y_train))
        output = "softmax" if n_outputs > 2 else "sigmoid"
        if output == "sigmoid":
            n_outputs = 1
    if options["arch"] and options["hidden"]:
        raise UserError("Give the architecture as --arch or as --hidden, not both.")
    if is_model_config(options["arch"]):
        model = build_from_model_config(
            str(options["arch"]).strip(),
            image_shape(data.preprocessing) or (n_features,),
            n_outputs,
            output,
            options["seed"],
        )
        model.class_names = data.class_names
        return model
    if is_layer_spec(options["arch"]):
        model = build_cnn(
            str(options["arch"]),
            image_shape(data.preprocessing),
            n_outputs,
            output,
            options["activation"],
            options["seed"],
        )
        model.class_names = data.class_names
        return model
    if options["arch"]:
        try:
            sizes = [int(part) for part in str(options["arch"]).split("-")]
        except ValueError:
            raise UserError(
                f"--arch must be layer sizes joined by '-', e.g. 784-16-16-10, or layers such "
                f"as conv32-pool-conv64-pool-dense128, got "
                f"{options['arch']!r}."
            ) from None
        if len(sizes) < 2 or min(sizes) < 1:
            raise UserError(f"--arch needs at least two positive sizes, got {options['arch']!r}.")
        if sizes[0] != n_features or sizes[-1] != n_outputs:
            raise UserError(
                f"--arch {options['arch']} does not fit the data: it has {n_features} input "
                f"features and needs {n_outputs} outputs, so the architecture must start with "
                f"{n_features} and end with {n_outputs} (e.g. {n_features}-16-16-{n_outputs})."
            )
    else:
        hidden = options["hidden"]
        try:
            sizes_hidden = (
                [int(s) for s in str(hidden).split(",") if s.strip()]
                if hidden is not None
                else list(DEFAULT_HIDDEN)
            )
        except ValueError:
            raise UserError(
                f"--hidden must be sizes joined by ',', e.g. 16,16, got {hidden!r}."
            ) from None
        if not sizes_hidden and hidden is not None and str(hidden).strip():
            raise UserError(f"--hidden must be sizes joined by ',', e.g. 16,16, got {hidden!r}.")
        if any(size < 1 for size in sizes_hidden):
            raise UserError(f"--hidden sizes must be at least 1, got {hidden!r}.")
        sizes = [n_features, *sizes_hidden, n_outputs]
    n_parameters = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    if n_parameters > MAX_PARAMETERS:
        raise UserError(
            f"The network {'-'.join(map(str, sizes))} would have {n_parameters:,} parameters; "
            f"glassnet train builds at most {MAX_PARAMETERS:,}. Use smaller layers."
        )
    activation = options["activation"]
    if activation == "step":
        raise UserError(
            "A step activation cannot be trained by backpropagation (its derivative is 0); use "
            "sigmoid, tanh, relu or leaky_relu."
        )
    model = gn.MLP(sizes, activation=activation, output=output, seed=options["seed"])
    model.class_names = data.class_names
    return model


def optimizer_choice(options: dict[str, Any]) -> tuple[str, float]:
    """The optimizer's name and learning rate that ``options`` ask for, defaults filled in."""
    name, rate = DEFAULT_OPTIMIZER.get(options["activation"], ("adam", 1e-3))
    if options["optimizer"] and options["optimizer"].lower() != name:
        # Another optimizer than the activation's pair: its own usual rate, not the pair's
        # (Adam at SGD's 0.1 diverges).
        name = options["optimizer"].lower()
        rate = 0.1 if name == "sgd" else 1e-3
    if options["learning_rate"] is not None:
        rate = options["learning_rate"]
    return name, float(rate)


def make_optimizer(model: gn.Sequential, options: dict[str, Any]) -> gn.optimizers.Optimizer:
    name, rate = optimizer_choice(options)
    extra = {"momentum": options["momentum"]} if name == "sgd" else {}
    kernel = options.get("kernel", "auto")
    return gn.optimizers.get(name, model.parameters(), learning_rate=rate, kernel=kernel, **extra)


def make_schedule(options: dict[str, Any], rate: float):
    epochs, kind = options["epochs"], options["schedule"]
    if kind == "constant":
        return None
    if kind == "step":
        return gn.schedules.StepDecay(rate, factor=0.5, every=max(1, epochs // 3))
    if kind == "exponential":
        return gn.schedules.ExponentialDecay(rate, rate=0.9)
    if kind == "cosine":
        return gn.schedules.CosineDecay(rate, total=max(epochs, 2), warmup=1 if epochs > 2 else 0)
    raise UserError(f"--schedule must be constant, step, exponential or cosine, got {kind!r}.")
