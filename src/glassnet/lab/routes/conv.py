"""``POST /api/conv/maps`` and ``POST /api/conv/unit``: a CNN's feature maps and one unit.

``maps`` answers one input with every layer's output that is a stack of maps ``(C, H, W)``
(conv, activation, pooling, batch norm; augmentation skipped, as at inference), in the order
the input flows through them, each map's values row by row. ``unit`` opens one number of one
of those layers, with every number of its arithmetic:

- a conv layer's unit: filter *f* at *(i, j)*, its kernel, the input window it reads and
  z = Σ K·x + b, then the activation after it (`glassnet.inspect.conv_unit` computes them);
- an activation's unit: a = f(z) for the z at the same place in the layer before;
- a pooling layer's unit: the window of the layer before and its max (or mean).

The softmax at the end is the output layer's neuron in ``/api/neuron``. Both routes answer
409 for a model without conv layers (the page then does not show its CNN view).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from ... import AvgPool2D, Conv2D, MaxPool2D
from ...inspect import conv_unit
from ...nn import Activation, Augment
from .. import validation
from ..guard import read_json
from ..replies import LabError, respond
from ..served import Served
from ..state import lab_of
from .predict import network_input

INPUT_KEYS = {"image", "input", "row", "picture"}


def _conv_model(request: Request) -> Served:
    served = lab_of(request).served()
    if not served.info["conv"]:
        raise LabError(
            409,
            "This model has no convolutional layers, so it has no feature maps to show; load "
            "or train a CNN (e.g. the training form's CNN layers conv8-pool-dense32).",
        )
    return served


def _check_keys(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed - INPUT_KEYS
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send {sorted(allowed)} and an input.")
    if not INPUT_KEYS & set(data):
        raise LabError(422, "Send an input: image (a drawing), input (numbers) or picture.")


def _outputs(served: Served, x: np.ndarray) -> list[tuple[int, Any, np.ndarray, np.ndarray]]:
    """(index in model.layers, layer, its input, its output) for one sample, augmentation
    skipped; each array without the batch axis."""
    model = served.model
    h = np.asarray(x).reshape(1, *model.input_shape)
    steps = []
    with np.errstate(over="ignore", invalid="ignore"):  # reported below as a 422
        for index, layer in enumerate(model.layers):
            if isinstance(layer, Augment):
                continue
            y = layer.forward(h)
            steps.append((index, layer, h[0], y[0]))
            h = y
    if not np.isfinite(h).all():
        raise LabError(422, "The network's sums overflow for this input; use smaller values.")
    return steps


def _layer_info(index: int, layer: Any, output: np.ndarray) -> dict[str, Any]:
    info: dict[str, Any] = {
        "index": index,
        "name": str(layer.name),
        "type": type(layer).__name__,
        "shape": list(output.shape),
    }
    if isinstance(layer, Conv2D):
        info.update(
            kernel_size=list(layer.kernel_size),
            stride=list(layer.stride),
            padding=list(layer.padding),  # top, bottom, left, right
        )
    elif isinstance(layer, (MaxPool2D, AvgPool2D)):
        info.update(kernel_size=list(layer.pool_size), stride=list(layer.stride))
    return info


async def conv_maps(request: Request) -> Response:
    """Every stack of feature maps the input makes, layer by layer."""
    data = await read_json(request)
    served = _conv_model(request)
    _check_keys(data, set())
    x = network_input(data, served)
    steps = _outputs(served, x)
    layers = []
    for index, layer, _, output in steps:
        if output.ndim != 3:
            continue
        info = _layer_info(index, layer, output)
        info["values"] = output.reshape(-1).astype(float).tolist()  # map by map, row by row
        layers.append(info)
    shape = list(served.model.input_shape)
    return respond(
        {
            "model_version": served.version,
            "input": {"shape": shape, "values": np.asarray(x).reshape(-1).astype(float).tolist()},
            "layers": layers,
        }
    )


async def conv_unit_route(request: Request) -> Response:
    """One number of one layer's maps, with its arithmetic (see the module docstring)."""
    data = await read_json(request)
    served = _conv_model(request)
    _check_keys(data, {"layer", "channel", "i", "j"})
    model = served.model
    index = validation.whole_number(data.get("layer"), "layer", 0, len(model.layers) - 1)
    channel = validation.whole_number(data.get("channel"), "channel", 0)
    i = validation.whole_number(data.get("i"), "i", 0)
    j = validation.whole_number(data.get("j"), "j", 0)
    x = network_input(data, served)
    steps = {step[0]: step for step in _outputs(served, x)}
    if index not in steps or steps[index][3].ndim != 3:
        raise LabError(
            422,
            f"Layer {index} ({type(model.layers[index]).__name__}) has no feature maps to open; "
            f"the layers with maps are {sorted(k for k, s in steps.items() if s[3].ndim == 3)}.",
        )
    _, layer, before, after = steps[index]
    n_maps, height, width = after.shape
    if not (channel < n_maps and i < height and j < width):
        raise LabError(
            422,
            f"{layer.describe()} has maps 0 to {n_maps - 1} of {height}×{width} (positions (0, 0) "
            f"to ({height - 1}, {width - 1})), got channel={channel}, (i, j)=({i}, {j}).",
        )
    result: dict[str, Any] = {
        "model_version": served.version,
        **_layer_info(index, layer, after),
        "channel": channel,
        "i": i,
        "j": j,
        "value": float(after[channel, i, j]),
    }
    if isinstance(layer, Conv2D):
        unit = conv_unit(model, str(layer.name), channel, i, j, x)
        products = unit.kernel.astype(np.float64) * unit.window  # (C, kh, kw)
        result.update(
            kind="conv",
            kernel=unit.kernel.astype(float).tolist(),  # (C, kh, kw)
            window=unit.window.astype(float).tolist(),  # (C, kh, kw), zeros in the padding
            products=products.tolist(),
            rows=[unit.rows.start, unit.rows.stop],  # in the layer's input, stop excluded
            columns=[unit.columns.start, unit.columns.stop],
            bias=unit.bias,
            weighted_sum=float(products.sum()),
            z=unit.z,
            activation=unit.activation,
            a=unit.a,
            formula=unit.formula(),
        )
    elif isinstance(layer, (MaxPool2D, AvgPool2D)):
        (kh, kw), (sh, sw) = layer.pool_size, layer.stride
        rows, columns = [i * sh, i * sh + kh], [j * sw, j * sw + kw]
        window = before[channel, rows[0] : rows[1], columns[0] : columns[1]].astype(float)
        op = "max" if isinstance(layer, MaxPool2D) else "mean"
        numbers = ", ".join(f"{v:.4g}" for v in window.ravel())
        result.update(
            kind="pool",
            op=op,
            window=window.tolist(),
            rows=rows,
            columns=columns,
            formula=f"{layer.name} map {channel} at ({i}, {j}): a = {op}({numbers}) = "
            f"{result['value']:.6g}",
        )
    elif isinstance(layer, Activation):
        z = float(before[channel, i, j])
        name = type(layer).__name__.lower()
        result.update(
            kind="activation",
            z=z,
            a=result["value"],
            rows=[i, i + 1],
            columns=[j, j + 1],
            formula=f"{layer.name} map {channel} at ({i}, {j}): a = {name}(z) = {name}({z:.6g}) "
            f"= {result['value']:.6g}",
        )
    else:
        result.update(kind="other", formula=f"{layer.describe()}: {result['value']:.6g}")
    return respond(result)
