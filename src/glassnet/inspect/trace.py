"""Looking inside: every neuron's numbers for a given input.

A *layer of neurons* here is what the textbook draws as one column: a `Dense` layer (the weighted
sums z = x·W + b) together with the activation that follows it (a = f(z)); for the output layer,
the model's output activation. Layer 0 is the first hidden layer: the input layer has no weights.

Everything is computed the way prediction computes it (`Sequential.forward_steps`: each layer's
``forward``, or for a small Dense network the one compiled call of `Sequential.lean_proba`), so
a trace shows exactly the numbers `predict_proba` returns; the arrays returned for weights and
biases are views into the model, not copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..nn import Activation, Augment, Dense
from .conv import FeatureMaps


@dataclass
class SoftmaxSteps:
    """The output softmax written out: p = exp(z − max z) / Σ exp(z − max z)."""

    logits: np.ndarray  # z, (classes,)
    shifted: np.ndarray  # z − max(z)
    exponentials: np.ndarray  # exp(z − max(z))
    total: float  # Σ exp(z − max(z))
    probabilities: np.ndarray  # exponentials / total


@dataclass
class LayerTrace:
    """One layer of neurons for one input.

    Shapes
    ------
    inputs : (n_inputs,); weights : (n_inputs, n_neurons); bias, z, a : (n_neurons,)
    """

    name: str
    activation: str
    inputs: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    z: np.ndarray
    a: np.ndarray

    @property
    def n_neurons(self) -> int:
        return self.z.shape[0]


@dataclass
class Neuron:
    """One neuron: its incoming weights and bias and, for a given input, z and a.

    z = Σᵢ wᵢ·xᵢ + b,   a = f(z)
    """

    layer: str
    layer_index: int
    index: int
    activation: str
    weights: np.ndarray  # (n_inputs,), column `index` of the layer's W
    bias: float
    inputs: np.ndarray | None = None  # (n_inputs,), the previous layer's activations
    z: float | None = None
    a: float | None = None
    softmax_total: float | None = field(default=None, repr=False)

    def formula(self, terms: int = 6) -> str:
        """The arithmetic with the actual numbers, the largest contributions first."""
        head = f"{self.layer} neuron {self.index} ({self.activation})"
        if self.inputs is None or self.z is None:
            return f"{head}: bias {self.bias:.4g}, {self.weights.size} incoming weights"
        products = self.weights.astype(np.float64) * self.inputs
        order = np.argsort(-np.abs(products), kind="stable")
        shown = [f"{self.weights[i]:.4g}×{self.inputs[i]:.4g}" for i in order[:terms]]
        rest = products.size - len(shown)
        rest_sum = float(products[order[terms:]].sum()) if rest > 0 else 0.0
        sum_text = " + ".join(shown) + (f" + ({rest} more terms: {rest_sum:.4g})" if rest else "")
        lines = [f"{head}", f"z = Σ wᵢ·xᵢ + b = {sum_text} + {self.bias:.4g} = {self.z:.6g}"]
        if self.activation == "softmax" and self.softmax_total is not None:
            lines.append(
                f"a = exp(z − max z) / Σ exp(z − max z) = {self.a:.6g}"
                f"  (Σ = {self.softmax_total:.6g})"
            )
        else:
            lines.append(f"a = {self.activation}(z) = {self.a:.6g}")
        return "\n".join(lines)


@dataclass
class Trace:
    """The forward pass for one input, layer by layer and neuron by neuron."""

    input: np.ndarray  # (n_inputs,)
    layers: list[LayerTrace]
    output: np.ndarray  # probabilities (softmax, sigmoid) or values (identity)
    prediction: Any
    softmax: SoftmaxSteps | None = None
    # every layer's output (feature maps for conv layers), augmentation skipped
    maps: list[FeatureMaps] = field(default_factory=list)

    def neuron(self, layer: int | str, index: int) -> Neuron:
        layer_index = _layer_index(layer, [t.name for t in self.layers])
        lt = self.layers[layer_index]
        _check_neuron(index, lt.n_neurons, lt.name)
        return Neuron(
            layer=lt.name,
            layer_index=layer_index,
            index=index,
            activation=lt.activation,
            weights=lt.weights[:, index],
            bias=float(lt.bias[index]),
            inputs=lt.inputs,
            z=float(lt.z[index]),
            a=float(lt.a[index]),
            softmax_total=self.softmax.total
            if self.softmax is not None and layer_index == len(self.layers) - 1
            else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and floats, ready for JSON (weights left out: they do not depend on x)."""
        data: dict[str, Any] = {
            "input": self.input.tolist(),
            "layers": [
                {"name": t.name, "activation": t.activation, "z": t.z.tolist(), "a": t.a.tolist()}
                for t in self.layers
            ],
            "output": self.output.tolist(),
            "prediction": np.asarray(self.prediction).tolist(),
        }
        if self.softmax is not None:
            s = self.softmax
            data["softmax"] = {
                "logits": s.logits.tolist(),
                "shifted": s.shifted.tolist(),
                "exponentials": s.exponentials.tolist(),
                "total": s.total,
                "probabilities": s.probabilities.tolist(),
            }
        return data


def trace(model, x: Any) -> Trace:
    """Run one input through ``model`` and keep every layer's inputs, z and a.

    Parameters
    ----------
    model : Sequential
    x : array-like, shape (n_inputs,) or (1, n_inputs)

    Examples
    --------
    >>> from glassnet import MLP
    >>> t = MLP([2, 3, 2], activation="sigmoid", seed=0).trace([0.5, -1.0])
    >>> [layer.name for layer in t.layers], round(float(t.output.sum()), 6)
    (['dense_0', 'dense_1'], 1.0)
    """
    x = np.asarray(x)
    if x.size == model.n_inputs:
        x = x.reshape(1, *model.input_shape)
    x = model.check_inputs(x)
    if len(x) != 1:
        raise ValueError(f"trace takes one input sample, got {len(x)}.")
    layers: list[LayerTrace] = []
    maps: list[FeatureMaps] = []
    outputs, predictions = model.forward_steps(x)
    h = x
    for layer, out in zip(model.layers, outputs, strict=True):
        if isinstance(layer, Augment):  # the identity at inference: nothing to see
            continue
        if isinstance(layer, Dense):
            z = out
            layers.append(
                LayerTrace(
                    str(layer.name),
                    "identity",
                    h[0],
                    layer.W.value,
                    layer.b.value
                    if layer.b is not None
                    else np.zeros(layer.n_neurons, layer.dtype),
                    z[0],
                    z[0],
                )
            )
            h = z
        else:
            h = out
            if isinstance(layer, Activation) and layers and layers[-1].z.shape == h[0].shape:
                layers[-1].activation = type(layer).__name__.lower()
                layers[-1].a = h[0]
        maps.append(FeatureMaps(str(layer.name), type(layer).__name__, h[0]))
    last = layers[-1]
    softmax = None
    if model.output == "softmax":
        shifted = last.z - last.z.max()
        exponentials = np.exp(shifted)
        total = float(exponentials.sum())
        output = predictions[0]
        softmax = SoftmaxSteps(last.z, shifted, exponentials, total, output)
        prediction: Any = int(output.argmax())
    elif model.output == "sigmoid":
        output = predictions[0]
        prediction = (output > 0.5).astype(int)
        prediction = int(prediction[0]) if prediction.size == 1 else prediction
    else:
        output = h[0]
        prediction = output
    if model.output != "identity":
        last.activation, last.a = model.output, output
    return Trace(x[0], layers, output, prediction, softmax, maps)


def neuron(model, layer: int | str, index: int, x: Any = None) -> Neuron:
    """One neuron of ``model``; with an input ``x``, also its inputs, z and a for that input.

    ``layer`` is the index of a layer of neurons (0 = first hidden layer) or a Dense layer's name.
    """
    if x is not None:
        return trace(model, x).neuron(layer, index)
    dense = [la for la in model.layers if isinstance(la, Dense)]
    layer_index = _layer_index(layer, [str(la.name) for la in dense])
    d = dense[layer_index]
    _check_neuron(index, d.n_neurons, str(d.name))
    activation = model.output if layer_index == len(dense) - 1 else _activation_after(model, d)
    bias = float(d.b.value[index]) if d.b is not None else 0.0
    return Neuron(str(d.name), layer_index, index, activation, d.W.value[:, index], bias)


def _activation_after(model, dense: Dense) -> str:
    position = model.layers.index(dense)
    for layer in model.layers[position + 1 :]:
        if isinstance(layer, Dense):
            break
        if isinstance(layer, Activation):
            return type(layer).__name__.lower()
    return "identity"


def _layer_index(layer: int | str, names: list[str]) -> int:
    if isinstance(layer, str):
        if layer not in names:
            raise KeyError(f"No layer of neurons named {layer!r}; the model has {names}.")
        return names.index(layer)
    if isinstance(layer, (int, np.integer)) and -len(names) <= layer < len(names):
        return int(layer) % len(names)
    raise IndexError(
        f"layer must be an index from 0 to {len(names) - 1} (0 is the first hidden layer) or a "
        f"name in {names}, got layer={layer!r}."
    )


def _check_neuron(index: int, n_neurons: int, name: str) -> None:
    if not isinstance(index, (int, np.integer)) or not 0 <= index < n_neurons:
        raise IndexError(
            f"Layer {name!r} has {n_neurons} neurons (0 to {n_neurons - 1}), got index={index!r}."
        )
