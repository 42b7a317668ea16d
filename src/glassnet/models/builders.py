"""Building models: `MLP` and `CNN` for the common stacks, `from_config` for saved data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import check_positive_int
from ..nn import activations
from ..nn.augment import Augment
from ..nn.conv import Conv2D
from ..nn.dense import Dense
from ..nn.dropout import Dropout
from ..nn.layer import Layer
from ..nn.normalization import BatchNorm
from ..nn.pooling import MaxPool2D
from ..nn.registry import build_layer
from ..nn.reshape import Flatten
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


def CNN(
    input_shape: Sequence[int],
    filters: Sequence[int] = (32, 64),
    dense: Sequence[int] = (128,),
    n_classes: int = 10,
    *,
    kernel_size: int = 3,
    padding: Any = 0,
    pool: int = 2,
    batch_norm: bool = False,
    augment: Augment | None = None,
    dropout: float = 0.0,
    output: str | None = None,
    seed: int | None = None,
    dtype: Any = np.float32,
) -> Sequential:
    """Build a convolutional classifier: [conv → (BatchNorm) → ReLU → max pool] per entry of
    ``filters``, then Flatten and Dense + ReLU layers, then ``n_classes`` outputs.

    Parameters
    ----------
    input_shape : (C, H, W)
        One image, channels first: ``(1, 28, 28)`` for MNIST, ``(3, 64, 64)`` for RGB photos.
    filters : sequence of int
        Filters of each convolution (``kernel_size`` square, He-initialised).
    dense : sequence of int
        Neurons of the fully connected hidden layers after the convolutions.
    n_classes : int
        Outputs: softmax over them (one sigmoid output for ``n_classes=1``).
    padding : int or "same"
        The convolutions' padding.
    pool : int
        Max pooling window after each convolution (0 or 1: no pooling).
    batch_norm : bool
        A `BatchNorm` after each convolution (its bias then is redundant and switched off).
    augment : Augment, optional
        A first layer that augments the images in training (identity at inference).
    dropout : float
        If > 0, a `Dropout` after each dense hidden layer.

    Examples
    --------
    >>> model = CNN((1, 28, 28), [32, 64], dense=[128], n_classes=10, seed=0)
    >>> model.output_shape, [layer.name for layer in model.layers][:4]
    ((10,), ['conv2d_0', 'relu_0', 'maxpool2d_0', 'conv2d_1'])
    """
    shape = tuple(check_positive_int(n, "each input size") for n in input_shape)
    if len(shape) != 3:
        raise ValueError(
            f"CNN needs input_shape=(channels, height, width), got input_shape={input_shape!r}; "
            "e.g. (1, 28, 28) for MNIST."
        )
    n_classes = check_positive_int(n_classes, "n_classes")
    if output is None:
        output = "softmax" if n_classes > 1 else "sigmoid"
    rng = np.random.default_rng(seed)
    layers: list[Layer] = [augment] if augment is not None else []
    channels = shape[0]
    for n_filters in filters:
        n_filters = check_positive_int(n_filters, "each number of filters")
        layers.append(
            Conv2D(
                channels,
                n_filters,
                kernel_size,
                padding=padding,
                use_bias=not batch_norm,
                dtype=dtype,
                rng=rng,
            )
        )
        if batch_norm:
            layers.append(BatchNorm(n_filters, dtype=dtype))
        layers.append(activations.get("relu"))
        if pool > 1:
            layers.append(MaxPool2D(pool))
        channels = n_filters
    layers.append(Flatten())
    # the flattened size follows from the shapes so far (pure arithmetic, nothing allocated)
    flat: tuple[int, ...] = shape
    for layer in layers:
        flat = layer.output_shape(flat)
    n_in = flat[0]
    for n_neurons in dense:
        n_neurons = check_positive_int(n_neurons, "each dense layer size")
        layers.append(Dense(n_in, n_neurons, weight_init="he_normal", dtype=dtype, rng=rng))
        layers.append(activations.get("relu"))
        if dropout:
            layers.append(Dropout(dropout))
        n_in = n_neurons
    layers.append(Dense(n_in, n_classes, dtype=dtype, rng=rng))
    return Sequential(layers, input_shape=shape, output=output, seed=seed)
