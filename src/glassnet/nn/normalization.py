"""Batch normalisation: each feature (or channel) rescaled to zero mean and unit variance."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, check_positive_int, check_real
from ..parameter import Buffer, Parameter
from .layer import Layer
from .options import MAX_SIZE, Option
from .registry import register


@register
class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy 2015), as PyTorch's BatchNorm1d/BatchNorm2d.

    y = γ · (x − μ) / √(σ² + ε) + β

    In training μ and σ² are the batch's mean and (biased) variance per feature — over the batch
    for (batch, features), over the batch, height and width for (batch, C, H, W) — and the running
    statistics follow them: running = (1 − momentum)·running + momentum·batch, the variance
    unbiased (× n/(n − 1)) as in PyTorch. At inference the running statistics are used.

    Parameters
    ----------
    n_features : int
        Features (for (batch, features)) or channels (for (batch, C, H, W)).
    momentum : float
        0.1 as in PyTorch (Keras' 0.99 is 1 − momentum).
    eps : float
        1e-5 as in PyTorch.

    Shapes
    ------
    x : (batch, n_features) or (batch, n_features, H, W) → y : same shape;
    gamma, beta, running_mean, running_var : (n_features,)
    """

    options = {
        "n_features": Option("int", required=True, low=1, high=MAX_SIZE),
        "momentum": Option("real", low=0.0, high=1.0),
        "eps": Option("real", low=0.0, high=1.0),
    }

    def __init__(
        self,
        n_features: int,
        momentum: float = 0.1,
        eps: float = 1e-5,
        *,
        dtype: Any = np.float32,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.n_features = check_positive_int(n_features, "n_features")
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)
        self.eps = check_real(eps, "eps", 0.0, 1.0)
        if self.eps <= 0:
            raise ValueError(f"eps must be above 0 (it keeps 1/√(σ² + ε) finite), got {eps!r}.")
        self._dtype = np.dtype(dtype)
        self.gamma = Parameter(np.ones(self.n_features, self._dtype))
        self.beta = Parameter(np.zeros(self.n_features, self._dtype))
        self.running_mean = Buffer(np.zeros(self.n_features, self._dtype))
        self.running_var = Buffer(np.ones(self.n_features, self._dtype))
        self._x_hat: np.ndarray | None = None  # x's shape, normalised
        self._inv_std: np.ndarray | None = None  # (n_features,) 1/√(σ² + ε)
        self._batch_stats = False  # whether the last forward used the batch's statistics

    def _axes_and_shape(self, x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The axes reduced over and the shape a per-feature vector broadcasts to."""
        if x.ndim == 2:
            return (0,), (1, self.n_features)
        return (0, 2, 3), (1, self.n_features, 1, 1)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim not in (2, 4) or x.shape[1] != self.n_features:
            self.check_input(x)
        if x.dtype != self._dtype:
            x = x.astype(self._dtype)
        axes, shape = self._axes_and_shape(x)
        if training:
            mean = x.mean(axis=axes, dtype=self._dtype)
            centred = x - mean.reshape(shape)
            var = np.mean(np.square(centred), axis=axes, dtype=self._dtype)  # biased
            n = x.size // self.n_features
            m = self._dtype.type(self.momentum)
            self.running_mean.value *= 1 - m
            self.running_mean.value += m * mean
            self.running_var.value *= 1 - m
            self.running_var.value += m * var * self._dtype.type(n / max(n - 1, 1))
        else:
            centred = x - self.running_mean.value.reshape(shape)
            var = self.running_var.value
        self._batch_stats = training
        self._inv_std = 1.0 / np.sqrt(var + self._dtype.type(self.eps))
        x_hat = centred
        x_hat *= self._inv_std.reshape(shape)
        self._x_hat = x_hat
        return x_hat * self.gamma.value.reshape(shape) + self.beta.value.reshape(shape)

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        # dL/dγ = Σ dy·x̂, dL/dβ = Σ dy; in training μ and σ² depend on x too:
        # dL/dx = γ/(n·σ̂) · (n·dy − Σ dy − x̂·Σ dy·x̂), σ̂ = √(σ² + ε)
        if self._x_hat is None or self._inv_std is None:
            raise RuntimeError(f"{self.describe()}: backward() called before forward().")
        axes, shape = self._axes_and_shape(grad_y)
        x_hat = self._x_hat
        np.sum(grad_y, axis=axes, out=self.beta.grad)
        np.sum(grad_y * x_hat, axis=axes, out=self.gamma.grad)
        if not self.input_grad:
            return None
        scale = (self.gamma.value * self._inv_std).reshape(shape)
        if not self._batch_stats:
            return grad_y * scale
        n = grad_y.size // self.n_features
        mean_dy = (self.beta.grad / n).reshape(shape)
        mean_dy_xhat = (self.gamma.grad / n).reshape(shape)
        grad_x = grad_y - mean_dy
        grad_x -= x_hat * mean_dy_xhat
        grad_x *= scale
        return grad_x

    # ------------------------------------------------------------------ shapes and state

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    def check_input_shape(self, input_shape: tuple[int, ...], batch: int | None = None) -> None:
        if len(input_shape) in (1, 3) and input_shape[0] == self.n_features:
            return
        got = tuple(input_shape) if batch is None else (batch, *input_shape)
        raise ShapeError(
            f"{self.describe()} expects (batch, {self.n_features}) or "
            f"(batch, {self.n_features}, H, W), got {got}."
        )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self.check_input_shape(tuple(input_shape))
        return tuple(input_shape)

    def named_parameters(self) -> dict[str, Parameter]:
        return {"gamma": self.gamma, "beta": self.beta}

    def named_buffers(self) -> dict[str, Buffer]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    @classmethod
    def state_shapes(cls, config, input_shape):
        n = (config["n_features"],)
        return {"gamma": n, "beta": n}, {"running_mean": n, "running_var": n}

    @classmethod
    def shape_after(cls, config, input_shape, name=None):
        n = config["n_features"]
        input_shape = tuple(input_shape)
        if len(input_shape) not in (1, 3) or input_shape[0] != n:
            label = f"BatchNorm{f' {name!r}' if name else ''} ({n})"
            raise ShapeError(
                f"{label} expects (batch, {n}) or (batch, {n}, H, W), got {input_shape}."
            )
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "momentum": self.momentum, "eps": self.eps}

    def size_label(self) -> str:
        return str(self.n_features)
