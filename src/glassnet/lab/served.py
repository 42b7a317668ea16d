"""The model the page uses, described as the page draws it.

`Served` is one model with its description (`describe`): columns of neurons, the connections
worth drawing, class names and the limits of what the page can show. `drawable` says whether
the drawing pad can feed a model; `default_model` is the network the lab starts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import MLP, Conv2D, Dense, Sequential
from . import sources
from .training import weight_pictures

MAX_LINKS = 600  # connections drawn between two layers; the strongest when there are more
LIVE_LINKS = 6  # per first-layer neuron of an image model: its strongest inputs right now


@dataclass(frozen=True)
class Served:
    """The model the page uses and what the page needs to draw it. Replaced whole, never edited."""

    model: Sequential
    version: int
    name: str
    trained: bool
    image_side: int | None  # 28 when the input is a 28×28 grey image the drawing pad can feed
    info: dict[str, Any]

    @classmethod
    def of(cls, model: Sequential, version: int, name: str, trained: bool) -> Served:
        image_side, why_not = drawable(model)
        info = describe(model, image_side, why_not)
        return cls(model, version, name, trained, image_side, info)

    def with_info(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.name, "trained": self.trained, **self.info}


def drawable(model: Sequential) -> tuple[int | None, str]:
    """28 if the drawing pad can feed ``model`` (28×28 grey images), else None and why not.

    A model file says what its inputs are (``model.preprocessing``, as `glassnet train` writes
    it); a model built in Python without that is taken as an image model if it has 784 inputs.
    """
    prep = getattr(model, "preprocessing", None) or {}
    kind, size = prep.get("kind"), prep.get("image_size")
    color = prep.get("color", "grayscale")
    if kind == "image" and (list(size or []) != [28, 28] or color != "grayscale"):
        shape = "×".join(map(str, size or [])) or "other"
        return None, (
            f"This model takes {shape} {color} images; the drawing pad makes 28×28 grey inputs "
            "as MNIST's, so it cannot feed it. Upload a picture (any size and colour: it is "
            "resized and converted as in training) or type its input as numbers."
        )
    if kind in (None, "image") and model.n_inputs == 28 * 28:
        return 28, ""
    if kind == "table":
        return None, (
            "This model takes rows of a table, not a 28×28 image: fill in its columns below; "
            "they are encoded and standardised as in training."
        )
    return None, (
        f"This model takes {model.n_inputs} numbers, not a 28×28 image, so the drawing pad "
        "cannot feed it; type its input as numbers instead."
    )


def describe(model: Sequential, image_side: int | None, why_not: str = "") -> dict[str, Any]:
    """The model as the page draws it: columns of neurons and the connections between them."""
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    trace = model.trace(np.zeros(model.n_inputs, model.dtype))
    classify = model.output in ("softmax", "sigmoid")
    class_names = model.class_names
    if classify and class_names is None and model.output == "softmax":
        class_names = [str(i) for i in range(model.n_outputs)]
    # A CNN's first dense layer reads feature maps, not pixels: no links from the picture (the
    # page's CNN view, `routes.conv`, shows the conv layers instead).
    conv = any(isinstance(layer, Conv2D) for layer in model.layers)
    layers, links = [], []
    for i, (layer, lt) in enumerate(zip(dense, trace.layers, strict=True)):
        layers.append(
            {
                "name": lt.name,
                "activation": lt.activation,
                "n_inputs": layer.n_inputs,
                "n_neurons": layer.n_neurons,
            }
        )
        live = i == 0 and image_side is not None
        shown = 0 if conv else LIVE_LINKS
        links.append({"live": True, "shown": shown} if live else _strongest(layer.W.value))
    limits = []
    if image_side is None:
        limits.append(why_not)
    if not classify:
        limits.append(
            "This is a regression model (output 'identity'): it has no class probabilities to "
            "show, only its output values."
        )
    elif model.output == "sigmoid":
        limits.append(
            "The outputs are independent sigmoid probabilities, not a softmax over classes."
        )
    table = sources.table_columns(model)
    return {
        "n_inputs": model.n_inputs,
        "conv": conv,  # convolutional layers: the page adds its feature-map view
        "table": table,  # a table model's columns (and text levels) for the page's form
        "upload": _upload(model),  # an image model's size and colour: the page may upload
        "image": None if image_side is None else {"height": image_side, "width": image_side},
        "output": model.output,
        "task": "classification" if classify else "regression",
        "class_names": class_names,
        "sizes": [model.n_inputs] + [layer.n_neurons for layer in dense],
        "n_parameters": model.n_parameters,
        "layers": layers,
        "links": links,
        "limits": limits,
        "first_layer": weight_pictures(model),
    }


def _upload(model: Sequential) -> dict[str, Any] | None:
    prep = getattr(model, "preprocessing", None) or {}
    size = prep.get("image_size")
    if prep.get("kind") != "image" or not isinstance(size, list) or len(size) != 2:
        return None
    return {"height": size[0], "width": size[1], "color": prep.get("color", "grayscale")}


def _strongest(W: np.ndarray) -> dict[str, Any]:
    """The connections of a layer to draw: all of them, or the MAX_LINKS with the largest |w|."""
    flat = np.abs(W).ravel()
    if flat.size > MAX_LINKS:
        keep = np.argpartition(flat, flat.size - MAX_LINKS)[-MAX_LINKS:]
    else:
        keep = np.arange(flat.size)
    keep = keep[np.argsort(flat[keep])]  # weakest first, so the strongest are drawn on top
    sources_, targets = np.unravel_index(keep, W.shape)
    return {
        "live": False,
        "total": int(W.size),
        "from": sources_.tolist(),
        "to": targets.tolist(),
        "w": W.ravel()[keep].astype(float).tolist(),
        "max_abs": float(flat.max()) if flat.size else 0.0,
    }


def default_model() -> Sequential:
    """An untrained 784-16-16-10 sigmoid network: the picture from the textbooks, to train."""
    model = MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    model.class_names = [str(i) for i in range(10)]
    return model
