"""``POST /api/backward`` and ``POST /api/backward/explain``: the backward pass of one drawing.

Given the drawing (or input) and its true label: the loss, every neuron's δ = ∂L/∂z and the
gradient ∂L/∂w of the connections the page draws; and, for one weight or bias, the chain rule
with its numbers and the finite-difference check (`glassnet.inspect.explain_gradient`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from ... import inspect
from .. import validation
from ..guard import read_json
from ..replies import LabError, respond
from ..served import LIVE_LINKS, Served
from ..state import lab_of
from .predict import network_input


def true_label(data: dict[str, Any], served: Served) -> Any:
    """The label a request gives, checked against the model's outputs (a 422 if it does not fit)."""
    if "label" not in data:
        raise LabError(422, "Send label: the true class of the drawing.")
    model = served.model
    if model.output == "softmax":
        return validation.whole_number(data["label"], "label", 0, model.n_outputs - 1)
    if model.output == "sigmoid" and model.n_outputs == 1:
        return validation.whole_number(data["label"], "label", 0, 1)
    values = validation.numbers(
        data["label"] if isinstance(data["label"], list) else [data["label"]], "label"
    )
    if values.size != model.n_outputs:
        raise LabError(422, f"label must hold the model's {model.n_outputs} target values.")
    if model.output == "sigmoid" and (values.min() < 0 or values.max() > 1):
        raise LabError(422, "label must hold 0/1 values for sigmoid outputs.")
    return values


def _explain(served: Served, parameter: str, index: tuple[int, ...], x, label):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        g = inspect.explain_gradient(served.model, parameter, index, x, label)
    if not np.isfinite([g.loss, g.value, g.finite_difference]).all():
        raise LabError(422, "The network's sums overflow for this input; use smaller values.")
    return g


def _check_keys(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; expected {sorted(allowed)}.")


async def backward(request: Request) -> Response:
    """The loss, every neuron's δ and the drawn connections' ∂L/∂w for one labelled input."""
    data = await read_json(request)
    _check_keys(data, {"image", "input", "label"})
    served = lab_of(request).served()
    x = network_input(data, served)
    label = true_label(data, served)
    model = served.model
    first = next(la for la in model.layers if la.parameters())
    # One explained gradient runs forward and backward; every layer's δ comes with it, and
    # every parameter's .grad is then filled by that same backward.
    has_bias = "b" in first.named_parameters()
    parameter, index = (f"{first.name}.b", (0,)) if has_bias else (f"{first.name}.W", (0, 0))
    g = _explain(served, parameter, index, x, label)
    chain = list(reversed(g.layers))  # input side first, as the page draws
    links = []
    for spec, layer in zip(served.info["links"], chain, strict=False):
        grad_W = model.parameter(f"{layer.name}.W").grad  # (n_inputs, n_neurons)
        if spec["live"]:
            # the first layer of an image model: each neuron's strongest gradients, from inked
            # pixels (∂L/∂wᵢⱼ = xᵢ·δⱼ is 0 where xᵢ = 0)
            inked = np.flatnonzero(layer.inputs)
            k = min(LIVE_LINKS, inked.size)
            block = grad_W[inked]  # (n_inked, n_neurons)
            top = (
                np.argpartition(-np.abs(block), k - 1, axis=0)[:k]
                if k
                else np.zeros((0, block.shape[1]), np.intp)
            )
            values = block[top, np.arange(block.shape[1])]
            links.append(
                {
                    "live": True,
                    "from": inked[top].T.tolist(),
                    "grad": values.T.astype(float).tolist(),
                }
            )
        else:
            values = grad_W[spec["from"], spec["to"]]
            links.append({"live": False, "grad": values.astype(float).tolist()})
    max_grad = max(
        (float(np.abs(np.asarray(ln["grad"])).max(initial=0.0)) for ln in links), default=0.0
    )
    return respond(
        {
            "model_version": served.version,
            "label": g.label if not isinstance(g.label, np.ndarray) else g.label.tolist(),
            "loss": g.loss,
            "loss_name": g.loss_name,
            "output": g.output.astype(float).tolist(),
            "target": g.target.astype(float).tolist(),
            "output_error": g.output_error.astype(float).tolist(),
            "layers": [
                {"name": layer.name, "delta": layer.delta.astype(float).tolist()} for layer in chain
            ],
            "links": links,
            "max_grad": max_grad,
        }
    )


async def explain(request: Request) -> Response:
    """The chain rule of one weight (``parameter`` "dense_1.W", ``index`` [i, j]) or bias
    ("dense_1.b", [j]) for one labelled input, with the finite-difference check."""
    data = await read_json(request)
    _check_keys(data, {"image", "input", "label", "parameter", "index"})
    served = lab_of(request).served()
    named = served.model.named_parameters()
    parameter = data.get("parameter")
    if parameter not in named:
        raise LabError(404, f"No parameter {parameter!r}: this model has {sorted(named)}.")
    index = data.get("index")
    shape = named[parameter].shape
    if isinstance(index, int) and not isinstance(index, bool):
        index = [index]
    if not isinstance(index, list) or len(index) != len(shape):
        raise LabError(422, f"index must be a list of {len(shape)} whole numbers for {parameter} "
                       f"of shape {list(shape)}.")  # fmt: skip
    entry = []
    for k, (value, size) in enumerate(zip(index, shape, strict=True)):
        number = validation.whole_number(value, f"index[{k}]")
        if not 0 <= number < size:
            raise LabError(404, f"No entry {index} in {parameter}: its shape is {list(shape)}.")
        entry.append(number)
    x = network_input(data, served)
    label = true_label(data, served)
    g = _explain(served, parameter, tuple(entry), x, label)
    return respond(
        {
            "model_version": served.version,
            "parameter": g.parameter,
            "index": list(g.index),
            "loss": g.loss,
            "value": g.value,
            "value_float64": g.value_float64,
            "finite_difference": g.finite_difference,
            "relative_error": g.relative_error,
            "neuron": g.neuron,
            "input_index": g.input_index,
            "input_value": g.input_value,
            "delta": None if g.neuron is None else float(g.layers[-1].delta[g.neuron]),
            "formula": g.formula(),
        }
    )
