"""``--arch`` layer specs such as ``conv32-pool-conv64-pool-dense128``, and TOML model configs.

The spec parser itself is `glassnet.models.architecture` (the lab's training form uses it too,
and its module docstring lists the tokens); here its errors become `UserError` lines, and image
rows are reshaped for convolutional models. Sizes-only specs such as ``784-16-16-10`` stay MLPs
(built in `building`).

``--arch model.toml`` reads a model config: the layers in order, one ``[[layers]]`` table each,
with its registered type and that type's constructor options::

    [[layers]]
    type = "Conv2D"
    n_filters = 32
    kernel_size = 3

    [[layers]]
    type = "ReLU"

The options are checked exactly as a model file's are (`glassnet.io.architecture`: the options
each type declares, their kinds and bounds, then the shapes chaining from the data's), before
anything is built; the input size of a layer (``n_channels``, ``n_inputs``, ``n_features``) may
be left out and is then the previous layer's output. The file lists every layer, the output
layer too: nothing is added.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np

import glassnet as gn
from glassnet import datasets
from glassnet.errors import ShapeError
from glassnet.io.architecture import check_options
from glassnet.io.checks import check_name, short
from glassnet.io.errors import Invalid
from glassnet.models import architecture
from glassnet.models.architecture import describe, is_layer_spec
from glassnet.nn import LAYER_TYPES

from .application import UserError
from .options import MAX_PARAMETERS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "DEFAULT_DIGIT_ARCH",
    "DEFAULT_IMAGE_ARCH",
    "as_model_inputs",
    "build_cnn",
    "build_from_model_config",
    "describe",
    "image_shape",
    "is_model_config",
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


# a model config is a short text file: anything bigger is not one
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_LAYERS = 1000
# the option of a layer type that is its input's size, filled in from the shape when left out
INPUT_SIZE_OPTIONS = {"Conv2D": "n_channels", "Dense": "n_inputs", "BatchNorm": "n_features"}
EXAMPLE = '[[layers]] tables, each a type and its options (type = "Conv2D", n_filters = 32)'


def is_model_config(arch: Any) -> bool:
    """Whether ``--arch`` names a TOML model config file (``model.toml``)."""
    return isinstance(arch, str) and arch.strip().lower().endswith(".toml")


def read_model_config(path: str) -> list[Any]:
    """The ``[[layers]]`` tables of a TOML model config; `UserError` when it is not one."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"--arch {path}: no such model config file.")
    if file.stat().st_size > MAX_CONFIG_BYTES:
        raise UserError(
            f"--arch {path} is {file.stat().st_size:,} bytes; a model config is a short TOML "
            f"file (at most {MAX_CONFIG_BYTES:,} bytes)."
        )
    try:
        config = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"--arch {path} is not valid TOML: {error}") from None
    layers = config.get("layers")
    unknown = sorted(set(config) - {"layers"})
    if unknown or not isinstance(layers, list) or not layers:
        found = f"unknown settings {unknown}" if unknown else "no [[layers]] tables"
        raise UserError(
            f"--arch {path}: a model config lists its layers as {EXAMPLE}; found {found}."
        )
    if len(layers) > MAX_CONFIG_LAYERS:
        raise UserError(f"--arch {path} has {len(layers):,} layers; at most {MAX_CONFIG_LAYERS}.")
    return layers


def build_from_model_config(
    path: str, input_shape: tuple[int, ...], n_outputs: int, output: str, seed: int | None
) -> gn.Sequential:
    """The `Sequential` model a TOML model config lists, for inputs of ``input_shape``.

    Every layer is checked (type, options, shapes, the parameter budget) before any is built,
    so a bad file costs nothing and says in one `UserError` which layer is wrong and why.
    """
    shape = tuple(input_shape)
    checked: list[tuple[type[gn.Layer], dict[str, Any], str | None]] = []
    n_parameters = 0
    for index, table in enumerate(read_model_config(path), start=1):
        where = f"--arch {path}: layer {index}"
        if not isinstance(table, dict) or "type" not in table:
            raise UserError(f"{where} needs a type, one of {sorted(LAYER_TYPES)}.")
        options = dict(table)
        kind, name = options.pop("type"), options.pop("name", None)
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise UserError(
                f"{where} has type {short(kind)}; expected one of {sorted(LAYER_TYPES)}."
            )
        cls = LAYER_TYPES[kind]
        where = f"{where} ({kind})"
        size_option = INPUT_SIZE_OPTIONS.get(kind)
        if size_option and size_option not in options:
            if kind == "Dense" and len(shape) != 1:
                raise UserError(
                    f"{where} gets {shape} per sample; a Dense layer takes flat vectors: put a "
                    'layer of type = "Flatten" before it.'
                )
            options[size_option] = shape[0]
        try:
            if name is not None:
                check_name(name, f"{where}'s name")
            check_options(cls, options, where)
            parameters, _ = cls.state_shapes(options, shape)
            n_parameters += sum(math.prod(p) for p in parameters.values())
            if n_parameters > MAX_PARAMETERS:
                raise UserError(
                    f"{where} brings the network to {n_parameters:,} parameters; glassnet train "
                    f"builds at most {MAX_PARAMETERS:,}. Use smaller layers."
                )
            shape = tuple(cls.shape_after(options, shape, name=name))
        except Invalid as error:
            raise UserError(f"{error}.") from None
        except (ShapeError, ValueError, TypeError) as error:
            raise UserError(f"{where} does not fit: {error}") from None
        checked.append((cls, options, name))
    if shape != (n_outputs,):
        raise UserError(
            f"--arch {path}: the last layer gives {shape} per sample, but the data needs "
            f"{n_outputs} output{'s' if n_outputs != 1 else ''}: end the config with a Dense "
            f"layer of {n_outputs} neuron{'s' if n_outputs != 1 else ''} (after a Flatten for "
            "images)."
        )
    rng = np.random.default_rng(seed)
    layers = []
    for cls, options, name in checked:
        extra = {"rng": rng} if "rng" in inspect.signature(cls).parameters else {}
        layers.append(cls(name=name, **options, **extra))
    try:
        return gn.Sequential(layers, input_shape=tuple(input_shape), output=output, seed=seed)
    except ValueError as error:  # two layers given the same name
        raise UserError(f"--arch {path}: {error}") from None


def as_model_inputs(model: gn.Sequential, X: np.ndarray) -> np.ndarray:
    """Rows of flat pixels → the (n, C, H, W) images a convolutional model takes
    (`glassnet.datasets.to_model_layout`); MLP inputs are returned unchanged."""
    try:
        return datasets.to_model_layout(model.input_shape, X)
    except datasets.DatasetError as error:
        raise UserError(str(error)) from None
