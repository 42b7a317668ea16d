"""Looking inside convolutional layers: feature maps, and one unit with its receptive field.

A *unit* of a `Conv2D` layer is filter ``f`` at output position ``(i, j)``: it takes the dot
product of the filter's kernel with one window of the layer's input (its *receptive field* in
that input), adds the filter's bias and passes the sum through the activation after the layer,

    z = Σ_{c, a, b} K[c, a, b] · x[c, i·s + a − p, j·s + b − p] + bias,   a = f(z).

`conv_unit` gives every number of that formula, computed by the same layer code training uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nn import Activation, Augment, Conv2D


@dataclass
class FeatureMaps:
    """One layer's output for one input: feature maps (C, H, W) or a vector.

    Augmentation layers are skipped: at inference they are the identity.
    """

    name: str
    type: str
    output: np.ndarray  # the layer's output for the sample, without the batch axis


@dataclass
class ConvUnit:
    """Filter ``filter`` of a conv layer at output position ``(i, j)``, for one input.

    Shapes
    ------
    kernel, window : (C, kh, kw); rows, columns : the input rows and columns the window covers
    (in the unpadded input; positions in the padding read 0 and are listed as -1 or ≥ H).
    """

    layer: str
    filter: int
    i: int
    j: int
    kernel: np.ndarray  # (C, kh, kw): the filter's weights, PyTorch's w[f]
    bias: float
    window: np.ndarray  # (C, kh, kw): the receptive field's input values (zeros in the padding)
    rows: range
    columns: range
    z: float
    activation: str
    a: float

    def formula(self, terms: int = 6) -> str:
        """The dot product with the actual numbers, the largest contributions first."""
        products = (self.kernel.astype(np.float64) * self.window).ravel()
        order = np.argsort(-np.abs(products), kind="stable")
        k, w = self.kernel.ravel(), self.window.ravel()
        shown = [f"{k[n]:.4g}×{w[n]:.4g}" for n in order[:terms]]
        rest = products.size - len(shown)
        rest_sum = float(products[order[terms:]].sum()) if rest > 0 else 0.0
        text = " + ".join(shown) + (f" + ({rest} more terms: {rest_sum:.4g})" if rest else "")
        return (
            f"{self.layer} filter {self.filter} at ({self.i}, {self.j}), rows "
            f"{self.rows.start}–{self.rows.stop - 1}, columns {self.columns.start}–"
            f"{self.columns.stop - 1}\n"
            f"z = Σ K·x + b = {text} + {self.bias:.4g} = {self.z:.6g}\n"
            f"a = {self.activation}(z) = {self.a:.6g}"
        )


def feature_maps(model, x: Any) -> list[FeatureMaps]:
    """Every layer's output for one input ``x`` (per-sample shape or a batch of one)."""
    h = _one_sample(model, x)
    maps: list[FeatureMaps] = []
    for layer in model.layers:
        if isinstance(layer, Augment):
            continue
        h = layer.forward(h)
        maps.append(FeatureMaps(str(layer.name), type(layer).__name__, h[0]))
    return maps


def conv_unit(model, layer: int | str, filter: int, i: int, j: int, x: Any) -> ConvUnit:
    """Filter ``filter`` of conv layer ``layer`` (its index among the conv layers, or its name)
    at output position ``(i, j)``, for the input ``x``."""
    convs = [la for la in model.layers if isinstance(la, Conv2D)]
    names = [str(la.name) for la in convs]
    if isinstance(layer, str):
        if layer not in names:
            raise KeyError(f"No Conv2D layer named {layer!r}; the model has {names}.")
        conv = convs[names.index(layer)]
    elif isinstance(layer, (int, np.integer)) and -len(convs) <= layer < len(convs):
        conv = convs[int(layer)]
    else:
        raise IndexError(
            f"layer must be the index of a Conv2D layer (0 to {len(convs) - 1}) or a name in "
            f"{names}, got layer={layer!r}."
        )
    h = _one_sample(model, x)
    position = model.layers.index(conv)
    for before in model.layers[:position]:
        h = before.forward(h)
    z = conv.forward(h)  # (1, F, H_out, W_out)
    _, n_filters, h_out, w_out = z.shape
    if not (0 <= filter < n_filters and 0 <= i < h_out and 0 <= j < w_out):
        raise IndexError(
            f"{conv.describe()} has filters 0 to {n_filters - 1} and positions (0, 0) to "
            f"({h_out - 1}, {w_out - 1}), got filter={filter}, (i, j)=({i}, {j})."
        )
    after = model.layers[position + 1] if position + 1 < len(model.layers) else None
    activation, a = "identity", float(z[0, filter, i, j])
    if isinstance(after, Activation):
        activation = type(after).__name__.lower()
        a = float(after.forward(z)[0, filter, i, j])
    (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
    top, _, left, _ = conv.padding
    rows = range(i * sh - top, i * sh - top + kh)
    columns = range(j * sw - left, j * sw - left + kw)
    c, height, width = h.shape[1:]
    # the input with a margin wide enough for any window, zeros as the padding reads them
    mh, mw = kh + sum(conv.padding[:2]), kw + sum(conv.padding[2:])
    padded = np.zeros((c, height + 2 * mh, width + 2 * mw), dtype=h.dtype)
    padded[:, mh : mh + height, mw : mw + width] = h[0]
    window = padded[:, rows.start + mh : rows.stop + mh, columns.start + mw : columns.stop + mw]
    kernel = conv.W.value[:, filter].reshape(kh, kw, c).transpose(2, 0, 1)
    bias = float(conv.b.value[filter]) if conv.b is not None else 0.0
    return ConvUnit(
        str(conv.name),
        filter,
        i,
        j,
        kernel,
        bias,
        window.copy(),
        rows,
        columns,
        float(z[0, filter, i, j]),
        activation,
        a,
    )


def _one_sample(model, x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.size == model.n_inputs:
        x = x.reshape(1, *model.input_shape)
    x = model.check_inputs(x)
    if len(x) != 1:
        raise ValueError(f"Give one input sample, got {len(x)}.")
    return x
