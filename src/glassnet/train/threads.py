"""One batch, several threads: each thread trains a copy of the model on its share of the batch.

``fit(threads=n)`` splits every mini-batch into ``n`` consecutive shares. The calling thread
runs the model itself on the first share; each other thread runs a *replica*: copies of the
layers whose parameters are the model's own arrays (the same weights, never copied) and whose
gradients, caches and window buffers are their own. When every share's forward and backward is
done, the gradients are combined into the model's as the batch's mean,

    ∂L/∂θ = Σ_k (n_k / n) · ∂L_k/∂θ      (L_k the mean loss of share k, n_k its samples),

and the optimizer takes its one step: the same split as data-parallel training on MPI
(`glassnet.distributed`), inside one process.

Why it pays: the compiled window kernels run on one core, and BLAS hardly spreads the small
products of a CNN over a second, so one thread leaves the other core idle most of a step. Every
share's work is NumPy, BLAS or a compiled kernel, which all release the GIL; BLAS runs on one
thread per share during the fit (threadpoolctl) so that the shares do not fight BLAS's own
threads for the cores.

Determinism: the shares and the order of the sum are fixed, so a seed gives the same bits on
every run with the same number of threads. Another number of threads sums in another order:
the numbers then agree within float rounding, not bit for bit (as with another MPI rank count).
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import check_positive_int
from .callbacks import Callback


def blocker(
    model: Any, communicator: Any = None, weights: Any = None, callbacks: Any = ()
) -> str | None:
    """Why a fit cannot split its batches over threads, or None if it can."""
    names = [layer.describe() for layer in model.layers if layer.uses_rng]
    if names:
        return (
            f"{names[0]} draws random numbers in training, and the shares would have to draw "
            "from one generator in turn"
        )
    if model.buffers():
        return "the model has buffers (BatchNorm's running statistics) that every share updates"
    if communicator is not None:
        return "a communicator already splits the batches over processes"
    if weights is not None:
        return "sample or class weights are not supported with threads yet"
    if any(reads_outputs(callback) for callback in callbacks):
        return "a callback reads every batch's outputs (e.g. a learning map)"
    return None


def reads_outputs(callback: Any) -> bool:
    """Does ``callback`` implement `Callback.on_batch_outputs`?"""
    return type(callback).on_batch_outputs is not Callback.on_batch_outputs


def check_threads(
    threads: Any, model: Any, communicator: Any = None, weights: Any = None, callbacks: Any = ()
) -> int:
    """``threads`` as a whole number ≥ 1; ValueError naming what stops a split, if anything."""
    threads = check_positive_int(threads, "threads")
    if threads > 1:
        reason = blocker(model, communicator, weights, callbacks)
        if reason is not None:
            raise ValueError(
                f"threads={threads} cannot split this training: {reason}. Use threads=1."
            )
    return threads


class ThreadedStep:
    """forward → loss → backward of one batch, shared out over ``threads`` threads.

    Use as a context manager around the fit: it starts the threads and limits BLAS to one
    thread per share, and puts both back on exit.

    Parameters
    ----------
    model : Sequential
        The model of the fit; its gradients receive the batch's mean.
    loss : Loss
        The fit's loss; each replica gets its own copy (losses keep scratch arrays).
    threads : int
        The number of shares (≥ 2).
    """

    def __init__(self, model: Any, loss: Any, threads: int) -> None:
        self.model, self.loss, self.threads = model, loss, threads
        self.replicas = [replica(model) for _ in range(threads - 1)]
        self.losses = [copy.deepcopy(loss) for _ in range(threads - 1)]
        self._pool: ThreadPoolExecutor | None = None
        self._limits: Any = None

    def __enter__(self) -> ThreadedStep:
        # NOTE: a lazy import of an optional package (the ``fast`` extra), needed only here
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1, user_api="blas")
        self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="glassnet-share")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        if self._limits is not None:
            self._limits.restore_original_limits()
        self._pool = self._limits = None

    def forward_backward(self, step: Any, xb: np.ndarray, yb: np.ndarray) -> tuple[float, int]:
        """``step(model, loss, x, y)`` (`glassnet.train.loop.forward_backward`) on each share;
        returns the batch's (mean loss, correct) and leaves its mean gradient in the model's."""
        assert self._pool is not None, "ThreadedStep is used inside a with block"
        n = len(xb)
        # consecutive shares, the first ones a row larger when n does not divide evenly: the
        # caller's share is never empty, a small last batch leaves later threads idle
        sizes = [n // self.threads + (k < n % self.threads) for k in range(self.threads)]
        sizes = [size for size in sizes if size]
        bounds = np.cumsum([0, *sizes])
        shares = [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]
        others = list(zip(self.replicas, self.losses, shares[1:], strict=False))
        futures = [
            self._pool.submit(step, twin, loss, xb[share], yb[share])
            for twin, loss, share in others
        ]
        results = [step(self.model, self.loss, xb[shares[0]], yb[shares[0]])]
        results += [future.result() for future in futures]
        total_loss = sum(size * loss for size, (loss, _) in zip(sizes, results, strict=True))
        correct = sum(count for _, count in results)
        if not np.isfinite(total_loss):  # fit restores the weights and raises
            return float(total_loss), correct
        grads = self.model._grads
        dtype = grads.dtype.type
        grads *= dtype(sizes[0] / n)
        for (twin, _, _), size in zip(others, sizes[1:], strict=True):
            grads += dtype(size / n) * twin._grads
        return float(total_loss) / n, correct


def replica(model: Any) -> Any:
    """A model whose layers are copies of ``model``'s but whose parameters are ``model``'s own
    arrays: an optimizer step on the model is a step on every replica. Gradients, caches and
    window buffers are the replica's."""
    layers = copy.deepcopy(model.layers)
    twin = type(model)(layers, input_shape=model.input_shape, output=model.output)
    for mine, theirs in zip(model.parameters(), twin.parameters(), strict=True):
        theirs.value = mine.value
    return twin
