"""The fully connected layer: every neuron sums its weighted inputs and adds its bias."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from ..errors import ShapeError, check_positive_int
from ..parameter import Parameter
from .layer import Layer
from .options import MAX_SIZE, Option
from .registry import register


@register
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

    input_rank = 1
    options = {
        "n_inputs": Option("int", required=True, low=1, high=MAX_SIZE),
        "n_neurons": Option("int", required=True, low=1, high=MAX_SIZE),
        "weight_init": Option("initializer"),
        "bias_init": Option("initializer"),
        "use_bias": Option("bool"),
    }

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
        self._dtype = np.dtype(dtype)
        self._input_shape = (self.n_inputs,)
        self.W = Parameter(np.empty((self.n_inputs, self.n_neurons), self._dtype))
        self.b = Parameter(np.empty(self.n_neurons, self._dtype)) if use_bias else None
        self._x: np.ndarray | None = None
        self._ones = np.ones(0, dtype=self._dtype)  # (batch,), for the bias gradient
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | int | None = None) -> None:
        """Draw new weights and biases from the initialisers (in place, keeping buffers)."""
        rng = np.random.default_rng(rng)
        self.W.value[...] = self.weight_init(self.W.shape, rng, self._dtype)
        if self.b is not None:
            self.b.value[...] = self.bias_init(self.b.shape, rng, self._dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.shape[1:] != self._input_shape:
            self.check_input(x)
        if x.dtype != self._dtype:
            x = x.astype(self._dtype)
        self._x = x  # (batch, n_inputs), kept for dL/dW
        # NOTE: ndarray.dot is x @ W with less call overhead, which matters for small batches.
        z = x.dot(self.W.value)  # (batch, n_neurons)
        if self.b is not None:
            z += self.b.value
        return z

    def backward(self, grad_z: np.ndarray) -> np.ndarray | None:
        # dL/dW = xᵀ · dL/dz, dL/db = Σ_batch dL/dz, dL/dx = dL/dz · Wᵀ
        if self._x is None:
            raise RuntimeError(f"{self.describe()}: backward() called before forward().")
        self._x.T.dot(grad_z, out=self.W.grad)
        if self.b is not None:
            # Σ over the batch as a product with a vector of ones: one BLAS call, several
            # times faster than grad_z.sum(axis=0) on small batches.
            if len(self._ones) != len(grad_z):
                self._ones = np.ones(len(grad_z), dtype=self._dtype)
            self._ones.dot(grad_z, out=self.b.grad)
        return grad_z.dot(self.W.value.T) if self.input_grad else None

    # ------------------------------------------------------------------ shapes and state

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(input_shape) != self._input_shape and len(input_shape) == 1:
            raise ShapeError(
                f"{self.describe()} expects {self.n_inputs} inputs, but the layer before it gives "
                f"{input_shape[0]}. Make each layer's n_inputs equal the previous layer's "
                "n_neurons."
            )
        self.check_input_shape(input_shape)
        return (self.n_neurons,)

    def named_parameters(self) -> dict[str, Parameter]:
        return {"W": self.W} if self.b is None else {"W": self.W, "b": self.b}

    @classmethod
    def state_shapes(cls, config, input_shape):
        n_inputs, n_neurons = config["n_inputs"], config["n_neurons"]
        shapes = {"W": (n_inputs, n_neurons)}
        if config.get("use_bias", True):
            shapes["b"] = (n_neurons,)
        return shapes, {}

    @classmethod
    def shape_after(cls, config, input_shape, name=None):
        # the arithmetic of output_shape, from the config alone: a file may name huge sizes
        n_inputs, n_neurons = config["n_inputs"], config["n_neurons"]
        input_shape = tuple(input_shape)
        if input_shape != (n_inputs,):
            label = f"Dense{f' {name!r}' if name else ''} ({n_inputs} → {n_neurons})"
            if len(input_shape) == 1:
                raise ShapeError(
                    f"{label} expects {n_inputs} inputs, but the layer before it gives "
                    f"{input_shape[0]}. Make each layer's n_inputs equal the previous layer's "
                    "n_neurons."
                )
            hint = " Did you forget to flatten?" if len(input_shape) > 1 else ""
            raise ShapeError(f"{label} expects (batch, {n_inputs}), got {input_shape}.{hint}")
        return (n_neurons,)

    def get_config(self) -> dict[str, Any]:
        return {
            "n_inputs": self.n_inputs,
            "n_neurons": self.n_neurons,
            "weight_init": initializers.name_of(self.weight_init),
            "bias_init": initializers.name_of(self.bias_init),
            "use_bias": self.b is not None,
        }

    def size_label(self) -> str:
        return f"{self.n_inputs} → {self.n_neurons}"

    def __repr__(self) -> str:
        return (
            f"Dense({self.n_inputs} → {self.n_neurons}{'' if self.b is not None else ', no bias'})"
        )
