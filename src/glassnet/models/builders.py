"""Building models: `MLP` for the common fully connected stack, `from_config` for saved data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import check_positive_int
from ..nn import activations
from ..nn.dense import Dense
from ..nn.dropout import Dropout
from ..nn.layer import Layer
from ..nn.registry import build_layer
from .sequential import Sequential


def from_config(config: dict[str, Any]) -> Sequential:
    """Build an (untrained) model from `Sequential.get_config` data, allowing only registered
    layer types (see `glassnet.nn.registry`)."""
    dtype = np.dtype(config.get("dtype", "float32"))
    layers = [build_layer(spec, dtype) for spec in config["layers"]]
    input_shape = config.get("input_shape")
    return Sequential(
        layers,
        input_shape=None if input_shape is None else tuple(input_shape),
        output=config.get("output", "identity"),
        seed=config.get("seed"),
    )


def MLP(
    sizes: Sequence[int],
    activation: str = "relu",
    output: str | None = None,
    *,
    dropout: float = 0.0,
    weight_init: Any = None,
    seed: int | None = None,
    dtype: Any = np.float32,
) -> Sequential:
    """Build a multi-layer perceptron: Dense layers with an activation between them.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first: ``[784, 16, 16, 10]`` is 784 inputs, two hidden layers
        of 16 and 10 outputs.
    activation : str
        The hidden layers' activation: "sigmoid", "tanh", "relu", "leaky_relu" or "step".
    output : {"softmax", "sigmoid", "identity"}, optional
        Default: softmax for several outputs, sigmoid for one. Use "identity" for regression.
    dropout : float
        If > 0, a `Dropout` layer after each hidden activation.
    weight_init : str, optional
        Default: "he_normal" for the ReLU family, "glorot_uniform" otherwise.
    seed : int, optional
        Seeds the initial weights and, unless `fit` gets its own, the training.

    Examples
    --------
    >>> model = MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    >>> model.n_parameters
    13002
    """
    sizes = [check_positive_int(s, "each layer size") for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"MLP needs at least an input and an output size, got sizes={sizes}.")
    if output is None:
        output = "softmax" if sizes[-1] > 1 else "sigmoid"
    activations.get(activation)  # fail early on an unknown name
    if weight_init is None:
        relu_family = activation.lower().replace("-", "_") in ("relu", "leaky_relu", "leakyrelu")
        weight_init = "he_normal" if relu_family else "glorot_uniform"
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Dense(n_in, n_out, weight_init=weight_init, dtype=dtype, rng=rng))
        if i < len(sizes) - 2:
            layers.append(activations.get(activation))
            if dropout:
                layers.append(Dropout(dropout))
    return Sequential(layers, output=output, seed=seed)
