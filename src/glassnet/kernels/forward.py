"""Prediction of a small network compiled by numba: the whole forward pass in one call.

For a chain of Dense layers and elementwise activations ending in a softmax (the seed network,
784-16-16-10 sigmoid), one-sample prediction in NumPy is two dozen calls of about half a
microsecond each on arrays of 16 numbers. Here the same formulas run as one loop nest:

    z = x·W + b          (a Dense layer: z_j = (Σ_i x_i·W_ij) + b_j, four rows of W at a time)
    a = f(z)             (sigmoid = 1/(1 + e^(−z)), tanh, ReLU = max(z, 0), identity)
    p = e^(z − c) / Σ e^(z − c)   per row, c = the row's largest z (the output softmax)

Every layer's output is kept, in one buffer, so that `glassnet.inspect.trace` shows exactly the
numbers prediction computed (`chain_forward` for trace and `chain_proba` for predict_proba
share `chain_layers` and `softmax_rows`).

Against the NumPy reference (`Sequential.forward` and the softmax) the results agree to float
rounding, not bit for bit: BLAS adds the products of x·W in its own blocked order, with fused
multiply-adds, where this loop adds them one after another; NumPy's SIMD tanh and exp round
differently from the C library's; and sigmoid is computed from exp here, from tanh there. The
arithmetic here is plain IEEE (no ``fastmath``), so the same inputs give the same bits on every
call.

Shapes: ``x`` (n, n_inputs), C-contiguous; ``values`` the model's packed parameter vector (each
``W`` is a C-ordered (n_inputs, n_neurons) block of it, each ``b`` an (n_neurons,) block);
``layout`` (n_layers, 7) int64, one row per layer (see `LAYOUT`). The result is a flat buffer
holding each layer's output as an (n, width) block, then the probabilities.
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, error_model="numpy")

# The kinds of step a layout row describes.
DENSE, SIGMOID, TANH, RELU, IDENTITY = 0, 1, 2, 3, 4
# The columns of a layout row: kind, widths in and out, where W and b start in ``values`` (b: −1
# for none), and where the input and output blocks start in the result (per sample: the block
# of width w at offset o holds sample r's numbers at o·n + r·w; input −1 is ``x``).
LAYOUT = ("kind", "n_in", "n_out", "W", "b", "source", "target")


@jit
def chain_layers(x, values, layout, out):
    """Every layer's output of x into ``out`` (n·total numbers), as (n, width) blocks at the
    layout's offsets × n; the probabilities' block at the end is left for `softmax_rows`."""
    n = x.shape[0]
    flat_x = x.reshape(-1)
    zero = x.dtype.type(0.0)
    for k in range(layout.shape[0]):
        kind, n_in, n_out = layout[k, 0], layout[k, 1], layout[k, 2]
        source, target = layout[k, 5] * n, layout[k, 6] * n
        # NOTE: views with indices counting from 0, so that numba needs no negative-index
        # wraparound inside the loops (which would keep them from using SIMD instructions).
        src = flat_x if source < 0 else out[source : source + n * n_in]
        dst = out[target : target + n * n_out]
        if kind == DENSE:
            a = src.reshape((n, n_in))
            z = dst.reshape((n, n_out))
            W = values[layout[k, 3] : layout[k, 3] + n_in * n_out].reshape((n_in, n_out))
            for r in range(n):
                for j in range(n_out):
                    z[r, j] = zero
                # i outside, j inside: the n_out sums grow side by side along rows of W, four
                # rows at a time (z_j += (a_i·W_ij + a_i+1·W_i+1,j) + (…i+2… + …i+3…)), so that
                # each z_j is read and written once per four products, not once per product.
                n_four = n_in - n_in % 4
                for i in range(0, n_four, 4):
                    a0, a1, a2, a3 = a[r, i], a[r, i + 1], a[r, i + 2], a[r, i + 3]
                    for j in range(n_out):
                        z[r, j] += (a0 * W[i, j] + a1 * W[i + 1, j]) + (
                            a2 * W[i + 2, j] + a3 * W[i + 3, j]
                        )
                for i in range(n_four, n_in):
                    a_i = a[r, i]
                    for j in range(n_out):
                        z[r, j] += a_i * W[i, j]
                if layout[k, 4] >= 0:
                    b = values[layout[k, 4] : layout[k, 4] + n_out]
                    for j in range(n_out):
                        z[r, j] += b[j]
        else:
            activate(kind, src, dst)


@jit
def activate(kind, src, dst):
    """``dst`` ← f(``src``) for the elementwise activation ``kind`` (SIGMOID, TANH, RELU or
    IDENTITY); 1-D arrays of one size. Prediction and the compiled training step share it."""
    one, zero = dst.dtype.type(1.0), dst.dtype.type(0.0)
    if kind == SIGMOID:
        # NOTE: from exp, not as NumPy's ½·tanh(z/2) + ½: the C library's exp costs less than
        # its tanh (one-sample seed prediction 2.7 → 2.4 µs; a training step's 512 numbers,
        # under load: 3.8 against 16.6 µs). For z < −88, e^(−z) = inf and a = 1/inf = 0, the
        # right limit (no NaN).
        for e in range(src.size):
            dst[e] = one / (one + np.exp(-src[e]))
    elif kind == TANH:
        for e in range(src.size):
            dst[e] = np.tanh(src[e])
    elif kind == RELU:
        for e in range(src.size):
            dst[e] = max(src[e], zero)
    else:
        dst[:] = src


@jit
def softmax_rows(z, p):
    """p_rj = e^(z_rj − c_r) / Σ_k e^(z_rk − c_r), each row shifted by its largest z c_r.

    Shapes: z (n, classes) → p (n, classes), written in place.
    """
    n, width = z.shape
    zero = z.dtype.type(0.0)
    for r in range(n):
        c = z[r, 0]
        for j in range(1, width):
            c = max(c, z[r, j])
        s = zero
        for j in range(width):
            e = np.exp(z[r, j] - c)
            p[r, j] = e
            s += e
        for j in range(width):
            p[r, j] /= s


@jit
def chain_forward(x, values, layout, total):
    """Every layer's output and the softmax probabilities of x, in one flat buffer.

    ``total`` is the number of outputs per sample (every layer's width plus the classes); the
    probabilities are the buffer's last n·n_classes numbers.
    """
    n = x.shape[0]
    out = np.empty(n * total, x.dtype)
    chain_layers(x, values, layout, out)
    width = layout[-1, 2]
    last = layout[-1, 6] * n
    z = out[last : last + n * width].reshape((n, width))
    softmax_rows(z, out[n * (total - width) :].reshape((n, width)))
    return out


@jit
def all_finite(x):
    """No NaN and no ±inf in x? (x − x is 0 for every finite number, NaN for the others.)

    An or over the elements, which LLVM vectorises (a sum would add one number at a time).
    """
    zero = x.dtype.type(0.0)
    bad = False
    for i in range(x.size):
        bad |= (x[i] - x[i]) != zero
    return not bad


@jit
def chain_proba(x, values, layout, total, p):
    """The probabilities of `chain_forward` written into ``p`` (n, classes), the same numbers
    bit for bit; False, with nothing computed, when x holds a NaN or an infinity.

    For the one-sample `glassnet.Sequential.predict_proba`: the finiteness check of the input
    is made here in one vectorised pass, and the only array that crosses back to Python is the
    one the caller allocated (numba returning a new array costs a microsecond).
    """
    if not all_finite(x.reshape(-1)):
        return False
    n = x.shape[0]
    out = np.empty(n * total, x.dtype)  # every layer's output; freed on return
    chain_layers(x, values, layout, out)
    width = layout[-1, 2]
    last = layout[-1, 6] * n
    softmax_rows(out[last : last + n * width].reshape((n, width)), p)
    return True
