"""``--arch`` layer specs such as ``conv32-pool-conv64-pool-dense128``, for the CLI.

The parser itself is `glassnet.models.architecture` (the lab's training form uses it too, and
its module docstring lists the tokens); here its errors become `UserError` lines, and image rows
are reshaped for convolutional models. Sizes-only specs such as ``784-16-16-10`` stay MLPs
(built in `building`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import glassnet as gn
from glassnet import datasets
from glassnet.models import architecture
from glassnet.models.architecture import describe, is_layer_spec

from .application import UserError

__all__ = [
    "DEFAULT_DIGIT_ARCH",
    "DEFAULT_IMAGE_ARCH",
    "as_model_inputs",
    "build_cnn",
    "describe",
    "image_shape",
]
__all__ += ["is_layer_spec"]

# what an image folder trains when no architecture is given: a small CNN with augmentation
DEFAULT_IMAGE_ARCH = "augflip-conv16-pool-conv32-pool-dense64"
# ... and a folder of handwritten digits: the same without flips (a mirrored 2 is no digit)
DEFAULT_DIGIT_ARCH = "aug-conv16-pool-conv32-pool-dense64"


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
    try:
        return architecture.build_cnn(spec, input_shape, n_outputs, output, activation, seed)
    except architecture.ArchitectureError as error:
        raise UserError(f"--arch {error}") from None


def as_model_inputs(model: gn.Sequential, X: np.ndarray) -> np.ndarray:
    """Rows of flat pixels → the (n, C, H, W) images a convolutional model takes
    (`glassnet.datasets.to_model_layout`); MLP inputs are returned unchanged."""
    try:
        return datasets.to_model_layout(model.input_shape, X)
    except datasets.DatasetError as error:
        raise UserError(str(error)) from None
