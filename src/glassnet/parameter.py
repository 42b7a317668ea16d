"""Trainable parameters (a value, its gradient and a name) and buffers (non-trainable state).

A `Parameter` is the unit every optimizer updates. A `Buffer` is state a layer keeps but nobody
trains (a batch normalisation's running mean and variance): saved and restored with the weights,
never stepped. Inside a `Sequential` model all parameter values, then all buffer values, are views
into one contiguous float array (and all gradients into another), so that an optimizer can update
the whole network with a handful of vectorised operations instead of one per array, and a snapshot
of the model's state is one copy.
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


class Buffer:
    """Non-trainable state of a layer: saved, restored and snapshotted, never stepped.

    Parameters
    ----------
    value : ndarray
        The current value. Its dtype is kept.
    name : str
        A dotted name such as ``"batchnorm_0.running_mean"``.
    """

    __slots__ = ("value", "name")

    def __init__(self, value: np.ndarray, name: str = "") -> None:
        self.value = value
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def __repr__(self) -> str:
        return f"Buffer(name={self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


def pack_parameters(
    parameters: Sequence[Parameter], dtype: np.dtype, buffers: Sequence[Buffer] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Move every parameter's value and gradient, then every buffer's value, into flat arrays.

    Afterwards ``p.value`` and ``p.grad`` are reshaped views of the returned arrays, laid out in
    order, so that ``values[offset:offset + p.size]`` is ``p.value.ravel()``; the buffers' values
    follow the parameters' in ``values`` (``grads`` covers the parameters only).

    Returns
    -------
    values : ndarray, shape (parameter size + buffer size,)
    grads : ndarray, shape (parameter size,)
    """
    n_trainable = sum(p.size for p in parameters)
    values = np.empty(n_trainable + sum(b.size for b in buffers), dtype=dtype)
    grads = np.zeros(n_trainable, dtype=dtype)
    offset = 0
    for p in parameters:
        end = offset + p.size
        values[offset:end] = p.value.ravel()
        p.value = values[offset:end].reshape(p.value.shape)
        p.grad = grads[offset:end].reshape(p.value.shape)
        offset = end
    for b in buffers:
        end = offset + b.size
        values[offset:end] = b.value.ravel()
        b.value = values[offset:end].reshape(b.value.shape)
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
    if offset != grads.size or offset > values.size:
        return None
    flat = Parameter.__new__(Parameter)
    # the buffers, if any, follow the parameters in ``values`` and are not stepped
    flat.value, flat.grad, flat.name = values[:offset], grads, "*"
    return flat


def _offset_in(buffer: np.ndarray, view: np.ndarray) -> int:
    start = view.__array_interface__["data"][0] - buffer.__array_interface__["data"][0]
    return start // buffer.itemsize
