"""Pooling: each window of a feature map becomes one number (its maximum or its mean)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..errors import ShapeError
from .layer import Layer
from .options import MAX_SIZE, Option
from .registry import register
from .windows import Windows, compiled_path, output_size, pair


class _Pool2D(Layer):
    """What max and average pooling share: the window arithmetic and the shape checks."""

    input_rank = 3
    options = {
        "pool_size": Option("ints", low=1, high=MAX_SIZE, length=(1, 2)),
        "stride": Option("ints", low=1, high=MAX_SIZE, length=(1, 2)),
    }

    def __init__(self, pool_size: Any = 2, stride: Any = None, name: str | None = None) -> None:
        super().__init__(name)
        self.pool_size = pair(pool_size, "pool_size")
        self.stride = self.pool_size if stride is None else pair(stride, "stride")
        self.windows = Windows(self.pool_size, self.stride)
        self._x_shape: tuple[int, int, int, int] | None = None  # (N, H, W, C)

    def _channels_last(self, x: np.ndarray) -> np.ndarray:
        """(N, C, H, W) → the view (N, H, W, C), remembering its shape for backward."""
        if x.ndim != 4:
            self.check_input(x)
        x_nhwc = x.transpose(0, 2, 3, 1)
        self.windows.output_size(x.shape[2], x.shape[3], self.describe())
        self._x_shape = x_nhwc.shape
        return x_nhwc

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self.check_input_shape(tuple(input_shape))
        c, h, w = input_shape
        return (c, *self.windows.output_size(h, w, self.describe()))

    @classmethod
    def shape_after(cls, config, input_shape, name=None):
        pool = pair(config.get("pool_size", 2), "pool_size")
        stride = pair(config.get("stride", pool), "stride")
        label = f"{cls.__name__}{f' {name!r}' if name else ''} ({pool[0]}×{pool[1]})"
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ShapeError(f"{label} expects (batch, C, H, W), got {input_shape}.")
        c, h, w = input_shape
        return (c, *output_size(h, w, pool, stride, (0, 0, 0, 0), label))

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}

    def size_label(self) -> str:
        return f"{self.pool_size[0]}×{self.pool_size[1]}"


@register
class MaxPool2D(_Pool2D):
    """Max pooling: y = max over each ``pool_size`` window (stride: ``pool_size`` by default).

    The gradient flows to the window's maximum only (the first one on a tie, as in PyTorch).
    ``kernel`` ("auto", "numpy", "numba"; `fit` sets it) runs 2×2 tiles of stride 2 compiled
    (`glassnet.kernels.conv`), with the same results bit for bit; other windows use NumPy.

    Shapes
    ------
    x : (batch, C, H, W) → y : (batch, C, H_out, W_out), H_out = ⌊(H − k)/s⌋ + 1
    """

    def __init__(
        self,
        pool_size: Any = 2,
        stride: Any = None,
        name: str | None = None,
        kernel: str = "auto",
    ) -> None:
        super().__init__(pool_size, stride, name)
        kernels.resolve(kernel)  # an unknown name, or "numba" without numba: a clear error now
        self.kernel = kernel
        self._where: np.ndarray | None = None  # (N, H_out, W_out, C): the offset of each max
        self._compiled = False  # did forward take the compiled 2×2 kernel?

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x_nhwc = self._channels_last(x)
        self._compiled = self.windows.tiles_2x2() and compiled_path(self.kernel, x.dtype)
        if self._compiled:
            y, self._where = self.windows.max_2x2(x_nhwc)
        else:
            y, self._where = self.windows.max(x_nhwc)  # (N, Ho, Wo, C)
        return y.transpose(0, 3, 1, 2)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        if self._where is None or self._x_shape is None:
            raise RuntimeError(f"{self.describe()}: backward() called before forward().")
        g = grad_y.transpose(0, 2, 3, 1)
        if self._compiled:
            grad = self.windows.max_2x2_backward(g, self._where, self._x_shape)
        else:
            grad = self.windows.max_backward(g, self._where, self._x_shape)
        return grad.transpose(0, 3, 1, 2)


@register
class AvgPool2D(_Pool2D):
    """Average pooling: y = mean over each ``pool_size`` window (stride: ``pool_size``).

    Shapes
    ------
    x : (batch, C, H, W) → y : (batch, C, H_out, W_out), H_out = ⌊(H − k)/s⌋ + 1
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.windows.mean(self._channels_last(x)).transpose(0, 3, 1, 2)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        if self._x_shape is None:
            raise RuntimeError(f"{self.describe()}: backward() called before forward().")
        g = grad_y.transpose(0, 2, 3, 1)
        return self.windows.mean_backward(g, self._x_shape).transpose(0, 3, 1, 2)


@register
class GlobalAvgPool2D(Layer):
    """The mean of each feature map: y[n, c] = mean over (h, w) of x[n, c, h, w].

    Shapes
    ------
    x : (batch, C, H, W) → y : (batch, C)
    """

    input_rank = 3

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._hw: tuple[int, int] | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 4:
            self.check_input(x)
        self._hw = x.shape[2], x.shape[3]
        return x.mean(axis=(2, 3), dtype=x.dtype)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        if self._hw is None:
            raise RuntimeError(f"{self.describe()}: backward() called before forward().")
        h, w = self._hw
        share = grad_y / grad_y.dtype.type(h * w)  # (N, C)
        # a real array, not a read-only broadcast: layers before may update it in place
        return np.broadcast_to(share[:, :, None, None], (*grad_y.shape, h, w)).copy()

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self.check_input_shape(tuple(input_shape))
        return (input_shape[0],)

    @classmethod
    def shape_after(cls, config, input_shape, name=None):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            label = f"GlobalAvgPool2D{f' {name!r}' if name else ''}"
            raise ShapeError(f"{label} expects (batch, C, H, W), got {input_shape}.")
        return (input_shape[0],)

    def size_label(self) -> str:
        return ""
