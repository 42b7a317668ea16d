"""Activation functions as layers: a = f(z), applied to every neuron's weighted sum.

Each derivative is computed from the cached *output* where the function allows it
(sigmoid′ = a(1 − a), tanh′ = 1 − a², ReLU′ = [a > 0]): the output is what forward produced
anyway, so backward needs no extra memory and no second evaluation of f.

An activation's ``kernel`` ("auto", the default: numba when installed; "numpy"; "numba"; `fit`
sets it from its own ``kernel=`` argument) selects a compiled path for the hot elementwise
work: sigmoid's forward in training, and each derivative times the incoming gradient, in one
pass each (`glassnet.kernels.elementwise`). The NumPy code below is the reference those kernels
are tested against.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import kernels
from ..errors import check_real
from .layer import Layer
from .options import Option
from .registry import register

# NOTE: a 0-d array of the input's dtype costs ufuncs less than a Python float (no promotion
# rules to resolve), which is a third of the time of an operation on a small batch.
_HALF = {np.dtype(t): np.array(0.5, t) for t in (np.float16, np.float32, np.float64)}


_CHANNELS_LAST = (0, 2, 3, 1)  # (N, C, H, W) → (N, H, W, C)
_CHANNELS_FIRST = (0, 3, 1, 2)


def memory_order(x: np.ndarray) -> tuple[int, ...] | None:
    """The axes of ``x`` in the order its numbers lie in memory, when they fill it densely:
    ``()`` for a C-contiguous array, ``(0, 2, 3, 1)`` for a channels-first view of
    channels-last memory (what `Conv2D` and pooling return); None otherwise."""
    if x.flags.c_contiguous:
        return ()
    if x.ndim == 4 and x.transpose(_CHANNELS_LAST).flags.c_contiguous:
        return _CHANNELS_LAST
    return None


def elementwise(kernel, x: np.ndarray, *others: np.ndarray) -> np.ndarray:
    """``kernel`` applied to the numbers of ``x`` (and ``others``, laid out as ``x``) in memory
    order, its 1-D result given back the shape and layout of ``x``: no copy either way."""
    if not memory_order(x):
        return kernel(x.reshape(-1), *(a.reshape(-1) for a in others)).reshape(x.shape)
    inside = x.transpose(_CHANNELS_LAST)
    flat = (a.transpose(_CHANNELS_LAST).reshape(-1) for a in others)
    out = kernel(inside.reshape(-1), *flat)
    return out.reshape(inside.shape).transpose(_CHANNELS_FIRST)


class Activation(Layer):
    """Base class: an elementwise (or row-wise) function with no parameters."""

    kernel = "auto"  # or "numpy", "numba": see the module docstring

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._a: np.ndarray | None = None

    def compiled(self, x: np.ndarray, grad: np.ndarray | None = None) -> bool:
        """Take the compiled path? When chosen, for dense float32/64 arrays of one dtype and
        one memory layout (see `memory_order`)."""
        return (
            self.kernel != "numpy"
            and kernels.resolve(self.kernel) == "numba"
            and x.dtype in (np.float32, np.float64)
            and memory_order(x) is not None
            and (grad is None or (grad.dtype == x.dtype and memory_order(grad) == memory_order(x)))
        )

    def function(self, z: np.ndarray) -> np.ndarray:
        """f(z) without caching anything (used by inspection and prediction)."""
        raise NotImplementedError

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        self._a = self.function(z)
        return self._a


@register
class Step(Activation):
    """The perceptron's threshold unit: a = 1 if z > threshold else 0.

    Its derivative is 0 everywhere except at the threshold, where it does not exist, so
    backpropagation receives no signal through it: a small change of a weight either changes
    nothing or flips the output. That is why sigmoid neurons, a smooth version of the same step,
    replaced it for learning by gradient descent. ``backward`` therefore returns zeros.
    """

    options = {"threshold": Option("real")}

    def __init__(self, threshold: float = 0.0, name: str | None = None) -> None:
        super().__init__(name)
        self.threshold = check_real(threshold, "threshold")

    def function(self, z):
        return (z > self.threshold).astype(z.dtype)

    def backward(self, grad_a):
        return np.zeros_like(grad_a)

    def get_config(self) -> dict[str, Any]:
        return {"threshold": self.threshold}


@register
class Sigmoid(Activation):
    """a = 1 / (1 + e^(−z)), squashing z into (0, 1); da/dz = a(1 − a)."""

    def function(self, z):
        # Computed as ½·tanh(z/2) + ½, which equals the formula above but never overflows exp.
        half = _HALF.get(z.dtype, 0.5)
        a = np.multiply(z, half)
        np.tanh(a, out=a)
        a *= half
        a += half
        return a

    def forward(self, z, training=False):
        # compiled in training only: prediction computes what `function` (and so trace) shows
        if training and self.compiled(z):
            self._a = elementwise(kernels.compiled_elementwise().sigmoid, z)
            return self._a
        return super().forward(z, training)

    def backward(self, grad_a):
        if self.compiled(self._a, grad_a):
            return elementwise(kernels.compiled_elementwise().sigmoid_backward, self._a, grad_a)
        grad_z = 1.0 - self._a
        grad_z *= self._a
        grad_z *= grad_a
        return grad_z


@register
class Tanh(Activation):
    """a = tanh(z), in (−1, 1); da/dz = 1 − a²."""

    def function(self, z):
        return np.tanh(z)

    def backward(self, grad_a):
        if self.compiled(self._a, grad_a):
            return elementwise(kernels.compiled_elementwise().tanh_backward, self._a, grad_a)
        grad_z = np.square(self._a)
        np.subtract(1.0, grad_z, out=grad_z)
        grad_z *= grad_a
        return grad_z


@register
class ReLU(Activation):
    """a = max(0, z); da/dz = 1 where a > 0, else 0."""

    def function(self, z):
        return np.maximum(z, 0.0, dtype=z.dtype)

    def forward(self, z, training=False):
        if training and self.compiled(z):  # the same numbers as `function`, in one pass
            self._a = elementwise(kernels.compiled_elementwise().relu, z)
            return self._a
        return super().forward(z, training)

    def backward(self, grad_a):
        if self.compiled(self._a, grad_a):
            return elementwise(kernels.compiled_elementwise().relu_backward, self._a, grad_a)
        return grad_a * (self._a > 0)


@register
class LeakyReLU(Activation):
    """a = z where z > 0, else α·z; da/dz = 1 or α (a and z have the same sign for α > 0)."""

    options = {"alpha": Option("real", low=0.0, high=1.0)}

    def __init__(self, alpha: float = 0.01, name: str | None = None) -> None:
        super().__init__(name)
        self.alpha = check_real(alpha, "alpha", 0.0, 1.0)

    def function(self, z):
        return np.where(z > 0, z, z * z.dtype.type(self.alpha))

    def backward(self, grad_a):
        return np.where(self._a > 0, grad_a, grad_a * grad_a.dtype.type(self.alpha))

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


# exp(−69) ≈ 1e-30: a row whose exponentials sum below this lost digits to underflow.
_SMALLEST_SUM = 1e-30


@functools.lru_cache(maxsize=32)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def exp_shifted(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stable pieces of softmax: z − c, e^(z − c) and the row sums Σ_j e^(z_j − c).

    Softmax does not change when a constant c is subtracted from a row; with c ≥ every z of the
    row, no exponential can overflow. The batch's largest z is such a c for every row, found by
    one reduction instead of one per row; only when some row lies so far below it that its
    exponentials underflow is each row shifted by its own max instead.

    Shapes
    ------
    z : (batch, classes) → shifted, e : (batch, classes); sums : (batch,)
    """
    ones = _ones(z.shape[1], z.dtype)
    shifted = z - np.maximum.reduce(z, axis=None)
    e = np.exp(shifted)
    sums = e.dot(ones)  # row sums as one BLAS call: cheaper than e.sum(axis=1) on small batches
    if np.minimum.reduce(sums) < _SMALLEST_SUM:
        shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)
        e = np.exp(shifted)
        sums = e.dot(ones)
    return shifted, e, sums


@register
class Softmax(Activation):
    """a_i = e^(z_i) / Σ_j e^(z_j), row by row: the output layer's probabilities.

    Computed with a shift that keeps exp from overflowing (see `exp_shifted`). The backward pass
    is the Jacobian-vector product dL/dz = a ⊙ (dL/da − Σ_j dL/da_j · a_j). For training,
    `SoftmaxCrossEntropy` fuses softmax with the loss instead, which is faster and exact; this
    layer is for inspection and for models that need a softmax in the middle.

    Shapes
    ------
    z : (batch, classes) → a : (batch, classes), each row summing to 1.
    """

    input_rank = 1

    def function(self, z):
        _, e, sums = exp_shifted(z)
        e /= sums[:, None]
        return e

    def backward(self, grad_a):
        a = self._a
        return a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))


@register
class Identity(Activation):
    """a = z: the output of a regression network."""

    def function(self, z):
        return z

    def backward(self, grad_a):
        return grad_a


ACTIVATIONS: dict[str, type[Activation]] = {
    "step": Step,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
    "identity": Identity,
}


def get(activation: str | Activation) -> Activation:
    """Return a new activation layer for a name such as ``"relu"`` (or the layer itself)."""
    if isinstance(activation, Activation):
        return activation
    key = activation.lower().replace("-", "_") if isinstance(activation, str) else activation
    if key == "leakyrelu":
        key = "leaky_relu"
    if key not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {activation!r}. Expected one of {sorted(ACTIVATIONS)} "
            "or an Activation instance."
        )
    return ACTIVATIONS[key]()
