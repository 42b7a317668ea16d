"""Trainable parameters: a value, its gradient and a name.

A `Parameter` is the unit every optimizer updates. Inside a `Sequential` model all parameter values
are views into one contiguous float buffer (and all gradients into another), so that an optimizer
can update the whole network with a handful of vectorised operations instead of one per array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Parameter:
    """A trainable array with its gradient.

    Parameters
    ----------
    value : ndarray
        The current value. Its dtype is kept.
    name : str
        A dotted name such as ``"dense_0.W"``.

    Attributes
    ----------
    value : ndarray
        The array the layer computes with.
    grad : ndarray
        Same shape and dtype as ``value``; overwritten (not accumulated) by each backward pass.
    """

    __slots__ = ("value", "grad", "name")

    def __init__(self, value: np.ndarray, name: str = "") -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


def pack_parameters(
    parameters: Sequence[Parameter], dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Move every parameter's value and gradient into two contiguous flat buffers.

    Afterwards ``p.value`` and ``p.grad`` are reshaped views of the returned buffers, laid out in
    order, so that ``values[offset:offset + p.size]`` is ``p.value.ravel()``.

    Returns
    -------
    values, grads : ndarray, shape (total_size,)
    """
    total = sum(p.size for p in parameters)
    values = np.empty(total, dtype=dtype)
    grads = np.zeros(total, dtype=dtype)
    offset = 0
    for p in parameters:
        end = offset + p.size
        values[offset:end] = p.value.ravel()
        p.value = values[offset:end].reshape(p.value.shape)
        p.grad = grads[offset:end].reshape(p.value.shape)
        offset = end
    return values, grads


def flat_view(parameters: Sequence[Parameter]) -> Parameter | None:
    """Return one `Parameter` spanning all of ``parameters`` if they tile a packed buffer exactly.

    Optimizers use it to update a packed model in one pass: the update rules are elementwise, so
    updating the concatenation is the same as updating each array in turn. Returns None when the
    parameters are not packed (each is then updated on its own).
    """
    if len(parameters) < 2:
        return None
    values = parameters[0].value.base
    grads = parameters[0].grad.base
    if values is None or grads is None or values.ndim != 1 or grads.ndim != 1:
        return None
    offset = 0
    for p in parameters:
        if (
            p.value.base is not values
            or p.grad.base is not grads
            or _offset_in(values, p.value) != offset
            or _offset_in(grads, p.grad) != offset
        ):
            return None
        offset += p.size
    if offset != values.size or offset != grads.size:
        return None
    flat = Parameter.__new__(Parameter)
    flat.value, flat.grad, flat.name = values, grads, "*"
    return flat


def _offset_in(buffer: np.ndarray, view: np.ndarray) -> int:
    start = view.__array_interface__["data"][0] - buffer.__array_interface__["data"][0]
    return start // buffer.itemsize
