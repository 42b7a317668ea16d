"""Layers: the `Layer` contract, the fully connected `Dense` layer and `Dropout`.

The contract every layer keeps:

- ``forward(x, training=False) -> y`` computes the output and caches only what backward needs;
- ``backward(grad_y) -> grad_x`` receives dL/dy for the last forward call, writes dL/dθ into each
  parameter's ``.grad`` (overwriting it) and returns dL/dx;
- ``parameters()`` lists the layer's `Parameter` objects; ``get_config()`` its constructor
  arguments.

Arrays are batches: a row per sample, a column per feature.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import initializers
from .errors import ShapeError, check_positive_int, check_real
from .parameter import Parameter


class Layer:
    """Base class of all layers.

    Attributes
    ----------
    name : str or None
        Set by `Sequential` when the layer is added (``"dense_0"``, ``"sigmoid_1"``...).
    input_grad : bool
        When False, ``backward`` may skip computing dL/dx and return None. `Sequential` sets it for
        the first layer, whose input gradient nobody uses (saving one matrix product per step).
    """

    kind = "layer"

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.input_grad = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        return []

    def output_size(self, input_size: int) -> int:
        """The number of output features for ``input_size`` input features."""
        return input_size

    def get_config(self) -> dict[str, Any]:
        return {}

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: every neuron sums its weighted inputs and adds its bias.

    z = x @ W + b

    Neuron ``j`` is column ``j`` of ``W`` (its incoming weights) and ``b[j]`` (its bias).

    Parameters
    ----------
    n_inputs : int
        Number of input features (neurons in the previous layer).
    n_neurons : int
        Number of neurons in this layer (output features).
    weight_init, bias_init : str, float or callable
        Initialisers, see `glassnet.initializers` ("glorot_uniform", "he_normal", "zeros", 0.1...).
    use_bias : bool
        Without a bias, ``b`` is None.
    dtype : numpy dtype
        float32 by default; float64 for gradient checks.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights. `Sequential` and `MLP` pass their own seeded generator.

    Shapes
    ------
    x : (batch, n_inputs) → z : (batch, n_neurons); W : (n_inputs, n_neurons); b : (n_neurons,)

    Examples
    --------
    >>> layer = Dense(3, 2, weight_init=0.5, rng=0)
    >>> layer.forward(np.ones((1, 3), dtype=np.float32))
    array([[1.5, 1.5]], dtype=float32)
    """

    kind = "dense"

    def __init__(
        self,
        n_inputs: int,
        n_neurons: int,
        *,
        weight_init: Any = "glorot_uniform",
        bias_init: Any = "zeros",
        use_bias: bool = True,
        dtype: Any = np.float32,
        rng: np.random.Generator | int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.n_inputs = check_positive_int(n_inputs, "n_inputs")
        self.n_neurons = check_positive_int(n_neurons, "n_neurons")
        self.weight_init = initializers.get(weight_init)
        self.bias_init = initializers.get(bias_init)
        self.dtype = np.dtype(dtype)
        self.W = Parameter(np.empty((self.n_inputs, self.n_neurons), self.dtype))
        self.b = Parameter(np.empty(self.n_neurons, self.dtype)) if use_bias else None
        self._x: np.ndarray | None = None
        self._ones = np.ones(0, dtype=self.dtype)  # (batch,), for the bias gradient
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | int | None = None) -> None:
        """Draw new weights and biases from the initialisers (in place, keeping buffers)."""
        rng = np.random.default_rng(rng)
        self.W.value[...] = self.weight_init(self.W.shape, rng, self.dtype)
        if self.b is not None:
            self.b.value[...] = self.bias_init(self.b.shape, rng, self.dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            hint = " Did you forget to flatten the images?" if x.ndim > 2 else ""
            raise ShapeError(
                f"{self._label()} expects {self.n_inputs} input features, got shape "
                f"{x.shape}.{hint}"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        self._x = x  # (batch, n_inputs), kept for dL/dW
        # NOTE: ndarray.dot is x @ W with less call overhead, which matters for small batches.
        z = x.dot(self.W.value)  # (batch, n_neurons)
        if self.b is not None:
            z += self.b.value
        return z

    def backward(self, grad_z: np.ndarray) -> np.ndarray | None:
        # dL/dW = xᵀ · dL/dz, dL/db = Σ_batch dL/dz, dL/dx = dL/dz · Wᵀ
        if self._x is None:
            raise RuntimeError(f"{self._label()}: backward() called before forward().")
        self._x.T.dot(grad_z, out=self.W.grad)
        if self.b is not None:
            # Σ over the batch as a product with a vector of ones: one BLAS call, several
            # times faster than grad_z.sum(axis=0) on small batches.
            if len(self._ones) != len(grad_z):
                self._ones = np.ones(len(grad_z), dtype=self.dtype)
            self._ones.dot(grad_z, out=self.b.grad)
        return grad_z.dot(self.W.value.T) if self.input_grad else None

    def parameters(self) -> list[Parameter]:
        return [self.W] if self.b is None else [self.W, self.b]

    def output_size(self, input_size: int) -> int:
        if input_size != self.n_inputs:
            raise ShapeError(
                f"{self._label()} expects {self.n_inputs} inputs, but the layer before it gives "
                f"{input_size}. Make each layer's n_inputs equal the previous layer's n_neurons."
            )
        return self.n_neurons

    def get_config(self) -> dict[str, Any]:
        return {
            "n_inputs": self.n_inputs,
            "n_neurons": self.n_neurons,
            "weight_init": initializers.name_of(self.weight_init),
            "bias_init": initializers.name_of(self.bias_init),
            "use_bias": self.b is not None,
        }

    def _label(self) -> str:
        name = f" '{self.name}'" if self.name else ""
        return f"Dense{name}({self.n_inputs} → {self.n_neurons})"

    def __repr__(self) -> str:
        return (
            f"Dense({self.n_inputs} → {self.n_neurons}{'' if self.b is not None else ', no bias'})"
        )


class Dropout(Layer):
    """Inverted dropout: during training each input is zeroed with probability ``rate`` and the
    survivors are scaled by 1/(1 − rate), so nothing changes at inference.

    y = x ⊙ m / (1 − rate),  m ~ Bernoulli(1 − rate)

    Parameters
    ----------
    rate : float in [0, 1)
        The fraction of inputs dropped during training.
    rng : numpy.random.Generator or int, optional
        Source of the masks; `Sequential.fit` replaces it with the training generator.

    Shapes
    ------
    x : (batch, features) → y : same shape.
    """

    kind = "dropout"

    def __init__(self, rate: float = 0.5, rng: Any = None, name: str | None = None) -> None:
        super().__init__(name)
        self.rate = check_real(rate, "rate", 0.0, 1.0)
        if self.rate >= 1.0:
            raise ValueError(f"Dropout rate must be below 1, got rate={rate!r}: it would drop all.")
        self.rng = np.random.default_rng(rng)
        self._scaled_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._scaled_mask = None
            return x
        keep = 1.0 - self.rate
        mask = self.rng.random(x.shape, dtype=np.float32) < keep  # (batch, features) bool
        self._scaled_mask = mask.astype(x.dtype) / x.dtype.type(keep)
        return x * self._scaled_mask

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return grad_y if self._scaled_mask is None else grad_y * self._scaled_mask

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}
