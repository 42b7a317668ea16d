"""Window work of convolution and pooling compiled by numba: one pass, no strided slices.

`glassnet.nn.windows.Windows` is the readable NumPy reference: im2col copies a strided view of
all windows, col2im and the pooling reductions loop over the ``kh·kw`` kernel offsets with one
NumPy operation each. For small feature maps (LeNet's 14×14×6, a 5×5 kernel: 25 offsets, each
a slice of short strided runs) those calls cost more than the arithmetic. Each function here is
the same formula written per element, in one loop nest over channels-last arrays:

    col2im         g_x[n, r, s, c] = Σ_(a,b) g_cols[n, i, j, a, b, c]  over the windows (i, j)
                   whose entry (a, b) is (r, s): r + top = i·sh + a, s + left = j·sw + b
    max_pool_2x2   y[n, i, j, c] = max of x[n, 2i + a, 2j + b, c] over a, b ∈ {0, 1}
    max_pool_2x2_backward   g_x at each tile's (first) maximum = g_y, 0 elsewhere

col2im is written as a *gather* (each input position sums the windows that cover it) rather
than a scatter: every output number is written once, there is no buffer to zero, the padding
border is never touched, and the terms are added in increasing ``(a, b)`` order — the order in
which the NumPy reference adds its per-offset slices — so both paths give the same bits in
float32 and float64 (every operation is one IEEE addition; numba contracts nothing into fused
multiply-adds without ``fastmath``). Max pooling is compiled for the 2×2 tiles of stride 2
that CNNs use, four loads unrolled (a compiled loop with run-time window sizes was only a
little faster in forward and slower in backward, so other windows stay on the NumPy path); it
gives the reference's numbers bit for bit.

Measured, and left on the NumPy path: im2col (the reference is one copy of a strided view; a
compiled gather was 1–3× slower) and col2im for one input channel (a first layer, whose input
gradient training never asks for).

All loops are serial: the order of every sum is fixed, so the same inputs give the same bits on
every call (and OpenBLAS's threads hold the other core after each product anyway; see
`glassnet.kernels.updates`). col2im's ``grad_cols`` may be a strided view.

Shapes: ``grad_cols`` (N, H_out, W_out, kh, kw, C); ``x``, ``grad`` (N, H, W, C);
``y``, ``grad_y`` (N, H_out, W_out, C). The pooling kernels take C-contiguous arrays.
"""

from __future__ import annotations

import numba

jit = numba.njit(cache=True, error_model="numpy")


@jit
def col2im(grad_cols, grad, sh, sw, top, left):
    """``grad`` ← the adjoint of `im2col` applied to ``grad_cols`` (overwritten, not added to)."""
    n_samples, h, w, n_channels = grad.shape
    _, h_out, w_out, kh, kw, _ = grad_cols.shape
    zero = grad.dtype.type(0.0)
    for n in range(n_samples):
        for r in range(h):
            for s in range(w):
                for c in range(n_channels):
                    grad[n, r, s, c] = zero
                for a in range(kh):
                    # the window row i whose entry a lands on padded row r + top, if any
                    rr = r + top - a
                    if rr < 0 or rr % sh != 0 or rr // sh >= h_out:
                        continue
                    i = rr // sh
                    for b in range(kw):
                        ss = s + left - b
                        if ss < 0 or ss % sw != 0 or ss // sw >= w_out:
                            continue
                        j = ss // sw
                        for c in range(n_channels):
                            grad[n, r, s, c] += grad_cols[n, i, j, a, b, c]


@jit
def bigger(m, v):
    """max(m, v) where a NaN wins, as in ``np.maximum`` (a select, not a branch)."""
    return v if (v > m) | (v != v) else m


@jit
def max_pool_2x2(x, y):
    """``y`` ← the maximum of each 2×2 tile of ``x`` (stride 2), four numbers per channel.

    The window is fixed, so the four loads of a tile are unrolled and the loop over the
    channels (contiguous in both arrays) compiles to SIMD selects.
    """
    n_samples, h, w, n_channels = x.shape
    _, h_out, w_out, _ = y.shape
    xf, yf = x.reshape(-1), y.reshape(-1)
    for n in range(n_samples):
        for i in range(h_out):
            for j in range(w_out):
                top = ((n * h + 2 * i) * w + 2 * j) * n_channels  # the tile's top-left
                low = top + w * n_channels  # and the number below it
                out = ((n * h_out + i) * w_out + j) * n_channels
                for c in range(n_channels):
                    m = xf[top + c]
                    m = bigger(m, xf[top + n_channels + c])
                    m = bigger(m, xf[low + c])
                    m = bigger(m, xf[low + n_channels + c])
                    yf[out + c] = m


@jit
def max_pool_2x2_backward(x, y, grad_y, grad):
    """``grad`` ← each tile's gradient at the first of its four numbers equal to its maximum.

    "The first equal to the maximum" is the position the forward's strict comparisons keep
    (the first maximum on a tie, as the NumPy reference and PyTorch), so nothing needs to be
    recorded in forward: backward reads ``x`` and ``y`` again. A tile whose maximum is NaN
    gets no gradient.
    """
    n_samples, h, w, n_channels = x.shape
    _, h_out, w_out, _ = y.shape
    xf, yf, gyf, gf = x.reshape(-1), y.reshape(-1), grad_y.reshape(-1), grad.reshape(-1)
    gf[:] = 0  # every position but one per tile (and an odd last row/column) gets zero
    for n in range(n_samples):
        for i in range(h_out):
            for j in range(w_out):
                top = ((n * h + 2 * i) * w + 2 * j) * n_channels
                low = top + w * n_channels
                out = ((n * h_out + i) * w_out + j) * n_channels
                for c in range(n_channels):
                    m = yf[out + c]
                    # from the last of the four to the first, so the first equal one wins
                    at = -1
                    at = low + n_channels + c if xf[low + n_channels + c] == m else at
                    at = low + c if xf[low + c] == m else at
                    at = top + n_channels + c if xf[top + n_channels + c] == m else at
                    at = top + c if xf[top + c] == m else at
                    if at >= 0:
                        gf[at] = gyf[out + c]
