"""The 2-D convolution: every filter slides over the image and takes a dot product per window."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers, kernels
from ..errors import ShapeError, check_positive_int
from ..parameter import Parameter
from .layer import Layer
from .options import MAX_SIZE, Option
from .registry import register
from .windows import Windows, chunks, compiled_path, output_size, padding_of, pair


@register
class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in PyTorch): z = windows(x) @ W + b.

    Every window of ``kernel_size`` over the (padded) input, flattened to ``kh·kw·n_channels``
    numbers, is multiplied by the kernel matrix ``W``; filter ``f`` is column ``f`` of ``W`` plus
    ``b[f]``, exactly as neuron ``j`` of a `Dense` layer is column ``j``. Along each axis

        H_out = ⌊(H + 2p − k)/s⌋ + 1

    (with asymmetric padding, ``2p`` is ``p_top + p_bottom``).

    Parameters
    ----------
    n_channels : int
        Input channels C (1 for grayscale, 3 for RGB, the previous layer's filters).
    n_filters : int
        Output channels F.
    kernel_size : int or (int, int)
    stride : int or (int, int)
    padding : int, (int, int), (top, bottom, left, right) or "same"
        Zeros added around the input. "same" (stride 1) keeps the height and width.
    use_bias : bool
        Without a bias, ``b`` is None.
    weight_init, bias_init : str, float or callable
        Default He normal (for ReLU networks); "glorot_uniform" suits tanh/sigmoid. Fans are
        ``kh·kw·C`` in and ``F`` out.
    dtype, rng
        As for `Dense`.
    kernel : "auto", "numpy" or "numba"
        im2col (the window matrix) and col2im (the input gradient's sum over windows) as
        NumPy strided copies and slices, or as compiled loops over rows of windows
        (`glassnet.kernels.conv`, the same bits); "auto" takes numba when it is installed;
        `fit`'s own ``kernel=`` sets it. The matrix products are BLAS on both paths.

    Memory: the window matrix of a batch is ``batch·H_out·W_out·kh·kw·C`` numbers. A batch
    whose matrix would pass ``max_window_bytes`` (64 MiB; a class attribute) is split into
    chunks of samples, each through the same product; backward then rebuilds each chunk's
    windows instead of keeping them all, so a prediction over 8,192 images holds one chunk's.
    On the compiled path, a layer whose backward also computes dL/dx (every conv but the
    first) goes in chunks of at most ``cache_window_bytes`` (1 MiB) of windows: a chunk's
    windows and window gradients are still in the cache when its products and col2im read
    them, which measured 7–21 % faster a batch on cnn2 than one 9 MB window matrix. A first
    layer has no window gradient, and rebuilding its windows in backward cost more than the
    cache saved, so it keeps one window matrix (its backward 2.61 against 1.22 ms a batch of
    LeNet-5, `benchmarks/cnn.py --profile`).

    Shapes
    ------
    x : (batch, C, H, W) → z : (batch, F, H_out, W_out); W : (kh·kw·C, F); b : (F,)

    Row ``(a·kw + b)·C + c`` of ``W`` is the weight of channel ``c`` at kernel offset ``(a, b)``.
    PyTorch's weight ``w`` of shape ``(F, C, kh, kw)`` maps to it as
    ``W = w.transpose(2, 3, 1, 0).reshape(kh·kw·C, F)``, and back as
    ``w = W.reshape(kh, kw, C, F).transpose(3, 2, 0, 1)``.

    Examples
    --------
    >>> layer = Conv2D(1, 2, 3, padding="same", weight_init=1.0, rng=0)
    >>> layer.forward(np.ones((1, 1, 4, 4), np.float32))[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]], dtype=float32)
    """

    input_rank = 3
    max_window_bytes = 64 << 20
    cache_window_bytes = 1 << 20
    options = {
        "n_channels": Option("int", required=True, low=1, high=MAX_SIZE),
        "n_filters": Option("int", required=True, low=1, high=MAX_SIZE),
        "kernel_size": Option("ints", required=True, low=1, high=MAX_SIZE, length=(1, 2)),
        "stride": Option("ints", low=1, high=MAX_SIZE, length=(1, 2)),
        "padding": Option("ints", low=0, high=MAX_SIZE, length=(1, 4)),
        "use_bias": Option("bool"),
        "weight_init": Option("initializer"),
        "bias_init": Option("initializer"),
    }

    def __init__(
        self,
        n_channels: int,
        n_filters: int,
        kernel_size: Any = 3,
        stride: Any = 1,
        padding: Any = 0,
        *,
        use_bias: bool = True,
        weight_init: Any = "he_normal",
        bias_init: Any = "zeros",
        dtype: Any = np.float32,
        rng: np.random.Generator | int | None = None,
        name: str | None = None,
        kernel: str = "auto",
    ) -> None:
        super().__init__(name)
        kernels.resolve(kernel)  # an unknown name, or "numba" without numba: a clear error now
        self.kernel = kernel
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.n_filters = check_positive_int(n_filters, "n_filters")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = padding_of(padding, self.kernel_size, self.stride)
        self.weight_init = initializers.get(weight_init)
        self.bias_init = initializers.get(bias_init)
        self._dtype = np.dtype(dtype)
        kh, kw = self.kernel_size
        self.W = Parameter(np.empty((kh * kw * self.n_channels, self.n_filters), self._dtype))
        self.b = Parameter(np.empty(self.n_filters, self._dtype)) if use_bias else None
        self.windows = Windows(self.kernel_size, self.stride, self.padding)
        self._cols: np.ndarray | None = None  # (batch·H_out·W_out, kh·kw·C), for dL/dW
        self._x: np.ndarray | None = None  # (N, H, W, C) when the batch went in chunks
        self._x_shape: tuple[int, int, int, int] | None = None  # (N, H, W, C)
        self._ones = np.ones(0, dtype=self._dtype)  # (N·H_out·W_out,), for the bias gradient
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | int | None = None) -> None:
        """Draw new weights and biases from the initialisers (in place)."""
        rng = np.random.default_rng(rng)
        self.W.value[...] = self.weight_init(self.W.shape, rng, self._dtype)
        if self.b is not None:
            self.b.value[...] = self.bias_init(self.b.shape, rng, self._dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.n_channels:
            self.check_input(x)
        if x.dtype != self._dtype:
            x = x.astype(self._dtype)
        x_nhwc = x.transpose(0, 2, 3, 1)  # a view: channels last inside
        n, h, w, _ = x_nhwc.shape
        h_out, w_out = self.windows.output_size(h, w, self.describe())
        k, f = self.W.shape
        parts = self._chunks(n, h_out * w_out)
        self._x_shape = x_nhwc.shape
        compiled = compiled_path(self.kernel, self._dtype)
        if len(parts) == 1:
            cols = self.windows.im2col(x_nhwc, compiled).reshape(n * h_out * w_out, k)
            self._cols, self._x = cols, None  # (N·Ho·Wo, K), kept for dL/dW
            z = cols.dot(self.W.value)  # (N·Ho·Wo, F): one matrix product for the whole batch
        else:
            # a chunk of samples at a time; backward rebuilds each chunk's windows from x
            self._cols, self._x = None, x_nhwc
            z = np.empty((n * h_out * w_out, f), dtype=self._dtype)
            for part in parts:
                cols = self.windows.im2col(x_nhwc[part], compiled).reshape(-1, k)
                np.dot(
                    cols,
                    self.W.value,
                    out=z[part.start * h_out * w_out : part.stop * h_out * w_out],
                )
        if self.b is not None and compiled:
            kernels.compiled_conv().add_bias(z, self.b.value)
        elif self.b is not None:
            z += self.b.value
        # a channels-first view of channels-last memory; the next conv's transpose undoes it
        return z.reshape(n, h_out, w_out, f).transpose(0, 3, 1, 2)

    def _chunks(self, n: int, positions: int) -> list[slice]:
        """The batch's chunks of samples: one unless its windows pass ``max_window_bytes``
        (``cache_window_bytes`` on the compiled path, when backward computes dL/dx too)."""
        per_sample = positions * self.W.shape[0] * self._dtype.itemsize
        budget = self.max_window_bytes
        if self.input_grad and compiled_path(self.kernel, self._dtype):
            budget = min(budget, self.cache_window_bytes)
        return chunks(n, per_sample, budget)

    def backward(self, grad_z: np.ndarray) -> np.ndarray | None:
        # dL/dW = colsᵀ · dL/dz, dL/db = Σ dL/dz, dL/dcols = dL/dz · Wᵀ, then col2im
        if self._x_shape is None or (self._cols is None and self._x is None):
            raise RuntimeError(f"{self.describe()}: backward() called before forward().")
        n, f, h_out, w_out = grad_z.shape
        g = np.ascontiguousarray(grad_z.transpose(0, 2, 3, 1)).reshape(-1, f)  # (N·Ho·Wo, F)
        if self.b is not None:
            # Σ over the batch and positions as a product with ones: one BLAS call (as in Dense)
            if len(self._ones) != len(g):
                self._ones = np.ones(len(g), dtype=self._dtype)
            self._ones.dot(g, out=self.b.grad)
        compiled = compiled_path(self.kernel, self._dtype)
        kh, kw = self.kernel_size
        if self._cols is not None:  # the whole batch's windows, kept by forward
            self._cols.T.dot(g, out=self.W.grad)
            if not self.input_grad:
                return None
            grad_cols = g.dot(self.W.value.T).reshape(n, h_out, w_out, kh, kw, self.n_channels)
            return self.windows.col2im(grad_cols, self._x_shape, compiled).transpose(0, 3, 1, 2)
        assert self._x is not None
        grad_x = np.empty(self._x_shape, dtype=self._dtype) if self.input_grad else None
        for index, part in enumerate(self._chunks(n, h_out * w_out)):
            x_part = self._x[part]
            cols = self.windows.im2col(x_part, compiled).reshape(-1, self.W.shape[0])
            g_part = g[part.start * h_out * w_out : part.stop * h_out * w_out]
            if index == 0:
                cols.T.dot(g_part, out=self.W.grad)
            else:
                self.W.grad += cols.T.dot(g_part)
            if grad_x is not None:
                grad_cols = g_part.dot(self.W.value.T).reshape(
                    len(x_part), h_out, w_out, kh, kw, self.n_channels
                )
                grad_x[part] = self.windows.col2im(grad_cols, x_part.shape, compiled)
        return None if grad_x is None else grad_x.transpose(0, 3, 1, 2)

    # ------------------------------------------------------------------ shapes and state

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    def check_input_shape(self, input_shape: tuple[int, ...], batch: int | None = None) -> None:
        if len(input_shape) == 3 and input_shape[0] == self.n_channels:
            return
        got = tuple(input_shape) if batch is None else (batch, *input_shape)
        hint = ""
        if len(input_shape) == 1:
            side = int(round((input_shape[0] / self.n_channels) ** 0.5))
            if self.n_channels * side * side == input_shape[0]:
                hint = f" Reshape with X.reshape(-1, {self.n_channels}, {side}, {side})."
            else:
                hint = f" Reshape the images to (batch, {self.n_channels}, height, width)."
        elif len(input_shape) == 3 and input_shape[2] == self.n_channels:
            hint = " The channels come last: use X.transpose(0, 3, 1, 2)."
        raise ShapeError(
            f"{self.describe()} expects (batch, {self.n_channels}, H, W), got {got}.{hint}"
        )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self.check_input_shape(tuple(input_shape))
        h_out, w_out = self.windows.output_size(input_shape[1], input_shape[2], self.describe())
        return (self.n_filters, h_out, w_out)

    def named_parameters(self) -> dict[str, Parameter]:
        return {"W": self.W} if self.b is None else {"W": self.W, "b": self.b}

    @classmethod
    def state_shapes(cls, config, input_shape):
        kh, kw = pair(config["kernel_size"], "kernel_size")
        c, f = config["n_channels"], config["n_filters"]
        shapes = {"W": (kh * kw * c, f)}
        if config.get("use_bias", True):
            shapes["b"] = (f,)
        return shapes, {}

    @classmethod
    def shape_after(cls, config, input_shape, name=None):
        # the arithmetic of output_shape from the config alone: a file may name absurd sizes
        kernel = pair(config["kernel_size"], "kernel_size")
        stride = pair(config.get("stride", 1), "stride")
        padding = padding_of(config.get("padding", 0), kernel, stride)
        c, f = config["n_channels"], config["n_filters"]
        label = f"Conv2D{f' {name!r}' if name else ''} ({c}→{f}, {kernel[0]}×{kernel[1]})"
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[0] != c:
            raise ShapeError(f"{label} expects (batch, {c}, H, W), got {input_shape}.")
        return (f, *output_size(input_shape[1], input_shape[2], kernel, stride, padding, label))

    def get_config(self) -> dict[str, Any]:
        top, bottom, left, right = self.padding
        padding = [top, left] if (top, left) == (bottom, right) else list(self.padding)
        return {
            "n_channels": self.n_channels,
            "n_filters": self.n_filters,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": padding,
            "use_bias": self.b is not None,
            "weight_init": initializers.name_of(self.weight_init),
            "bias_init": initializers.name_of(self.bias_init),
        }

    def size_label(self) -> str:
        return f"{self.n_channels}→{self.n_filters}, {self.kernel_size[0]}×{self.kernel_size[1]}"

    def __repr__(self) -> str:
        kh, kw = self.kernel_size
        extra = "" if self.stride == (1, 1) else f", stride={self.stride}"
        extra += "" if not any(self.padding) else f", padding={self.padding}"
        extra += "" if self.b is not None else ", no bias"
        return f"Conv2D({self.n_channels} → {self.n_filters}, {kh}×{kw}{extra})"
