"""Optimizer updates compiled by numba: one pass over the parameter buffer per step.

Each rule is one loop whose body is the per-element formula, in the same operation order as the
NumPy reference in `glassnet.train.optimizers` — so on float32 and float64 the weights come out
bit-identical to it: every operation here is a correctly rounded IEEE operation (``+ − × ÷ √``),
numba contracts nothing into fused multiply-adds without ``fastmath``, and ``error_model=
"numpy"`` lets a division by zero give inf as NumPy's does (numba's default "python" model
checks every division instead, which also keeps the loop from using SIMD instructions).

The NumPy path makes a dozen passes over the buffer for Adam; each loop here reads and writes
every number once. For big buffers, ``*_parallel`` splits the buffer into `CHUNKS` slices and
runs the same loop on each with ``prange`` (numba's threads).

Scalars are passed in the arrays' dtype (``w.dtype.type(lr)``), as NumPy itself converts a
Python float next to a float32 array, so both paths round the same numbers.

Shapes: every array is 1-D and contiguous, all of one size ``n`` (the packed buffer, or one
parameter's ``.value.reshape(-1)``).
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import prange

# Below this many numbers, waking numba's threads costs more than the pass they would share.
# NOTE: in the training loop OpenBLAS's threads still spin on the other core after each matrix
# product, so numba's threads wait for it: measured on the wide network (Adam, 670k numbers,
# 2 threads, 20,000 images), the parallel pass made an epoch 2.4× slower than NumPy's update and
# the serial pass 1.7× faster. So every size runs the serial loop; the parallel one stays for
# machines with cores to spare (lower this to use it, and measure).
PARALLEL_MIN_SIZE = 1 << 62
# Slices of a parallel pass: a fixed count, so a sum over them adds in the same order whatever
# the number of threads.
CHUNKS = 16

jit = numba.njit(cache=True, error_model="numpy")
jit_parallel = numba.njit(cache=True, error_model="numpy", parallel=True)


def use_parallel(n: int) -> bool:
    """Split a pass of ``n`` numbers over threads? Only big ones, and only from the main thread.

    NOTE: numba's default thread pool must not be entered by two threads at once (it aborts the
    process); the lab trains in worker threads, so those run the serial loop.
    """
    return n >= PARALLEL_MIN_SIZE and threading.current_thread() is threading.main_thread()


@jit
def chunk(c, n):
    """The bounds [lo, hi) of slice ``c`` of ``CHUNKS`` over n numbers."""
    size = (n + CHUNKS - 1) // CHUNKS
    return min(c * size, n), min((c + 1) * size, n)


# ---------------------------------------------------------------------------------- SGD


@jit
def sgd_loop(w, g, v, lr, momentum, lr_momentum, weight_decay, scale, flags):
    """g ← s·g (clipping); g ← g + λ·w; v ← μ·v + g; w ← w − lr·v (Nesterov: w − lr·g − lr·μ·v).

    Without momentum: w ← w − lr·g, and ``v`` is not read. ``flags``: (clip, decay, momentum,
    nesterov).
    """
    clip, decay, use_momentum, nesterov = flags
    if use_momentum and not (clip or decay or nesterov):  # the common case, branches hoisted
        for i in range(w.size):
            vi = v[i] * momentum + g[i]
            v[i] = vi
            w[i] = w[i] - vi * lr
        return
    for i in range(w.size):
        gi = g[i] * scale
        if clip:
            g[i] = gi  # the clipped gradient stays visible, as on the NumPy path
        if decay:
            gi = w[i] * weight_decay + gi
        if not use_momentum:
            w[i] = w[i] - gi * lr
            continue
        vi = v[i] * momentum + gi
        v[i] = vi
        if nesterov:
            w[i] = (w[i] - gi * lr) - vi * lr_momentum
        else:
            w[i] = w[i] - vi * lr


@jit_parallel
def sgd_parallel(w, g, v, lr, momentum, lr_momentum, weight_decay, scale, flags):
    for c in prange(CHUNKS):
        lo, hi = chunk(c, w.size)
        w_c, g_c, v_c = w[lo:hi], g[lo:hi], v[lo:hi]
        sgd_loop(w_c, g_c, v_c, lr, momentum, lr_momentum, weight_decay, scale, flags)


def sgd_arguments(dtype, lr, momentum, weight_decay, nesterov, scale) -> tuple[tuple, tuple]:
    """The scalars (lr, μ, lr·μ, λ, s) in ``dtype`` and the flags (clip, decay, momentum,
    nesterov) of `sgd_loop` (also what `glassnet.kernels.training.sgd_step` takes, as arrays)."""
    t = np.dtype(dtype).type
    flags = (scale != 1.0, weight_decay != 0.0, momentum != 0.0, bool(nesterov))
    return (t(lr), t(momentum), t(lr * momentum), t(weight_decay), t(scale)), flags


def sgd(w, g, v, lr, momentum, weight_decay, nesterov, scale) -> None:
    """One SGD step in place on ``w`` and ``v`` (and ``g``, when ``scale`` clips it).

    Without momentum ``v`` is not read: pass any array of ``w``'s size and dtype.
    """
    scalars, flags = sgd_arguments(w.dtype, lr, momentum, weight_decay, nesterov, scale)
    args = (w, g, v, *scalars, flags)
    (sgd_parallel if use_parallel(w.size) else sgd_loop)(*args)


# ---------------------------------------------------------------------------------- Adam, AdamW


@jit
def adam_loop(w, g, m, v, c1, c2, eps, step, weight_decay, shrink, scale, flags):
    """g ← s·g; w ← w·(1 − lr·λ) (AdamW) or g ← g + λ·w (Adam);
    m ← m + (1−β₁)(g − m); v ← v + (1−β₂)(g² − v); w ← w − step · m / (√v + ε′).

    ``step`` = lr·√(1−β₂ᵗ)/(1−β₁ᵗ) and ε′ = ε·√(1−β₂ᵗ): Adam's bias correction folded into two
    scalars (see `glassnet.train.optimizers.Adam`). ``flags``: (clip, L2 decay, decoupled decay).
    """
    clip, decay, decoupled = flags
    if not (clip or decay or decoupled):
        # NOTE: the same formula with the options' branches taken out of the loop by hand: LLVM
        # left them in the vectorised loop, which made it 1.5× slower (wide network, 670k floats)
        for i in range(w.size):
            gi = g[i]
            mi = m[i] + (gi - m[i]) * c1
            vi = v[i] + (gi * gi - v[i]) * c2
            m[i] = mi
            v[i] = vi
            w[i] = w[i] - (mi / (np.sqrt(vi) + eps)) * step
        return
    if decoupled and not clip:  # AdamW's default (λ = 0.01), branches hoisted as well
        for i in range(w.size):
            gi = g[i]
            wi = w[i] * shrink
            mi = m[i] + (gi - m[i]) * c1
            vi = v[i] + (gi * gi - v[i]) * c2
            m[i] = mi
            v[i] = vi
            w[i] = wi - (mi / (np.sqrt(vi) + eps)) * step
        return
    for i in range(w.size):
        gi = g[i] * scale
        if clip:
            g[i] = gi
        if decoupled:
            w[i] = w[i] * shrink
        elif decay:
            gi = w[i] * weight_decay + gi
        mi = m[i] + (gi - m[i]) * c1
        vi = v[i] + (gi * gi - v[i]) * c2
        m[i] = mi
        v[i] = vi
        w[i] = w[i] - (mi / (np.sqrt(vi) + eps)) * step


@jit_parallel
def adam_parallel(w, g, m, v, c1, c2, eps, step, weight_decay, shrink, scale, flags):
    for c in prange(CHUNKS):
        lo, hi = chunk(c, w.size)
        w_c, g_c, m_c, v_c = w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
        adam_loop(w_c, g_c, m_c, v_c, c1, c2, eps, step, weight_decay, shrink, scale, flags)


def adam_arguments(
    dtype, beta1, beta2, eps, step, weight_decay, decoupled, shrink, scale
) -> tuple[tuple, tuple]:
    """The scalars (1 − β₁, 1 − β₂, ε′, step, λ, shrink, s) in ``dtype`` and the flags (clip, L2
    decay, decoupled decay) of `adam_loop` (also what `glassnet.kernels.training.adam_step`
    takes, as arrays)."""
    t = np.dtype(dtype).type
    flags = (scale != 1.0, weight_decay != 0.0 and not decoupled, bool(decoupled))
    scalars = (t(1.0 - beta1), t(1.0 - beta2), t(eps), t(step), t(weight_decay), t(shrink))
    return (*scalars, t(scale)), flags


def adam(w, g, m, v, beta1, beta2, eps, step, weight_decay, decoupled, shrink, scale) -> None:
    """One Adam step in place (``decoupled``: AdamW's, ``shrink`` = 1 − lr·λ).

    ``eps`` and ``step`` carry the bias correction of step t (see `adam_loop`).
    """
    scalars, flags = adam_arguments(
        w.dtype, beta1, beta2, eps, step, weight_decay, decoupled, shrink, scale
    )
    args = (w, g, m, v, *scalars, flags)
    (adam_parallel if use_parallel(w.size) else adam_loop)(*args)


# ---------------------------------------------------------------------------------- RMSprop


@jit
def rmsprop_loop(w, g, s, c, eps, lr, weight_decay, scale, flags):
    """g ← s·g; g ← g + λ·w; sq ← sq + (1−ρ)(g² − sq); w ← w − lr · g / (√sq + ε).

    ``flags``: (clip, decay).
    """
    clip, decay = flags
    if not (clip or decay):  # the common case, branches hoisted (see `adam_loop`)
        for i in range(w.size):
            gi = g[i]
            si = s[i] + (gi * gi - s[i]) * c
            s[i] = si
            w[i] = w[i] - (gi / (np.sqrt(si) + eps)) * lr
        return
    for i in range(w.size):
        gi = g[i] * scale
        if clip:
            g[i] = gi
        if decay:
            gi = w[i] * weight_decay + gi
        si = s[i] + (gi * gi - s[i]) * c
        s[i] = si
        w[i] = w[i] - (gi / (np.sqrt(si) + eps)) * lr


@jit_parallel
def rmsprop_parallel(w, g, s, c, eps, lr, weight_decay, scale, flags):
    for k in prange(CHUNKS):
        lo, hi = chunk(k, w.size)
        rmsprop_loop(w[lo:hi], g[lo:hi], s[lo:hi], c, eps, lr, weight_decay, scale, flags)


def rmsprop(w, g, s, rho, eps, lr, weight_decay, scale) -> None:
    """One RMSprop step in place on ``w`` and ``s`` (the running mean of g²)."""
    t = w.dtype.type
    flags = (scale != 1.0, weight_decay != 0.0)
    args = (w, g, s, t(1.0 - rho), t(eps), t(lr), t(weight_decay), t(scale), flags)
    (rmsprop_parallel if use_parallel(w.size) else rmsprop_loop)(*args)


# ---------------------------------------------------------------------------------- clipping


@jit
def sum_of_squares_loop(g):
    """Σ gᵢ², accumulated in float64 whatever g's dtype (a million float32 squares keep digits)."""
    total = 0.0
    for i in range(g.size):
        gi = np.float64(g[i])
        total += gi * gi
    return total


@jit_parallel
def sum_of_squares_parallel(g):
    partial = np.zeros(CHUNKS)
    for c in prange(CHUNKS):
        lo, hi = chunk(c, g.size)
        partial[c] = sum_of_squares_loop(g[lo:hi])
    return partial.sum()  # the slices' sums in a fixed order: deterministic


def sum_of_squares(g) -> float:
    """Σ gᵢ² in float64: the squared L2 norm that gradient clipping needs."""
    return float((sum_of_squares_parallel if use_parallel(g.size) else sum_of_squares_loop)(g))
