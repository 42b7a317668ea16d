"""Sliding windows: the one im2col/col2im implementation, shared by convolution and pooling.

A window of a ``kh × kw`` kernel at output position ``(i, j)`` covers the padded input rows
``i·sh … i·sh + kh − 1`` and columns ``j·sw … j·sw + kw − 1``. Along each axis

    H_out = ⌊(H + p_top + p_bottom − kh) / sh⌋ + 1.

`Windows.im2col` copies every window of a channels-last batch ``(N, H, W, C)`` into one array
``(N, H_out, W_out, kh, kw, C)``; flattened to ``(N·H_out·W_out, kh·kw·C)`` it is the matrix a
convolution multiplies by its kernel in one BLAS call, and the array a pooling layer reduces over
its ``kh·kw`` axis. `Windows.col2im` is its transpose (adjoint): it adds every window's gradient
back onto the input positions the window covered (overlapping windows add up).

Neither loops over samples or pixels. `col2im` and the pooling reductions loop over the
``kh·kw`` kernel offsets only: for an offset ``(a, b)`` the entries of all windows form one
strided slice of the input, added (or compared) by a single NumPy operation over every sample,
pixel and channel at once. `im2col` does the same for one-channel 3×3 windows and otherwise
copies a strided view of all windows (``sliding_window_view``) in one operation.

The window, padding and gradient buffers belong to the `Windows` object and are reused from
batch to batch (reallocated only when the batch shape changes), so memory stays bounded by one
batch's windows; `Conv2D` bounds that further by splitting a batch whose window matrix would
pass ``max_window_bytes`` into chunks of samples (`chunks`).

The layers' ``kernel=`` argument chooses compiled loops (`glassnet.kernels.conv`) for im2col
and col2im (``compiled=True``) and for max pooling over 2×2 tiles (`max_2x2`). The NumPy code
here is the reference they are tested against; both give the same bits as this code.

Channels-last inside: a channels-first batch ``x`` of shape (N, C, H, W) is passed as the view
``x.transpose(0, 2, 3, 1)``, which costs nothing; the windows' last axis is then the channel,
so ``kh·kw·C`` rows of a kernel are contiguous in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import kernels
from ..errors import ShapeError

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # top, bottom, left, right


def pair(value: int | Sequence[int], name: str) -> Pair:
    """``3`` → ``(3, 3)``; ``(3, 5)`` → ``(3, 5)``, checking sizes are whole numbers ≥ 1."""
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise ValueError(f"{name} must be a whole number >= 1 or a pair of them, got {value!r}.")
    return int(values[0]), int(values[1])


def padding_of(padding: int | Sequence[int] | str, kernel: Pair, stride: Pair) -> Padding:
    """Padding as ``(top, bottom, left, right)`` from an int, a pair, four ints or ``"same"``.

    ``"same"`` (stride 1 only, as in PyTorch) pads ``k − 1`` in all along each axis, the odd one
    at the bottom/right, so that the output has the input's height and width.
    """
    if isinstance(padding, str):
        if padding != "same":
            raise ValueError(f'padding must be an int, a pair or "same", got {padding!r}.')
        if stride != (1, 1):
            raise ValueError(
                f'padding="same" needs stride 1, got stride={stride}; give the padding as '
                "numbers for a strided convolution."
            )
        (kh, kw) = kernel
        return (kh - 1) // 2, kh // 2, (kw - 1) // 2, kw // 2
    values = [padding] if isinstance(padding, (int, np.integer)) else list(padding)
    if not values or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in values
    ):
        raise ValueError(f"padding must be whole numbers >= 0, got padding={padding!r}.")
    values = [int(v) for v in values]
    if len(values) == 1:
        return values[0], values[0], values[0], values[0]
    if len(values) == 2:
        return values[0], values[0], values[1], values[1]
    if len(values) == 4:
        return values[0], values[1], values[2], values[3]
    raise ValueError(f"padding must be 1, 2 or 4 numbers, got padding={padding!r}.")


def output_size(
    height: int, width: int, kernel: Pair, stride: Pair, padding: Padding, describe: str
) -> Pair:
    """``(H_out, W_out)`` for an input of ``height × width``; `ShapeError` if the kernel does
    not fit into the padded input. Pure arithmetic: safe on sizes from untrusted files."""
    padded_h = height + padding[0] + padding[1]
    padded_w = width + padding[2] + padding[3]
    if kernel[0] > padded_h or kernel[1] > padded_w:
        raise ShapeError(
            f"{describe} has a {kernel[0]}×{kernel[1]} window, larger than its padded input "
            f"{padded_h}×{padded_w} (input {height}×{width}). Use a smaller kernel, more "
            "padding or fewer pooling layers before it."
        )
    return (padded_h - kernel[0]) // stride[0] + 1, (padded_w - kernel[1]) // stride[1] + 1


def chunks(n_samples: int, bytes_per_sample: int, max_bytes: int) -> list[slice]:
    """Slices of ``range(n_samples)`` holding at most ``max_bytes`` of windows each (at least one
    sample per slice): the whole batch in one slice when it fits."""
    step = max(1, max_bytes // max(1, bytes_per_sample))
    return [slice(start, min(start + step, n_samples)) for start in range(0, n_samples, step)]


def compiled_path(kernel: str, dtype: np.dtype) -> bool:
    """Does a layer with this ``kernel=`` choice run its windows compiled? numba for float32
    and float64 only (other dtypes keep the NumPy path)."""
    return (
        kernel != "numpy"
        and kernels.resolve(kernel) == "numba"
        and dtype in (np.float32, np.float64)
    )


class Windows:
    """The windows of one layer's kernel over channels-last batches, with reused buffers.

    Parameters
    ----------
    kernel, stride : (int, int)
    padding : (top, bottom, left, right)
    """

    def __init__(self, kernel: Pair, stride: Pair, padding: Padding = (0, 0, 0, 0)) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self._padded: np.ndarray | None = None  # (N, Hp, Wp, C), zero borders
        self._cols: np.ndarray | None = None  # flat, holding (N, H_out, W_out, kh, kw, C)
        self._grad_padded: np.ndarray | None = None  # (N, Hp, Wp, C)

    def output_size(self, height: int, width: int, describe: str = "The layer") -> Pair:
        return output_size(height, width, self.kernel, self.stride, self.padding, describe)

    def _pad(self, x: np.ndarray) -> np.ndarray:
        top, bottom, left, right = self.padding
        if not any(self.padding):
            return x
        n, h, w, c = x.shape
        shape = (n, h + top + bottom, w + left + right, c)
        if self._padded is None or self._padded.shape != shape or self._padded.dtype != x.dtype:
            self._padded = np.zeros(shape, dtype=x.dtype)  # the borders stay zero
        self._padded[:, top : top + h, left : left + w, :] = x
        return self._padded

    def _offsets(self, h_out: int, w_out: int):
        """For each kernel offset ``(a, b)``: the strided slices of rows and columns that the
        entry ``(a, b)`` of every window covers (in padded coordinates)."""
        (kh, kw), (sh, sw) = self.kernel, self.stride
        for a in range(kh):
            rows = slice(a, a + sh * (h_out - 1) + 1, sh)
            for b in range(kw):
                yield a, b, rows, slice(b, b + sw * (w_out - 1) + 1, sw)

    def _grad_buffer(
        self, shape: tuple[int, ...], dtype: np.dtype, zero: bool = True
    ) -> np.ndarray:
        """The (N, Hp, Wp, C) buffer gradients are added into, zeroed unless ``zero=False``."""
        if (
            self._grad_padded is None
            or self._grad_padded.shape != shape
            or self._grad_padded.dtype != dtype
        ):
            self._grad_padded = np.empty(shape, dtype=dtype)
        if zero:
            self._grad_padded.fill(0)
        return self._grad_padded

    def _padded_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        n, h, w, c = input_shape
        top, bottom, left, right = self.padding
        return n, h + top + bottom, w + left + right, c

    def _unpad(self, grad: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
        _, h, w, _ = input_shape
        top, _, left, _ = self.padding
        return grad[:, top : top + h, left : left + w, :]

    def im2col(self, x: np.ndarray, compiled: bool = False) -> np.ndarray:
        """Every window of ``x``: (N, H, W, C) → (N, H_out, W_out, kh, kw, C).

        The result is this object's buffer, overwritten by the next call. ``compiled`` copies
        the windows' rows with `glassnet.kernels.conv.im2col` instead (the same numbers).
        """
        n, h, w, c = x.shape
        h_out, w_out = self.output_size(h, w)
        shape = (n, h_out, w_out, *self.kernel, c)
        size = n * h_out * w_out * self.kernel[0] * self.kernel[1] * c
        # one flat buffer that only grows: a smaller batch (a batch's last chunk, the epoch's
        # last batch) uses its beginning instead of allocating a buffer of its own
        if self._cols is None or self._cols.size < size or self._cols.dtype != x.dtype:
            self._cols = np.empty(size, dtype=x.dtype)
        cols = self._cols[:size].reshape(shape)
        (kh, kw), (sh, sw) = self.kernel, self.stride
        # NOTE: for one channel and at most nine offsets, NumPy's strided copy per offset beat
        # the compiled rows of kw numbers (0.34 against 0.78 ms on cnn2's first layer)
        if compiled and not (c == 1 and kh * kw <= 9):
            # straight from x: the padding is written as zeros, never copied
            top, _, left, _ = self.padding
            kernels.compiled_conv().im2col(np.ascontiguousarray(x), cols, sh, sw, top, left)
            return cols
        xp = self._pad(x)
        if c == 1 and kh * kw <= 9:
            # one strided copy per kernel offset, over all samples, pixels and channels at once
            for a, b, rows, columns in self._offsets(h_out, w_out):
                cols[:, :, :, a, b, :] = xp[:, rows, columns, :]
        else:
            # NOTE: one copy from a strided view of all windows (N, H_out, W_out, C, kh, kw):
            # measured 2–7× faster than the offset loop once windows hold several channels
            # or 25 pixels (its per-offset slices are then short, strided runs); the offset
            # loop stays faster for 3×3 windows of one channel.
            windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
            np.copyto(cols.transpose(0, 1, 2, 5, 3, 4), windows[:, :h_out, :w_out])
        return cols

    def col2im(
        self, grad_cols: np.ndarray, input_shape: tuple[int, ...], compiled: bool = False
    ) -> np.ndarray:
        """The adjoint of `im2col`: (N, H_out, W_out, kh, kw, C) → (N, H, W, C), summing the
        gradients of overlapping windows. Returns a view into this object's buffer."""
        _, h_out, w_out = grad_cols.shape[:3]
        if compiled:  # rows of windows added straight into the unpadded buffer
            grad = self._grad_buffer(tuple(input_shape), grad_cols.dtype, zero=False)
            sh, sw = self.stride
            kernels.compiled_conv().col2im(
                np.ascontiguousarray(grad_cols), grad, sh, sw, self.padding[0], self.padding[2]
            )
            return grad
        grad = self._grad_buffer(self._padded_shape(input_shape), grad_cols.dtype)
        for a, b, rows, columns in self._offsets(h_out, w_out):
            grad[:, rows, columns, :] += grad_cols[:, :, :, a, b, :]
        return self._unpad(grad, input_shape)

    # ------------------------------------------------------------------ reductions (pooling)
    # Pooling reduces each window to one number. Instead of copying the windows (im2col) and
    # reducing over them, it runs the same loop over kernel offsets on output-sized arrays:
    # kh·kw elementwise passes, no window buffer at all.

    def max(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each window's maximum and the offset (``a·kw + b``) where it is, the first on a
        tie as in PyTorch: (N, H, W, C) → two (N, H_out, W_out, C) arrays."""
        n, h, w, c = x.shape
        h_out, w_out = self.output_size(h, w)
        where_dtype = np.uint8 if self.kernel[0] * self.kernel[1] < 256 else np.intp
        xp = self._pad(x)
        offsets = self._offsets(h_out, w_out)
        _, _, rows, columns = next(offsets)
        y = xp[:, rows, columns, :].copy()
        where = np.zeros(y.shape, dtype=where_dtype)
        better = np.empty(y.shape, dtype=bool)
        for a, b, rows, columns in offsets:
            candidate = xp[:, rows, columns, :]
            np.greater(candidate, y, out=better)
            np.copyto(where, a * self.kernel[1] + b, where=better)
            np.maximum(y, candidate, out=y)
        return y, where

    def max_backward(
        self,
        grad_y: np.ndarray,
        where: np.ndarray,
        input_shape: tuple[int, ...],
    ) -> np.ndarray:
        """The gradient of `max`: each window's gradient to its maximum. (N, H_out, W_out, C)
        → (N, H, W, C), a view into this object's buffer."""
        _, h_out, w_out, _ = grad_y.shape
        grad = self._grad_buffer(self._padded_shape(input_shape), grad_y.dtype)
        kw = self.kernel[1]
        picked = np.empty(grad_y.shape, dtype=grad_y.dtype)
        for a, b, rows, columns in self._offsets(h_out, w_out):
            np.multiply(grad_y, where == a * kw + b, out=picked)
            grad[:, rows, columns, :] += picked
        return self._unpad(grad, input_shape)

    # The compiled max pooling of 2×2 tiles (`glassnet.kernels.conv`), recording each tile's
    # offset of its maximum as `max` does.

    def tiles_2x2(self) -> bool:
        """Are these windows the 2×2 tiles of stride 2 (no padding) the compiled pool handles?"""
        return self.kernel == (2, 2) and self.stride == (2, 2) and not any(self.padding)

    def max_2x2(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`max` of 2×2 tiles, compiled: (N, H, W, C) → y and where, (N, H // 2, W // 2, C)
        each, the same numbers as `max`."""
        n, h, w, c = x.shape
        self.output_size(h, w)
        y = np.empty((n, h // 2, w // 2, c), dtype=x.dtype)
        where = np.empty(y.shape, dtype=np.uint8)
        kernels.compiled_conv().max_pool_2x2(np.ascontiguousarray(x), y, where)
        return y, where

    def max_2x2_backward(
        self, grad_y: np.ndarray, where: np.ndarray, input_shape: tuple[int, ...]
    ) -> np.ndarray:
        """The gradient of `max_2x2`, the same numbers as `max_backward`: (N, H // 2, W // 2, C)
        → (N, H, W, C), this object's buffer."""
        grad = self._grad_buffer(tuple(input_shape), grad_y.dtype, zero=False)
        kernels.compiled_conv().max_pool_2x2_backward(np.ascontiguousarray(grad_y), where, grad)
        return grad

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Each window's mean: (N, H, W, C) → (N, H_out, W_out, C)."""
        n, h, w, c = x.shape
        h_out, w_out = self.output_size(h, w)
        xp = self._pad(x)
        y = np.zeros((n, h_out, w_out, c), dtype=x.dtype)
        for _, _, rows, columns in self._offsets(h_out, w_out):
            y += xp[:, rows, columns, :]
        y *= x.dtype.type(1 / (self.kernel[0] * self.kernel[1]))
        return y

    def mean_backward(self, grad_y: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
        """The gradient of `mean`: (N, H_out, W_out, C) → (N, H, W, C), a view into a buffer."""
        _, h_out, w_out, _ = grad_y.shape
        grad = self._grad_buffer(self._padded_shape(input_shape), grad_y.dtype)
        share = grad_y * grad_y.dtype.type(1 / (self.kernel[0] * self.kernel[1]))
        for _, _, rows, columns in self._offsets(h_out, w_out):
            grad[:, rows, columns, :] += share
        return self._unpad(grad, input_shape)
