"""Weight initialisers: functions ``(shape, rng, dtype) -> ndarray`` drawn from a seeded Generator.

For a weight matrix of shape (fan_in, fan_out):

- Glorot/Xavier keeps the variance of activations and gradients equal across layers for tanh and
  sigmoid: Var(W) = 2 / (fan_in + fan_out).
- He keeps it for ReLU, which zeroes half its inputs: Var(W) = 2 / fan_in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Initializer = Callable[[tuple[int, ...], np.random.Generator, np.dtype], np.ndarray]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    fan_in = shape[0] if len(shape) >= 1 else 1
    fan_out = shape[1] if len(shape) >= 2 else shape[0]
    return fan_in, fan_out


def glorot_uniform(shape, rng, dtype=np.float32):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, rng, dtype=np.float32):
    """N(0, s²) with s = sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return (rng.standard_normal(size=shape) * math.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape, rng, dtype=np.float32):
    """U(-l, l) with l = sqrt(6 / fan_in)."""
    fan_in, _ = _fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng, dtype=np.float32):
    """N(0, s²) with s = sqrt(2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(size=shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


def zeros(shape, rng=None, dtype=np.float32):
    """All zeros (the usual bias initialiser)."""
    return np.zeros(shape, dtype=dtype)


def constant(value: float) -> Initializer:
    """Return an initialiser that fills every entry with ``value``."""

    def fill(shape, rng=None, dtype=np.float32):
        return np.full(shape, value, dtype=dtype)

    fill.__name__ = f"constant({value})"
    return fill


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
}


def get(init: str | Initializer | float) -> Initializer:
    """Look up an initialiser by name, or wrap a number as `constant`."""
    if callable(init):
        return init
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return constant(float(init))
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]
    raise ValueError(
        f"Unknown initializer {init!r}. Expected one of {sorted(INITIALIZERS)}, a number "
        "(constant) or a function (shape, rng, dtype) -> array."
    )


def name_of(init: Initializer) -> str:
    """The name under which ``get`` finds ``init`` (used when a model is saved)."""
    return getattr(init, "__name__", repr(init))
