"""Flatten: feature maps become one vector per sample, for the Dense layers after a conv stack."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from .layer import Layer
from .registry import register


@register
class Flatten(Layer):
    """y = x.reshape(batch, -1), in channels-first (C, H, W) order as in PyTorch.

    Shapes
    ------
    x : (batch, C, H, W) (or any per-sample shape) → y : (batch, C·H·W)
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim < 2:
            raise ShapeError(f"{self.describe()} expects (batch, ...), got {x.shape}.")
        self._shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        if self._shape is None:
            raise RuntimeError(f"{self.describe()}: backward() called before forward().")
        return grad_y.reshape(self._shape)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)

    @classmethod
    def shape_after(cls, config, input_shape, name=None):
        return (math.prod(input_shape),)
