"""Readable layer specs: ``conv32-pool-conv64-pool-dense128`` builds a CNN.

Tokens joined by ``-``, read left to right from the images' shape ``(C, H, W)``:

- ``conv32``: a 3×3 convolution with 32 filters, then the hidden activation (ReLU by default);
  ``conv6k5`` a 5×5 one; a ``same`` suffix (``conv32same``) pads to keep height and width;
- ``bn``: a batch normalisation of the previous layer's channels or features;
- ``pool``: 2×2 max pooling (``pool3``: 3×3), ``avgpool``, ``gap`` (global average pooling);
- ``dense128``: a fully connected layer of 128 neurons and the activation (the flatten before
  the first one is implied);
- ``dropout0.5``; ``aug``: augmentation in training (shifts of 2 pixels and rotations of up to
  10°), ``augflip`` (and horizontal flips, for photos, not digits).

The output layer (one neuron per class) is added at the end. Sizes-only specs such as
``784-16-16-10`` stay MLPs. The parser is pure (no apps): the CLI's ``--arch`` and the lab's
training form both use it, each turning `ArchitectureError` into its own kind of answer.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..nn import (
    Augment,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    activations,
)
from .sequential import Sequential

TOKEN = re.compile(
    r"(?P<kind>conv|avgpool|pool|dense|dropout|bn|gap|augflip|aug)"
    r"(?P<number>\d+(\.\d+)?)?(k(?P<kernel>\d+))?(?P<same>same)?$"
)


class ArchitectureError(ValueError):
    """A layer spec that does not describe a network for the given images."""


def is_layer_spec(spec: Any) -> bool:
    """Whether ``spec`` names layers (``conv32-pool-...``) rather than only sizes (``784-16``)."""
    # a spec naming at least one layer; "784-x-10" stays a (bad) list of sizes
    return isinstance(spec, str) and any(TOKEN.match(t) for t in spec.lower().split("-"))


def build_cnn(
    spec: str,
    input_shape: tuple[int, int, int],
    n_outputs: int,
    output: str,
    activation: str,
    seed: int | None,
) -> Sequential:
    """The `Sequential` model a layer spec describes, for images of ``input_shape`` (C, H, W).

    Raises
    ------
    ArchitectureError
        For an unknown token or layers that do not chain (the message names the spec).
    """
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    shape: tuple[int, ...] = tuple(input_shape)
    relu_family = activation in ("relu", "leaky_relu")
    init = "he_normal" if relu_family else "glorot_uniform"

    def add(layer: Layer) -> None:
        nonlocal shape
        try:
            shape = layer.output_shape(shape)
        except ShapeError as error:
            raise ArchitectureError(f"{spec}: {error}") from None
        layers.append(layer)

    for token in spec.lower().split("-"):
        match = TOKEN.match(token)
        if match is None:
            raise ArchitectureError(
                f"{spec}: {token!r} is not a layer; expected tokens such as conv32, "
                "conv6k5, pool, avgpool, gap, bn, dense128, dropout0.5, aug or augflip "
                "(e.g. conv32-pool-conv64-pool-dense128)."
            )
        kind, number = match["kind"], match["number"]
        if kind in ("conv", "dense") and (number is None or "." in number or int(number) < 1):
            raise ArchitectureError(f"{spec}: {token!r} needs a whole number, e.g. {kind}32.")
        if kind == "conv":
            if len(shape) != 3:
                raise ArchitectureError(f"{spec}: {token} comes after the flatten (dense, gap).")
            kernel = int(match["kernel"] or 3)
            padding = "same" if match["same"] else 0
            add(Conv2D(shape[0], int(number), kernel, padding=padding, weight_init=init, rng=rng))
            add(activations.get(activation))
        elif kind in ("pool", "avgpool"):
            size = int(float(number)) if number else 2
            add((MaxPool2D if kind == "pool" else AvgPool2D)(size))
        elif kind == "gap":
            add(GlobalAvgPool2D())
        elif kind == "bn":
            add(BatchNorm(shape[0]))
        elif kind == "dense":
            if len(shape) != 1:
                add(Flatten())
            add(Dense(shape[0], int(number), weight_init=init, rng=rng))
            add(activations.get(activation))
        elif kind == "dropout":
            rate = float(number) if number else 0.5
            if not 0 <= rate < 1:
                raise ArchitectureError(f"{spec}: dropout rate must be in [0, 1), got {rate}.")
            add(Dropout(rate))
        else:  # aug, augflip
            if layers:
                raise ArchitectureError(f"{spec}: {token} must come first.")
            add(Augment(max_shift=2, horizontal_flip=kind == "augflip", max_rotation=10.0))
    if len(shape) != 1:
        add(Flatten())
    add(Dense(shape[0], n_outputs, rng=rng))
    return Sequential(layers, input_shape=input_shape, output=output, seed=seed)


def describe(model: Sequential) -> str:
    """The model as a readable spec again (``conv32-pool-dense128``), for logs and summaries."""
    if len(model.input_shape) == 1 and all(
        isinstance(la, (Dense, activations.Activation, Dropout)) for la in model.layers
    ):
        sizes = [model.n_inputs] + [la.n_neurons for la in model.layers if isinstance(la, Dense)]
        return "-".join(map(str, sizes))
    parts: list[str] = []
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            kernel = layer.kernel_size[0]
            parts.append(f"conv{layer.n_filters}" + (f"k{kernel}" if kernel != 3 else ""))
        elif isinstance(layer, MaxPool2D):
            parts.append("pool" + (str(layer.pool_size[0]) if layer.pool_size[0] != 2 else ""))
        elif isinstance(layer, AvgPool2D):
            parts.append("avgpool")
        elif isinstance(layer, GlobalAvgPool2D):
            parts.append("gap")
        elif isinstance(layer, BatchNorm):
            parts.append("bn")
        elif isinstance(layer, Augment):
            parts.append("augflip" if layer.horizontal_flip else "aug")
        elif isinstance(layer, Dense):
            parts.append(f"dense{layer.n_neurons}")
    return "-".join(parts)
