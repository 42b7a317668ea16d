"""One training step of a small network compiled by numba: a mini-batch in one call.

For a chain of Dense layers and elementwise activations trained with the softmax cross-entropy
(the seed network, 784-16-16-10 sigmoid, batch 32), the NumPy step is some sixty calls of about a
microsecond each on arrays of 16 numbers. Here the whole step is one loop nest:

    gather   x_r = X[rows[r]]           (into a reused buffer)
    forward  z = x·W + b, a = f(z)      (layer by layer, every output kept for backward;
                                         sigmoid as 1/(1 + e^(−z)), tanh, max(z, 0), z)
    loss     p = softmax(z), L = Σ_r −log p_r[y_r], dL/dz = (p − onehot(y))/n
    backward dL/dW = aᵀ·δ, dL/db = Σ_r δ_r, dL/da = δ·Wᵀ, δ = f′(a)·dL/da
    update   the optimizer's rule over the packed buffer (`glassnet.kernels.updates`)

The reference is the layer-by-layer NumPy code (`Sequential.forward`/`backward`, the loss,
`glassnet.train.optimizers`); the results agree to float rounding, not bit for bit (BLAS adds the
products of a matrix product in its own blocked order, NumPy's SIMD tanh and exp round
differently from the C library's, and sigmoid is computed from exp here, from tanh there). The
arithmetic is plain IEEE (no ``fastmath``) in a fixed order, so the same inputs give the same
bits on every call.

The matrix products are BLAS calls (numba's ``np.dot`` into the preallocated outputs): measured
on the seed network, plain loops for them made the step 1.6× slower than this, and 1.3× slower
than the NumPy step (see the README's Performance section); everything else is loops.

The layout is `glassnet.kernels.forward`'s (``LAYOUT``: one row per layer, ``(kind, n_in, n_out,
W, b, source, target)``; `glassnet.train.fused.chain_layout` builds it), starting with a Dense
layer; ``acts`` and ``deltas`` are work buffers of ``batch_size × total`` numbers (every layer's
output, and dL/d(that output), as (n, width) blocks at the layout's offsets × n).

Shapes: ``X`` (n_samples, n_inputs) C-contiguous; ``y`` (n_samples,) class ids; ``rows`` (n,)
the batch's row numbers; ``values`` the packed parameters (n_parameters,), ``grads`` their
gradients (n_parameters,); ``xb`` (batch_size, n_inputs), the gathered batch.
"""

from __future__ import annotations

import numba
import numpy as np

from .forward import DENSE, IDENTITY, RELU, SIGMOID, TANH, activate
from .updates import adam_loop, sgd_loop

# NOTE: numba's disk cache is keyed on this file only: after editing a kernel this file calls
# (`updates.sgd_loop`, `updates.adam_loop`), touch this file too, or the cached step keeps the
# old code. The first compilation (empty cache) takes seconds per dtype and rule: np.dot's BLAS
# bindings and the whole step are compiled once, then loaded from the cache.
jit = numba.njit(cache=True, error_model="numpy")


@jit
def gather(X, rows, xb):
    """xb[r] = X[rows[r]]: the batch's rows copied into a reused (batch, n_inputs) buffer."""
    n_in = X.shape[1]
    for r in range(rows.shape[0]):
        x = X[rows[r]]
        row = xb[r]
        for i in range(n_in):
            row[i] = x[i]


@jit
def softmax_cross_entropy(z, y, rows, n, delta):
    """Σ_r −log p_r[y_r] and dL/dz = (p − onehot)/n into ``delta``; also the correct count.

    Each row is shifted by its own max c (log p_j = z_j − c − log Σ_k e^(z_k − c)); a row is
    correct when its first largest logit is its label (NumPy's argmax).
    """
    n_classes = z.shape[1]
    inv_n = z.dtype.type(1.0 / n)
    total = z.dtype.type(0.0)
    correct = 0
    for r in range(n):
        c = z[r, 0]
        best = 0
        for j in range(1, n_classes):
            if z[r, j] > c:
                c = z[r, j]
                best = j
        s = z.dtype.type(0.0)
        for j in range(n_classes):
            e = np.exp(z[r, j] - c)
            delta[r, j] = e
            s += e
        log_s = np.log(s)
        scale = inv_n / s
        for j in range(n_classes):
            delta[r, j] *= scale  # p_j / n
        true = y[rows[r]]
        total -= z[r, true] - c - log_s
        delta[r, true] -= inv_n
        if best == true:
            correct += 1
    return total, correct


@jit
def forward_backward(X, y, rows, values, grads, layout, acts, deltas, xb):
    """The loss sum and correct count of the batch ``X[rows]``; fills ``grads``.

    Returns early, with the gradients not computed, when the loss is not finite (`fit` then
    restores the weights and raises, as on the NumPy path).
    """
    n = rows.shape[0]
    n_layers = layout.shape[0]
    one = values.dtype.type(1.0)
    zero = values.dtype.type(0.0)
    # ---------------------------------------------------------------- forward
    for k in range(n_layers):
        kind, n_in, n_out = layout[k, 0], layout[k, 1], layout[k, 2]
        source, target = layout[k, 5] * n, layout[k, 6] * n
        dst = acts[target : target + n * n_out]
        if kind == DENSE:
            W = values[layout[k, 3] : layout[k, 3] + n_in * n_out].reshape((n_in, n_out))
            b_at = max(layout[k, 4], 0)
            b = values[b_at : b_at + n_out]
            z = dst.reshape((n, n_out))
            if source < 0:  # the first layer reads the batch, gathered into a reused buffer
                gather(X, rows, xb[:n])
                a = xb[:n]
            else:
                a = acts[source : source + n * n_in].reshape((n, n_in))
            np.dot(a, W, z)  # z = a·W, by BLAS
            if layout[k, 4] >= 0:
                for r in range(n):
                    for j in range(n_out):
                        z[r, j] += b[j]
            continue
        src = acts[source : source + n * n_in]  # (an activation follows the first Dense layer)
        activate(kind, src, dst)  # prediction's formulas (`glassnet.kernels.forward`)
    # ---------------------------------------------------------------- loss
    width = layout[-1, 2]
    last = layout[-1, 6] * n
    logits = acts[last : last + n * width].reshape((n, width))
    delta_out = deltas[last : last + n * width].reshape((n, width))
    total, correct = softmax_cross_entropy(logits, y, rows, n, delta_out)
    if not np.isfinite(total):
        return total, correct
    # ---------------------------------------------------------------- backward
    for k in range(n_layers - 1, -1, -1):
        kind, n_in, n_out = layout[k, 0], layout[k, 1], layout[k, 2]
        source, target = layout[k, 5] * n, layout[k, 6] * n
        delta = deltas[target : target + n * n_out]
        if kind == DENSE:
            w_at = layout[k, 3]
            W = values[w_at : w_at + n_in * n_out].reshape((n_in, n_out))
            grad_W = grads[w_at : w_at + n_in * n_out].reshape((n_in, n_out))
            b_at = max(layout[k, 4], 0)
            grad_b = grads[b_at : b_at + n_out]
            has_bias = layout[k, 4] >= 0
            d = delta.reshape((n, n_out))
            a = xb[:n] if source < 0 else acts[source : source + n * n_in].reshape((n, n_in))
            np.dot(a.T, d, grad_W)  # dL/dW = aᵀ·δ
            if has_bias:  # dL/db = Σ_r δ_r
                for j in range(n_out):
                    grad_b[j] = zero
                for r in range(n):
                    for j in range(n_out):
                        grad_b[j] += d[r, j]
            if k > 0:  # dL/da = δ·Wᵀ, for the layer before (nobody needs it for the inputs)
                grad_a = deltas[source : source + n * n_in].reshape((n, n_in))
                np.dot(d, W.T, grad_a)
            continue
        # an activation: δ_in = f′(a)·δ_out, from its output a
        a = acts[target : target + n * n_out]
        grad_in = deltas[source : source + n * n_in]
        if kind == SIGMOID:
            for e in range(n * n_out):
                grad_in[e] = (one - a[e]) * a[e] * delta[e]
        elif kind == TANH:
            for e in range(n * n_out):
                grad_in[e] = (one - a[e] * a[e]) * delta[e]
        elif kind == RELU:
            for e in range(n * n_out):
                grad_in[e] = delta[e] if a[e] > zero else zero
        elif kind == IDENTITY:
            for e in range(n * n_out):
                grad_in[e] = delta[e]
    return total, correct


@jit
def sgd_step(X, y, rows, values, grads, layout, acts, deltas, xb, v, scalars, flags):
    """forward → loss → backward → SGD on the packed buffer (`glassnet.kernels.updates.sgd_loop`).

    ``scalars`` = (lr, μ, lr·μ, λ, clip scale), ``flags`` = (clip, decay, momentum, nesterov),
    as `glassnet.kernels.updates.sgd_arguments` makes them. Returns (loss sum, correct count).
    """
    total, correct = forward_backward(X, y, rows, values, grads, layout, acts, deltas, xb)
    if np.isfinite(total):
        w = values[: grads.shape[0]]
        rule = (flags[0] != 0, flags[1] != 0, flags[2] != 0, flags[3] != 0)
        lr, momentum, lr_momentum = scalars[0], scalars[1], scalars[2]
        decay, scale = scalars[3], scalars[4]
        sgd_loop(w, grads, v, lr, momentum, lr_momentum, decay, scale, rule)
    return total, correct


@jit
def adam_step(X, y, rows, values, grads, layout, acts, deltas, xb, m, v, scalars, flags):
    """forward → loss → backward → Adam/AdamW on the packed buffer (`updates.adam_loop`).

    ``scalars`` = (1 − β₁, 1 − β₂, ε′, step, λ, shrink, clip scale), ``flags`` = (clip, L2 decay,
    decoupled decay), as `glassnet.kernels.updates.adam_arguments` makes them.
    """
    total, correct = forward_backward(X, y, rows, values, grads, layout, acts, deltas, xb)
    if np.isfinite(total):
        w = values[: grads.shape[0]]
        rule = (flags[0] != 0, flags[1] != 0, flags[2] != 0)
        c1, c2, eps, step = scalars[0], scalars[1], scalars[2], scalars[3]
        decay, shrink, scale = scalars[4], scalars[5], scalars[6]
        adam_loop(w, grads, m, v, c1, c2, eps, step, decay, shrink, scale, rule)
    return total, correct
