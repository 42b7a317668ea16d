"""``POST /api/predict`` and ``POST /api/neuron``: what the network does with one input."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from .. import sources, validation
from ..guard import read_json
from ..replies import LabError, respond
from ..served import LIVE_LINKS, Served
from ..state import lab_of

MAX_INPUT_MAGNITUDE = 1e6
TERMS = 8  # the largest w·x products listed for a neuron


def network_input(data: dict[str, Any], served: Served) -> np.ndarray:
    """The network's input from a request, prepared by the model's recipe where it has one.

    ``image``: a drawing (MNIST's preprocessing); ``picture``: an uploaded image of any size
    and colour (the model's image recipe); ``row``: a table row by column name (the model's
    encoding and standardisation, as ``glassnet predict``); ``input``: the numbers as given.
    """
    given = [key for key in ("image", "input", "row", "picture") if key in data]
    if len(given) > 1:
        raise LabError(422, f"Send one input: {' or '.join(given)}, not both.")
    model = served.model
    if "row" in data:
        table = sources.table_columns(model)
        if table is None:
            raise LabError(422, "This model was not trained on a table; send input or image.")
        values = validation.row(data["row"], table["columns"])
        try:
            return sources.prepare_row(model, values).astype(model.dtype)
        except sources.DATA_ERRORS as error:
            raise LabError(422, str(error)) from None
    if "picture" in data:
        if (getattr(model, "preprocessing", None) or {}).get("kind") != "image":
            raise LabError(422, "This model was not trained on images; it cannot read a picture.")
        try:
            return sources.prepare_picture(model, validation.picture(data["picture"]))
        except sources.DATA_ERRORS as error:
            raise LabError(422, str(error)) from None
    if "image" in data:
        if served.image_side is None:
            raise LabError(422, served.info["limits"][0])
        return sources.preprocess(validation.drawing(data["image"])).reshape(-1)
    if "input" in data:
        x = validation.numbers(data["input"], "input").reshape(-1)
        if x.size != served.model.n_inputs:
            raise LabError(
                422,
                f"input must hold the model's {served.model.n_inputs} input values, got {x.size}.",
            )
        if np.abs(x).max() > MAX_INPUT_MAGNITUDE:
            raise LabError(
                422,
                f"input holds values beyond ±{MAX_INPUT_MAGNITUDE:g}; give values on the scale the "
                "model was trained on (0–1 for images).",
            )
        return x.astype(served.model.dtype)
    raise LabError(
        422,
        "Send image (a drawing: rows of ink levels 0–255) or input "
        f"(the model's {served.model.n_inputs} input values).",
    )


def _trace(served: Served, x: np.ndarray):
    with np.errstate(over="ignore", invalid="ignore"):  # reported below as a 422
        trace = served.model.trace(x)
    if not all(np.isfinite(t.a).all() and np.isfinite(t.z).all() for t in trace.layers):
        raise LabError(422, "The network's sums overflow for this input; use smaller values.")
    return trace


def _label(served: Served, prediction: Any) -> str | None:
    names = served.info["class_names"]
    if isinstance(prediction, list) and len(prediction) == 1:  # one sigmoid output: 0 or 1
        prediction = prediction[0]
    if names is not None and isinstance(prediction, int) and 0 <= prediction < len(names):
        return str(names[prediction])
    return None


async def predict(request: Request) -> Response:
    """The trace of one input: every layer's z and a, the output and the input actually used."""
    start = time.perf_counter()
    data = await read_json(request)
    result = answer(data, lab_of(request).served())
    result["ms"] = round((time.perf_counter() - start) * 1e3, 3)
    return respond(result)


def answer(data: dict[str, Any], served: Served) -> dict[str, Any]:
    """What ``POST /api/predict`` answers for the request body ``data`` and the model ``served``
    (also the live view's answer for a snapshot of a training run, ``/api/train/predict``)."""
    x = network_input(data, served)
    trace = _trace(served, x)
    prediction = np.asarray(trace.prediction).tolist()
    result: dict[str, Any] = {
        "model_version": served.version,
        "input": trace.input.reshape(-1).tolist(),  # flat: a CNN's (1, 28, 28) too
        "blank": not bool(trace.input.any()),
        "layers": [
            {"name": t.name, "activation": t.activation, "z": t.z.tolist(), "a": t.a.tolist()}
            for t in trace.layers
        ],
        "output": trace.output.tolist(),
        "prediction": prediction,
        "label": _label(served, prediction),
    }
    if served.image_side is not None and not served.info["conv"]:
        # Each first-layer neuron's strongest inputs for this drawing: the pixels i with the
        # largest |wᵢ·xᵢ|, drawn as connections from the input picture.
        # Only inked pixels (xᵢ > 0) can contribute, so only their rows are looked at. The
        # strengths are whole percentages of the largest |wᵢ·xᵢ|, signed like wᵢ: they only set
        # a line's colour and width (the exact numbers are in /api/neuron), and small integers
        # keep the answer short and fast to encode.
        first = trace.layers[0]
        inked = np.flatnonzero(first.inputs)  # (n_inked,)
        products = first.weights[inked] * first.inputs[inked, None]  # (n_inked, n_neurons)
        k = min(LIVE_LINKS, inked.size)
        top = (
            np.argpartition(-np.abs(products), k - 1, axis=0)[:k]  # (k, n_neurons)
            if k
            else np.zeros((0, products.shape[1]), np.intp)
        )
        strongest = products[top, np.arange(products.shape[1])]  # (k, n_neurons)
        scale = np.abs(strongest).max() if strongest.size else 1.0
        result["live_links"] = {
            "from": inked[top].T.tolist(),
            "strength": np.round(100 * strongest / (scale or 1.0)).astype(int).T.tolist(),
        }
    return result


async def neuron(request: Request) -> Response:
    """One neuron: bias, weights, and for an input its weighted sum, activation and formula."""
    data = await read_json(request)
    served = lab_of(request).served()
    unknown = set(data) - {"layer", "index", "image", "input", "row", "picture"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send layer, index and an input.")
    n_layers = len(served.info["layers"])
    layer = validation.whole_number(data.get("layer"), "layer")
    if not 0 <= layer < n_layers:
        raise LabError(
            404,
            f"No layer {layer}: this model has {n_layers} layers of neurons, 0 to {n_layers - 1} "
            "(0 is the first hidden layer; the input has no neurons).",
        )
    size = served.info["layers"][layer]["n_neurons"]
    index = validation.whole_number(data.get("index"), "index")
    if not 0 <= index < size:
        raise LabError(
            404, f"No neuron {index} in layer {layer}: it has {size} neurons, 0 to {size - 1}."
        )
    given = {"image", "input", "row", "picture"} & set(data)
    x = network_input(data, served) if given else None
    if x is None:
        cell = served.model.neuron(layer, index)
    else:
        cell = _trace(served, x).neuron(layer, index)
    last = layer == n_layers - 1
    result: dict[str, Any] = {
        "model_version": served.version,
        "layer": layer,
        "layer_name": cell.layer,
        "index": index,
        "activation": cell.activation,
        "label": _label(served, index) if last else None,
        "n_inputs": int(cell.weights.size),
        "bias": cell.bias,
        "weights": cell.weights.astype(float).tolist(),
        "picture": served.info["image"] if layer == 0 and not served.info["conv"] else None,
        "formula": cell.formula(terms=TERMS),
    }
    if cell.inputs is not None:
        products = cell.weights.astype(np.float64) * cell.inputs  # (n_inputs,)
        order = np.argsort(-np.abs(products), kind="stable")[:TERMS]
        result.update(
            z=cell.z,
            a=cell.a,
            weighted_sum=float(products.sum()),
            terms=[
                {
                    "input": int(i),
                    "weight": float(cell.weights[i]),
                    "x": float(cell.inputs[i]),
                    "product": float(products[i]),
                }
                for i in order
            ],
            rest={
                "count": int(products.size - order.size),
                "sum": float(products.sum() - products[order].sum()),
            },
        )
    return respond(result)
