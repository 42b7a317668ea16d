"""Looking inside, backward: one gradient explained by the chain rule, with its numbers.

For a weight ``W[i, j]`` of a Dense layer and one labelled example::

    L          the loss of that example
    δ_out      = ∂L/∂z of the output layer (p − y for softmax cross-entropy)
    δⱼ         = f′(zⱼ)·Σₖ Wⱼₖ δₖ  for neuron j of each layer on the way back
    ∂L/∂Wᵢⱼ    = aᵢ·δⱼ            (and ∂L/∂bⱼ = δⱼ)

Every number is read from the layers after a real ``forward`` and ``backward`` of that example,
the same code that trains: ``.value`` *is* the parameter's ``.grad`` that backward fills. Beside
it, ``.finite_difference`` estimates the same number independently, by a central difference of
the loss on a float64 copy of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..losses import Loss
from ..models import from_config
from ..nn import Dense, Layer, activations

# The central difference (L(θ + h) − L(θ − h)) / 2h in float64: its error is O(h²) from the
# curvature plus O(ε/h) from rounding, both near 1e-10 at this step for the losses here.
FINITE_DIFFERENCE_STEP = 1e-6


@dataclass
class BackwardLayer:
    """A layer with parameters on the way back, for one example.

    ``delta`` is ∂L/∂z: the gradient its ``backward`` received, one number per output (per
    neuron for Dense). ``upstream`` is ∂L/∂a, what the next layer with parameters sent back
    (Σₖ Wⱼₖ δₖ for a Dense one), or the loss's gradient for the last layer; ``slope`` is f′(z)
    through the elementwise layers in between (None when one of them is not elementwise, e.g.
    a Softmax in the middle), so that ``delta == slope * upstream``.

    Shapes
    ------
    inputs : (n_inputs,); z, delta, upstream, slope : (n_outputs,), flattened per sample.
    """

    name: str
    position: int
    activation: str
    inputs: np.ndarray
    z: np.ndarray
    delta: np.ndarray
    upstream: np.ndarray | None
    slope: np.ndarray | None
    weights: np.ndarray | None = None  # W of a Dense layer (n_inputs, n_neurons), a view


@dataclass
class GradientExplanation:
    """∂L/∂θ for one parameter entry θ and one labelled example, by the chain rule.

    Attributes
    ----------
    parameter : str
        ``"dense_1.W"``.
    index : tuple of int
        The entry, e.g. ``(i, j)`` for ``W[i, j]``, ``(j,)`` for ``b[j]``.
    loss_name : str
        ``"cross_entropy"``, ``"binary_cross_entropy"``, ``"mse"``...
    loss : float
        L for this example.
    output : ndarray
        The model's predictions for it (probabilities, or values for regression).
    target : ndarray
        The truth as the loss sees it (one-hot for softmax).
    output_error : ndarray
        δ_out = ∂L/∂(raw outputs).
    layers : list of BackwardLayer
        From the output back to the parameter's layer (output first).
    neuron, input_index : int or None
        j and i for a Dense weight (i is None for a bias); None for other layer types.
    input_value : float or None
        aᵢ, the input the weight multiplies.
    value : float
        ∂L/∂θ as ``backward`` computed it, in the model's dtype.
    value_float64 : float
        The same backward on the float64 copy of the model.
    finite_difference : float
        (L(θ + h) − L(θ − h)) / 2h on the float64 copy, ``h = step``.
    """

    parameter: str
    index: tuple[int, ...]
    label: Any
    loss_name: str
    loss: float
    output: np.ndarray
    target: np.ndarray
    output_error: np.ndarray
    layers: list[BackwardLayer]
    neuron: int | None
    input_index: int | None
    input_value: float | None
    value: float
    value_float64: float
    finite_difference: float
    step: float = FINITE_DIFFERENCE_STEP

    @property
    def relative_error(self) -> float:
        """|backward − finite difference| / max(1, |finite difference|), both in float64."""
        gap = abs(self.value_float64 - self.finite_difference)
        return gap / max(1.0, abs(self.finite_difference))

    def formula(self, terms: int = 4) -> str:
        """The chain rule written with this example's numbers, as in ``neuron().formula()``."""
        entry = f"{self.parameter}[{', '.join(map(str, self.index))}]"
        lines = [f"∂L/∂{entry} for one example with label {_short(self.label)}"]
        lines.append(_loss_line(self))
        out = self.layers[0]
        lines.append(
            f"output error δ_out = ∂L/∂z of {out.name} = {_output_rule(self.loss_name)} = "
            f"{_vector(self.output_error)}"
        )
        for upper, layer in zip(self.layers[:-1], self.layers[1:], strict=True):
            j = self.neuron if layer is self.layers[-1] else None
            lines.append(_delta_line(layer, upper, j, terms))
        holder = self.layers[-1]
        if (
            self.neuron is not None
            and self.input_index is not None
            and self.input_value is not None
        ):
            j, i = self.neuron, self.input_index
            lines.append(
                f"∂L/∂W[{i}, {j}] = aᵢ·δⱼ = {_z(self.input_value):.6g} × {_z(holder.delta[j]):.6g} "
                f"= {_z(self.input_value * float(holder.delta[j])):.6g}"
            )
        elif self.neuron is not None:
            lines.append(f"∂L/∂b[{self.neuron}] = δⱼ = {_z(holder.delta[self.neuron]):.6g}")
        else:
            lines.append(
                f"{holder.name} has no single-neuron formula: ∂L/∂{entry} is what its backward "
                f"computes from δ = {_vector(holder.delta)}"
            )
        lines.append(
            f"backward gives {_z(self.value):.8g} (model dtype), "
            f"{_z(self.value_float64):.10g} in float64"
        )
        lines.append(
            f"finite difference (L(θ+h) − L(θ−h))/2h, h = {self.step:g}: "
            f"{_z(self.finite_difference):.10g} (relative difference {self.relative_error:.1e})"
        )
        return "\n".join(lines)


def explain_gradient(
    model, parameter: str, index: Any, x: Any, label: Any, loss: Loss | str | None = None
) -> GradientExplanation:
    """Explain ∂L/∂θ for the entry ``index`` of ``parameter`` on one labelled example.

    Runs ``forward`` (in inference mode: dropout off) and ``backward`` of the model on that
    example, overwriting every parameter's ``.grad`` as any backward does, and reads the numbers
    from its layers. The weights are not changed.

    Parameters
    ----------
    model : Sequential
    parameter : str
        A name from ``model.named_parameters()``, e.g. ``"dense_1.W"``.
    index : int or tuple of int
        The entry: ``(i, j)`` for ``W[i, j]`` (input i, neuron j), ``j`` for ``b[j]``.
    x : array-like, shape input_shape or (1, *input_shape)
    label : int, float or array-like
        The truth: a class id (softmax), 0/1 (sigmoid) or target values (regression).
    loss : Loss or str, optional
        Default: the loss paired with the model's output.

    Examples
    --------
    >>> from glassnet import MLP
    >>> model = MLP([2, 3, 2], activation="sigmoid", seed=0)
    >>> g = model.explain_gradient("dense_0.W", (1, 2), [0.5, -1.0], label=1)
    >>> bool(abs(g.value_float64 - g.finite_difference) < 1e-8)
    True
    """
    named = model.named_parameters()
    if parameter not in named:
        raise KeyError(f"No parameter named {parameter!r}. This model has {list(named)}.")
    entry = _check_index(index, named[parameter].shape, parameter)
    loss_fn = model.resolve_loss(loss)
    x_batch = _one_sample(model, x)
    target = _one_target(model, label)

    passes = _backward_pass(model, x_batch, target, loss_fn)
    value = float(named[parameter].grad[entry])

    model64 = _float64_copy(model)
    x64, target64 = x_batch.astype(np.float64), _one_target(model64, label)
    _backward_pass(model64, x64, target64, loss_fn)
    param64 = model64.parameter(parameter)
    value64 = float(param64.grad[entry])
    finite = _central_difference(model64, param64.value, entry, x64, target64, loss_fn)

    layer = _layer_of(model, parameter)
    position = model.layers.index(layer)
    trained = [i for i in range(position, len(model.layers)) if model.layers[i].parameters()]
    chain = [_backward_layer(model, passes, i, nxt) for i, nxt in _pairs(trained)]
    chain.reverse()
    neuron = input_index = input_value = None
    if isinstance(layer, Dense):
        local = parameter.rsplit(".", 1)[1]
        if local == "W":
            input_index, neuron = entry
            input_value = float(chain[-1].inputs[input_index])
        else:
            neuron = entry[0]
    return GradientExplanation(
        parameter=parameter,
        index=entry,
        label=label,
        loss_name=loss_fn.name,
        loss=passes["loss"],
        output=_predictions(model, passes["out"][0]),
        target=_dense_target(model, target)[0],
        output_error=passes["loss_grad"][0].ravel(),
        layers=chain,
        neuron=neuron,
        input_index=input_index,
        input_value=input_value,
        value=value,
        value_float64=value64,
        finite_difference=finite,
    )


# ---------------------------------------------------------------------- the passes


def _backward_pass(model, x: np.ndarray, target: np.ndarray, loss_fn: Loss) -> dict[str, Any]:
    """forward, loss, backward layer by layer (what `Sequential.forward/backward` run),
    keeping every layer's input, output, incoming gradient and returned gradient."""
    inputs, outputs = [], []
    h = x
    for layer in model.layers:
        inputs.append(h)
        h = layer.forward(h)
        outputs.append(h)
    loss, grad = loss_fn.value_and_gradient(h, target)
    received: list[np.ndarray | None] = [None] * len(model.layers)
    returned: list[np.ndarray | None] = [None] * len(model.layers)
    g: np.ndarray | None = grad
    for i in reversed(range(len(model.layers))):
        if g is None:
            break
        received[i] = g
        g = returned[i] = model.layers[i].backward(g)
    return {
        "inputs": inputs,
        "outputs": outputs,
        "received": received,
        "returned": returned,
        "out": h,
        "loss": float(loss),
        "loss_grad": grad,
    }


def _central_difference(model64, value: np.ndarray, entry, x, target, loss_fn) -> float:
    original = float(value[entry])
    h = FINITE_DIFFERENCE_STEP
    value[entry] = original + h
    plus = loss_fn.value(model64.forward(x), target)
    value[entry] = original - h
    minus = loss_fn.value(model64.forward(x), target)
    value[entry] = original
    return (plus - minus) / (2 * h)


def _float64_copy(model):
    config = dict(model.get_config(), dtype="float64")
    copy = from_config(config)
    copy.set_weights(model.get_weights().astype(np.float64))
    return copy


def _backward_layer(model, passes, position: int, next_trained: int | None) -> BackwardLayer:
    layers = model.layers
    end = len(layers) if next_trained is None else next_trained
    between = layers[position + 1 : end]
    if next_trained is None:
        upstream = passes["loss_grad"]
    else:
        upstream = passes["returned"][next_trained]
    slope = _slope(between, passes["outputs"][position]) if upstream is not None else None
    activation = _activation_name(between, model.output if next_trained is None else None)
    return BackwardLayer(
        name=str(layers[position].name),
        position=position,
        activation=activation,
        inputs=passes["inputs"][position][0].ravel(),
        z=passes["outputs"][position][0].ravel(),
        delta=passes["received"][position][0].ravel(),
        upstream=None if upstream is None else upstream[0].ravel(),
        slope=slope,
        weights=layers[position].W.value if isinstance(layers[position], Dense) else None,
    )


def _slope(between: list[Layer], z: np.ndarray) -> np.ndarray | None:
    """f′(z) through elementwise layers: their backward applied to ones (read from the layers,
    which keep what their forward cached), or None if one of them is not elementwise."""
    grad = np.ones_like(z)
    for layer in reversed(between):
        if layer.parameters() or layer.input_rank is not None:
            return None
        back = layer.backward(grad)
        if back is None or back.shape != z.shape:
            return None
        grad = back
    return grad[0].ravel()


def _activation_name(between: list[Layer], output: str | None) -> str:
    names = [type(la).__name__.lower() for la in between]
    if output is not None and output != "identity":
        names.append(output)
    return " → ".join(names) if names else "identity"


def _pairs(trained: list[int]) -> list[tuple[int, int | None]]:
    return [(i, trained[k + 1] if k + 1 < len(trained) else None) for k, i in enumerate(trained)]


# ---------------------------------------------------------------------- inputs and checks


def _check_index(index: Any, shape: tuple[int, ...], name: str) -> tuple[int, ...]:
    entry = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
    valid = len(entry) == len(shape) and all(
        isinstance(k, (int, np.integer)) and 0 <= k < n for k, n in zip(entry, shape, strict=True)
    )
    if not valid:
        ranges = ", ".join(f"0…{n - 1}" for n in shape)
        raise IndexError(
            f"{name} has shape {shape}: an index needs {len(shape)} whole numbers in ({ranges}), "
            f"got index={index!r}."
        )
    return tuple(int(k) for k in entry)


def _one_sample(model, x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.size == model.n_inputs:
        x = x.reshape(1, *model.input_shape)
    x = model.check_inputs(x)
    if len(x) != 1:
        raise ValueError(f"explain_gradient takes one input sample, got {len(x)}.")
    return x


def _one_target(model, label: Any) -> np.ndarray:
    y = np.asarray(label)
    if isinstance(label, bool) or y.dtype.kind == "b":
        y = y.astype(np.int64)
    return model.check_targets(y.reshape(1, *y.shape), 1, "label")


def _dense_target(model, target: np.ndarray) -> np.ndarray:
    if model.output == "softmax" and target.ndim == 1:
        return np.eye(model.n_outputs, dtype=model.dtype)[target]
    return target


def _predictions(model, raw: np.ndarray) -> np.ndarray:
    if model.output == "identity":
        return raw.ravel()
    return activations.get(model.output).function(raw[None])[0].ravel()


def _layer_of(model, parameter: str) -> Layer:
    name = parameter.rsplit(".", 1)[0]
    return next(la for la in model.layers if la.name == name)


# ---------------------------------------------------------------------- text


def _loss_line(g: GradientExplanation) -> str:
    if g.loss_name == "cross_entropy":
        k = int(np.argmax(g.target))
        return f"loss L = −log p[{k}] = −log {_z(g.output[k]):.6g} = {_z(g.loss):.6g}"
    if g.loss_name == "binary_cross_entropy":
        return (
            f"loss L = mean of −y·log p − (1 − y)·log(1 − p), p = {_vector(g.output)}: "
            f"{_z(g.loss):.6g}"
        )
    if g.loss_name == "mse":
        return f"loss L = mean of (z − y)², z = {_vector(g.output)}: {_z(g.loss):.6g}"
    return f"loss L ({g.loss_name}) = {_z(g.loss):.6g}"


def _output_rule(loss_name: str) -> str:
    return {
        "cross_entropy": "p − y",
        "binary_cross_entropy": "(σ(z) − y)/k",
        "mse": "2(z − y)/k",
    }.get(loss_name, "∂L/∂z")


def _delta_line(layer: BackwardLayer, upper: BackwardLayer, j: int | None, terms: int) -> str:
    """δ of one neuron of ``layer`` from the layer above (δⱼ = f′(zⱼ)·Σₖ Wⱼₖ δₖ)."""
    dense_above = upper.weights is not None
    # what the layer above sends back: Σₖ Wⱼₖ δₖ for a Dense layer, else its backward's result
    sent = "Σₖ Wⱼₖ δₖ" if dense_above else f"∂L/∂aⱼ from {upper.name}'s backward"
    if j is None:
        what = f"Wᵀδ of {upper.name}" if dense_above else f"∂L/∂a from {upper.name}'s backward"
        return f"{layer.name} δ = f′(z)·({what}) = {_vector(layer.delta)}"
    if layer.upstream is None:
        return f"{layer.name} neuron {j}: δⱼ = {_z(layer.delta[j]):.6g}"
    upstream = float(layer.upstream[j])
    if upper.weights is not None:
        weights = upper.weights
        products = weights[j] * upper.delta
        order = np.argsort(-np.abs(products), kind="stable")[:terms]
        shown = " + ".join(f"{_z(weights[j, k]):.4g}×{_z(upper.delta[k]):.4g}" for k in order)
        rest = products.size - len(order)
        sum_text = shown + (f" + ({rest} more)" if rest > 0 else "") + f" = {_z(upstream):.6g}"
    else:
        sum_text = f"{_z(upstream):.6g}"
    if layer.slope is None:
        return (
            f"{layer.name} neuron {j} ({layer.activation}): δⱼ = (Jacobian of "
            f"{layer.activation})ᵀ·({sent}) = {_z(layer.delta[j]):.6g}, with {sent} = {sum_text}"
        )
    return (
        f"{layer.name} neuron {j} ({layer.activation}): δⱼ = f′(zⱼ)·{sent} = "
        f"{_z(layer.slope[j]):.6g} × ({sum_text}) = {_z(layer.delta[j]):.6g}"
    )


def _z(x: Any) -> float:
    """x as a float with −0 shown as 0 (a ReLU's zero slope times a negative sum)."""
    return float(x) + 0.0


def _vector(v: np.ndarray, shown: int = 10) -> str:
    v = np.asarray(v).ravel()
    text = ", ".join(f"{_z(x):.4g}" for x in v[:shown])
    return f"[{text}{', …' if v.size > shown else ''}]"


def _short(label: Any) -> str:
    return _vector(label) if np.ndim(label) else f"{label}"
