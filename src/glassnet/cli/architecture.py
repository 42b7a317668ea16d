"""Readable layer specs for ``--arch``: ``conv32-pool-conv64-pool-dense128`` builds a CNN.

Tokens joined by ``-``, read left to right from the data's image shape:

- ``conv32``: a 3×3 convolution with 32 filters, then the hidden activation (ReLU by default);
  ``conv6k5`` a 5×5 one; a ``same`` suffix (``conv32same``) pads to keep height and width;
- ``bn``: a batch normalisation of the previous layer's channels or features;
- ``pool``: 2×2 max pooling (``pool3``: 3×3), ``avgpool``, ``gap`` (global average pooling);
- ``dense128``: a fully connected layer of 128 neurons and the activation (the flatten before
  the first one is implied);
- ``dropout0.5``; ``aug``: augmentation in training (shifts of 2 pixels and rotations of up to
  10°), ``augflip`` (and horizontal flips, for photos, not digits).

The output layer (one neuron per class) is added at the end. Sizes-only specs such as
``784-16-16-10`` stay MLPs (built in `building`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

import glassnet as gn

from .application import UserError

# what an image folder trains when no architecture is given: a small CNN with augmentation
DEFAULT_IMAGE_ARCH = "augflip-conv16-pool-conv32-pool-dense64"
# ... and a folder of handwritten digits: the same without flips (a mirrored 2 is no digit)
DEFAULT_DIGIT_ARCH = "aug-conv16-pool-conv32-pool-dense64"
_TOKEN = re.compile(
    r"(?P<kind>conv|avgpool|pool|dense|dropout|bn|gap|augflip|aug)"
    r"(?P<number>\d+(\.\d+)?)?(k(?P<kernel>\d+))?(?P<same>same)?$"
)


def is_layer_spec(spec: Any) -> bool:
    """Whether ``spec`` names layers (``conv32-pool-...``) rather than only sizes (``784-16``)."""
    # a spec naming at least one layer; "784-x-10" stays a (bad) list of sizes
    return isinstance(spec, str) and any(_TOKEN.match(t) for t in spec.lower().split("-"))


def image_shape(preprocessing: dict[str, Any]) -> tuple[int, int, int] | None:
    """``(C, H, W)`` of the images a data source gives, or None for tables."""
    if preprocessing.get("kind") != "image":
        return None
    height, width = preprocessing.get("image_size", [28, 28])
    return (3 if preprocessing.get("color") == "rgb" else 1, int(height), int(width))


def build_cnn(
    spec: str,
    input_shape: tuple[int, int, int] | None,
    n_outputs: int,
    output: str,
    activation: str,
    seed: int | None,
) -> gn.Sequential:
    """The `Sequential` model a layer spec describes, for images of ``input_shape`` (C, H, W)."""
    if input_shape is None:
        raise UserError(
            f"--arch {spec} describes a convolutional network, which needs images; this data is "
            "a table. Use sizes such as --arch 8-16-1, or train on an image data set or folder."
        )
    rng = np.random.default_rng(seed)
    layers: list[gn.Layer] = []
    shape: tuple[int, ...] = input_shape
    relu_family = activation in ("relu", "leaky_relu")
    init = "he_normal" if relu_family else "glorot_uniform"

    def add(layer: gn.Layer) -> None:
        nonlocal shape
        try:
            shape = layer.output_shape(shape)
        except gn.ShapeError as error:
            raise UserError(f"--arch {spec}: {error}") from None
        layers.append(layer)

    for token in spec.lower().split("-"):
        match = _TOKEN.match(token)
        if match is None:
            raise UserError(
                f"--arch {spec}: {token!r} is not a layer; expected tokens such as conv32, "
                "conv6k5, pool, avgpool, gap, bn, dense128, dropout0.5, aug or augflip "
                "(e.g. conv32-pool-conv64-pool-dense128)."
            )
        kind, number = match["kind"], match["number"]
        if kind in ("conv", "dense") and (number is None or "." in number or int(number) < 1):
            raise UserError(f"--arch {spec}: {token!r} needs a whole number, e.g. {kind}32.")
        if kind == "conv":
            if len(shape) != 3:
                raise UserError(f"--arch {spec}: {token} comes after the flatten (dense, gap).")
            kernel = int(match["kernel"] or 3)
            padding = "same" if match["same"] else 0
            add(
                gn.Conv2D(shape[0], int(number), kernel, padding=padding, weight_init=init, rng=rng)
            )
            add(gn.activations.get(activation))
        elif kind in ("pool", "avgpool"):
            size = int(float(number)) if number else 2
            add((gn.MaxPool2D if kind == "pool" else gn.AvgPool2D)(size))
        elif kind == "gap":
            add(gn.GlobalAvgPool2D())
        elif kind == "bn":
            add(gn.BatchNorm(shape[0]))
        elif kind == "dense":
            if len(shape) != 1:
                add(gn.Flatten())
            add(gn.Dense(shape[0], int(number), weight_init=init, rng=rng))
            add(gn.activations.get(activation))
        elif kind == "dropout":
            rate = float(number) if number else 0.5
            if not 0 <= rate < 1:
                raise UserError(f"--arch {spec}: dropout rate must be in [0, 1), got {rate}.")
            add(gn.Dropout(rate))
        else:  # aug, augflip
            if layers:
                raise UserError(f"--arch {spec}: {token} must come first.")
            add(gn.Augment(max_shift=2, horizontal_flip=kind == "augflip", max_rotation=10.0))
    if len(shape) != 1:
        add(gn.Flatten())
    add(gn.Dense(shape[0], n_outputs, rng=rng))
    return gn.Sequential(layers, input_shape=input_shape, output=output, seed=seed)


def describe(model: gn.Sequential) -> str:
    """The model as a readable spec again (``conv32-pool-dense128``), for logs and summaries."""
    if len(model.input_shape) == 1 and all(
        isinstance(la, (gn.Dense, gn.nn.Activation, gn.Dropout)) for la in model.layers
    ):
        sizes = [model.n_inputs] + [la.n_neurons for la in model.layers if isinstance(la, gn.Dense)]
        return "-".join(map(str, sizes))
    parts: list[str] = []
    for layer in model.layers:
        if isinstance(layer, gn.Conv2D):
            kernel = layer.kernel_size[0]
            parts.append(f"conv{layer.n_filters}" + (f"k{kernel}" if kernel != 3 else ""))
        elif isinstance(layer, gn.MaxPool2D):
            parts.append("pool" + (str(layer.pool_size[0]) if layer.pool_size[0] != 2 else ""))
        elif isinstance(layer, gn.AvgPool2D):
            parts.append("avgpool")
        elif isinstance(layer, gn.GlobalAvgPool2D):
            parts.append("gap")
        elif isinstance(layer, gn.BatchNorm):
            parts.append("bn")
        elif isinstance(layer, gn.Augment):
            parts.append("augflip" if layer.horizontal_flip else "aug")
        elif isinstance(layer, gn.Dense):
            parts.append(f"dense{layer.n_neurons}")
    return "-".join(parts)


def as_model_inputs(model: gn.Sequential, X: np.ndarray) -> np.ndarray:
    """Rows of flat pixels → the (n, C, H, W) images a convolutional model takes.

    Image rows are stored as the data sets decode them (height, width, then the colour channel
    for RGB); a CNN wants channels first. MLP inputs are returned unchanged.
    """
    if len(model.input_shape) == 1 or X.ndim != 2:
        return X
    channels, height, width = model.input_shape
    if X.shape[1] != math.prod(model.input_shape):
        raise UserError(
            f"The model expects images of {channels}×{height}×{width} = "
            f"{math.prod(model.input_shape)} values, got {X.shape[1]} per sample."
        )
    if channels == 1:
        return X.reshape(len(X), 1, height, width)
    # (n, H·W·C) in height, width, channel order → (n, C, H, W), one contiguous copy
    return np.ascontiguousarray(X.reshape(len(X), height, width, channels).transpose(0, 3, 1, 2))
