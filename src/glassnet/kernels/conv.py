"""Window work of convolution and pooling compiled by numba: one pass, contiguous runs.

`glassnet.nn.windows.Windows` is the readable NumPy reference: im2col copies a strided view of
all windows, col2im and the pooling reductions loop over the ``kh·kw`` kernel offsets with one
NumPy operation each. Each function here is the same formula in one loop nest over
channels-last arrays:

    im2col         cols[n, i, j, a, b, c] = x[n, i·sh + a − top, j·sw + b − left, c]
                   (0 where that position lies in the padding)
    col2im         g_x[n, r, s, c] = Σ_(a,b) g_cols[n, i, j, a, b, c]  over the windows (i, j)
                   whose entry (a, b) is (r, s): r + top = i·sh + a, s + left = j·sw + b
    add_bias       z[p, f] += b[f]  (NumPy's broadcast add runs short rows of F numbers)
    max_pool_2x2   y[n, i, j, c] = max of x[n, 2i + a, 2j + b, c] over a, b ∈ {0, 1}, and
                   where[n, i, j, c] = 2a + b of the first maximum
    max_pool_2x2_backward   g_x[n, 2i + a, 2j + b, c] = g_y[n, i, j, c] if 2a + b is where,
                   else 0

Channels last makes one row of a window, ``x[n, r, s … s + kw − 1, :]``, ``kw·C`` numbers in a
row of memory, and so is the row ``cols[n, i, j, a, :, :]``: im2col and col2im move whole runs
of ``kw·C`` numbers (clipped at the padding), which compile to vector copies and adds.

col2im visits the windows from the last to the first. An input position (r, s) then receives
its terms in increasing ``(a, b)`` order, starting from zero: the order in which the NumPy
reference adds its per-offset slices, so both give the same bits in float32 and float64 (every
operation is one IEEE addition; numba contracts nothing into fused multiply-adds without
``fastmath``). The pooling kernels keep the reference's comparisons (a later number wins only
when it is strictly larger; a NaN propagates into the maximum as in ``np.maximum``), so they
give its numbers and its gradient bit for bit too.

NOTE: every index is built from unsigned integers. numba checks each signed index for
wraparound (a negative index counts from the end), and that branch keeps LLVM from
vectorising the loop: measured 3–11× slower on these kernels.

All loops are serial: the order of every sum is fixed, so the same inputs give the same bits on
every call (and OpenBLAS's threads hold the other core after each product anyway; see
`glassnet.kernels.updates`). They release the GIL (``nogil``): ``fit(threads=n)`` runs each
share of a batch through them in its own thread (`glassnet.train.threads`).

Shapes (all C-contiguous): ``x``, ``grad`` (N, H, W, C); ``cols``, ``grad_cols``
(N, H_out, W_out, kh, kw, C); ``y``, ``where``, ``grad_y`` (N, H_out, W_out, C).
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, error_model="numpy", nogil=True)
u = np.uint64


@jit
def im2col(x, cols, sh, sw, top, left):
    """``cols`` ← every window of ``x``, zeros where a window reaches into the padding."""
    n_samples, h, w, n_channels = x.shape
    _, h_out, w_out, kh, kw, _ = cols.shape
    xf, cf = x.reshape(-1), cols.reshape(-1)
    zero = cols.dtype.type(0.0)
    run = u(kw * n_channels)  # one window row: kw·C numbers
    out = u(0)
    for n in range(n_samples):
        for i in range(h_out):
            for j in range(w_out):
                s = j * sw - left  # the window's first column (negative: in the padding)
                inside = max(0, -s)  # the first of its columns inside the input
                first, last = u(inside * n_channels), u(max(inside, min(kw, w - s)) * n_channels)
                for a in range(kh):
                    r = i * sh + a - top
                    if r < 0 or r >= h:
                        for t in range(run):
                            cf[out + t] = zero
                    else:
                        source = u(((n * h + r) * w + s + inside) * n_channels)
                        for t in range(first):
                            cf[out + t] = zero
                        for t in range(last - first):
                            cf[out + first + t] = xf[source + t]
                        for t in range(last, run):
                            cf[out + t] = zero
                    out += run


@jit
def col2im(grad_cols, grad, sh, sw, top, left):
    """``grad`` ← the adjoint of `im2col` applied to ``grad_cols`` (overwritten, not added to)."""
    n_samples, h, w, n_channels = grad.shape
    _, h_out, w_out, kh, kw, _ = grad_cols.shape
    gf, cf = grad.reshape(-1), grad_cols.reshape(-1)
    gf[:] = 0
    run = u(kw * n_channels)
    for n in range(n_samples):
        # from the last window to the first: each position's terms arrive in (a, b) order
        for i in range(h_out - 1, -1, -1):
            for j in range(w_out - 1, -1, -1):
                s = j * sw - left
                inside = max(0, -s)
                first, last = u(inside * n_channels), u(max(inside, min(kw, w - s)) * n_channels)
                window = u(((n * h_out + i) * w_out + j) * kh) * run
                for a in range(kh):
                    r = i * sh + a - top
                    if r < 0 or r >= h:
                        continue
                    target = u(((n * h + r) * w + s + inside) * n_channels)
                    source = window + u(a) * run + first
                    for t in range(last - first):
                        gf[target + t] += cf[source + t]


@jit
def add_bias(z, b):
    """``z[p, f] += b[f]`` for every row p of the (P, F) product: one pass, no broadcast."""
    n_rows, n_filters = z.shape
    zf, f = z.reshape(-1), u(n_filters)
    for p in range(u(n_rows)):
        row = p * f
        for k in range(f):
            zf[row + k] += b[k]


@jit
def max_pool_2x2(x, y, where):
    """``y`` ← the maximum of each 2×2 tile of ``x`` (stride 2); ``where`` ← its offset 2a + b.

    The four loads of a tile are unrolled; the loop over the channels (contiguous in every
    array) compiles to vector selects.
    """
    n_samples, h, w, n_channels = x.shape
    _, h_out, w_out, _ = y.shape
    xf, yf, wf = x.reshape(-1), y.reshape(-1), where.reshape(-1)
    c, below = u(n_channels), u(w * n_channels)
    for n in range(n_samples):
        for i in range(h_out):
            for j in range(w_out):
                top = u(((n * h + 2 * i) * w + 2 * j) * n_channels)  # the tile's top-left
                out = u(((n * h_out + i) * w_out + j) * n_channels)
                for k in range(c):
                    m, at = xf[top + k], 0
                    v = xf[top + c + k]
                    at = 1 if v > m else at
                    m = v if (v > m) | (v != v) else m  # np.maximum: a NaN wins
                    v = xf[top + below + k]
                    at = 2 if v > m else at
                    m = v if (v > m) | (v != v) else m
                    v = xf[top + below + c + k]
                    at = 3 if v > m else at
                    m = v if (v > m) | (v != v) else m
                    yf[out + k] = m
                    wf[out + k] = at


@jit
def max_pool_2x2_backward(grad_y, where, grad):
    """``grad`` ← each tile's gradient at the offset ``where`` names, 0 at the other three (and
    on an odd last row or column, which no tile covers)."""
    n_samples, h, w, n_channels = grad.shape
    _, h_out, w_out, _ = grad_y.shape
    gyf, wf, gf = grad_y.reshape(-1), where.reshape(-1), grad.reshape(-1)
    zero = grad.dtype.type(0.0)
    c = u(n_channels)
    for n in range(n_samples):
        for i in range(h_out):
            for a in range(2):
                row = u((n * h + 2 * i + a) * w * n_channels)
                for j in range(w_out):
                    out = u(((n * h_out + i) * w_out + j) * n_channels)
                    for b in range(2):
                        # one store per step, so that the loop over channels vectorises
                        offset = 2 * a + b
                        target = row + u((2 * j + b) * n_channels)
                        for k in range(c):
                            gf[target + k] = gyf[out + k] if wf[out + k] == offset else zero
                for t in range(u(2 * w_out * n_channels), u(w * n_channels)):
                    gf[row + t] = zero
        for t in range(u((n * h + 2 * h_out) * w * n_channels), u((n + 1) * h * w * n_channels)):
            gf[t] = zero
