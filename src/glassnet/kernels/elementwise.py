"""Fused layer work compiled by numba: one pass where NumPy makes several.

The NumPy code in `glassnet.nn.activations` and `glassnet.losses` is the reference; each
function here computes the same formula per element, reading each input once and writing each
output once, with no temporary arrays. On a small batch (the seed network's 32 × 16) the gain is
mostly the NumPy calls saved, about a microsecond each.

Bit-identical to NumPy where the operations are IEEE arithmetic (the activation derivatives);
within a few float32 units in the last place where a transcendental function is involved
(tanh, exp, log: NumPy's SIMD versions and the C library's round differently), and the softmax
shifts each row by its own maximum where NumPy's shifts the batch by one constant (mathematically
the same softmax).

Shapes: ``a``, ``z``, ``grad`` are 1-D: the callers pass each array's numbers in memory order
(a C-contiguous array flattened, or a convolution's channels-first view of channels-last
memory, see `glassnet.nn.activations.memory_order`), except the softmax cross-entropy, on
``(batch, classes)`` logits and ``(batch,)`` class ids, and `bias_activation`, on a Dense
layer's C-contiguous ``(batch, neurons)`` output.

`bias_activation` and `activation_backward` work in place, on the buffers of the big-network
training step (`glassnet.train.fused.ChainStep`); the others return new arrays.
"""

from __future__ import annotations

import numba
import numpy as np

from .forward import RELU, SIGMOID, TANH

jit = numba.njit(cache=True, error_model="numpy", nogil=True)


# ---------------------------------------------------------------------------------- forward


@jit
def sigmoid(z):
    """a = ½·tanh(z/2) + ½ (= 1/(1 + e^(−z)), never overflowing), in one pass."""
    half = z.dtype.type(0.5)
    a = np.empty_like(z)
    for i in range(z.size):
        a[i] = np.tanh(z[i] * half) * half + half
    return a


@jit
def relu(z):
    """a = max(z, 0) as ``np.maximum(z, 0)`` computes it (a NaN stays NaN, −0 becomes 0)."""
    zero = z.dtype.type(0.0)
    a = np.empty_like(z)
    for i in range(z.size):
        a[i] = z[i] if (z[i] > zero) | (z[i] != z[i]) else zero
    return a


@jit
def bias_activation(z, b, kind):
    """z ← f(z + b) in place: a Dense layer's bias and the activation after it, in one pass.

    ``kind`` is RELU, SIGMOID or another code of `glassnet.kernels.forward` (the bias alone:
    the `glassnet.nn.activations.Tanh` layer's forward is NumPy's SIMD tanh, which the caller
    then applies, in place, for the same bits); ``b`` of size 0 means no bias. Each number is
    what ``z += b`` and then the layer's compiled training forward compute (`relu`, `sigmoid`).
    Shapes: z (n, m) C-contiguous, b (m,) or (0,).
    """
    n, m = z.shape
    zero = z.dtype.type(0.0)
    half = z.dtype.type(0.5)
    for r in range(n):  # row by row: the activation's pass finds the row in the L1 cache
        row = z[r]
        if b.size > 0:
            for j in range(m):
                row[j] += b[j]
        if kind == RELU:
            for j in range(m):
                v = row[j]
                row[j] = v if (v > zero) | (v != v) else zero
        elif kind == SIGMOID:
            for j in range(m):
                row[j] = np.tanh(row[j] * half) * half + half


# ---------------------------------------------------------------------------------- backward


@jit
def activation_backward(a, grad, kind):
    """grad ← f′(a)·grad in place, from the activation's output a: `sigmoid_backward`,
    `tanh_backward` or `relu_backward` without a new array (any other code, e.g. IDENTITY:
    unchanged)."""
    one = a.dtype.type(1.0)
    zero = a.dtype.type(0.0)
    if kind == RELU:
        for i in range(a.size):
            grad[i] = grad[i] if a[i] > zero else zero
    elif kind == SIGMOID:
        for i in range(a.size):
            grad[i] = (one - a[i]) * a[i] * grad[i]
    elif kind == TANH:
        for i in range(a.size):
            grad[i] = (one - a[i] * a[i]) * grad[i]


@jit
def sigmoid_backward(a, grad_a):
    """dL/dz = (1 − a)·a·dL/da, from the cached output a, in one pass."""
    one = a.dtype.type(1.0)
    grad_z = np.empty_like(a)
    for i in range(a.size):
        grad_z[i] = (one - a[i]) * a[i] * grad_a[i]
    return grad_z


@jit
def tanh_backward(a, grad_a):
    """dL/dz = (1 − a²)·dL/da, in one pass."""
    one = a.dtype.type(1.0)
    grad_z = np.empty_like(a)
    for i in range(a.size):
        grad_z[i] = (one - a[i] * a[i]) * grad_a[i]
    return grad_z


@jit
def relu_backward(a, grad_a):
    """dL/dz = dL/da where a > 0, else 0, in one pass (no boolean mask array)."""
    zero = a.dtype.type(0.0)
    grad_z = np.empty_like(a)
    for i in range(a.size):
        grad_z[i] = grad_a[i] if a[i] > zero else zero
    return grad_z


# ---------------------------------------------------------------------------------- loss


@jit
def softmax_cross_entropy(z, target):
    """Softmax cross-entropy of logits z (batch, classes) and class ids (batch,).

    Per row: c = max z; log p_j = z_j − c − log Σ_k e^(z_k − c); the loss adds −log p[true];
    the gradient is dL/dz = (p − onehot)/batch. Returns (the sum of the rows' losses, in z's
    dtype as NumPy's reference adds them — so a float32 loss past 3.4e38 is inf on both paths,
    which is how `fit` sees a run diverge — and the gradient).
    """
    batch, n_classes = z.shape
    grad = np.empty_like(z)
    inv_batch = z.dtype.type(1.0 / batch)
    total = z.dtype.type(0.0)
    for r in range(batch):
        c = z[r, 0]
        for j in range(1, n_classes):
            c = max(c, z[r, j])
        s = z.dtype.type(0.0)
        for j in range(n_classes):
            e = np.exp(z[r, j] - c)
            grad[r, j] = e
            s += e
        log_s = np.log(s)
        scale = inv_batch / s
        for j in range(n_classes):
            grad[r, j] *= scale  # p_j / batch
        true = target[r]
        total -= z[r, true] - c - log_s
        grad[r, true] -= inv_batch
    return total, grad


@jit
def softmax(z):
    """p_ij = e^(z_ij − c_i) / Σ_k e^(z_ik − c_i), each row shifted by its own max c_i.

    For prediction: one pass per row instead of a dozen NumPy calls on a one-sample batch.
    Shapes: z (batch, classes) → p (batch, classes).
    """
    batch, n_classes = z.shape
    p = np.empty_like(z)
    for r in range(batch):
        c = z[r, 0]
        for j in range(1, n_classes):
            c = max(c, z[r, j])
        s = z.dtype.type(0.0)
        for j in range(n_classes):
            e = np.exp(z[r, j] - c)
            p[r, j] = e
            s += e
        for j in range(n_classes):
            p[r, j] /= s
    return p
