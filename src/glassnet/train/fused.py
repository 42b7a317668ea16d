"""The compiled training step: a small network's mini-batch in one numba call (issue 12).

On the seed network (784-16-16-10 sigmoid, batch 32) the textbook step of `glassnet.train.loop`
is some sixty NumPy calls on arrays of 16 numbers, each costing about a microsecond whatever its
size. `FusedStep` runs the same step — gather, forward, softmax cross-entropy, backward and the
optimizer's update over the packed buffer — as one compiled call
(`glassnet.kernels.training`). `fit` takes it when every condition of `blocker` holds; the
layer-by-layer NumPy code stays the reference it is tested against (same weights to float
rounding; bit-identical run to run).

Networks too big for that one call (the wide network, 668k multiply-adds a sample) take
`ChainStep` instead: the same step with NumPy's matrix products (the very BLAS calls of the
Dense layers) and compiled elementwise passes between them — each layer's bias and activation
in one pass, in place, the activation's derivative in place, the loss in one pass — into
buffers reused from batch to batch, then the optimizer's own step. Its weights are the
layer-by-layer compiled path's, bit for bit.

After a compiled step every parameter's ``.grad`` holds the batch's gradient, as after the
NumPy step; the layers' caches for backward (inputs, activations) are not filled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import kernels
from ..losses import SoftmaxCrossEntropy
from ..nn import activations
from ..nn.dense import Dense
from .optimizers import SGD, Adam, AdamW, Optimizer

# Multiply-adds per sample up to which the compiled step runs: where the sixty calls it saves
# weigh. Its matrix products are BLAS calls too (numba's np.dot, through SciPy's OpenBLAS: a
# second BLAS thread pool beside NumPy's), and on the wide network (668k multiply-adds a sample)
# it was no faster than the layer-by-layer step (6,400 images, same process, under load: best
# epoch 3.5 against 2.9 s with 2 BLAS threads, 0.58 against 0.63 s with 1), so bigger chains
# take `ChainStep`, whose products are NumPy's. The seed network has 13k.
FUSED_MAX_MACS = 1 << 16

# The activations the compiled chain computes, by the code of `glassnet.kernels.forward`.
CHAIN_ACTIVATIONS = {
    activations.Sigmoid: "SIGMOID",
    activations.Tanh: "TANH",
    activations.ReLU: "RELU",
    activations.Identity: "IDENTITY",
}


def chain_layout(
    layers: list[Any], values: np.ndarray, input_shape: tuple[int, ...], dtype: np.dtype
) -> tuple[np.ndarray | None, int, int]:
    """The rows of `glassnet.kernels.forward.LAYOUT` for a chain of Dense layers and elementwise
    activations whose parameters are views of ``values``; its outputs per sample (every layer's
    width plus the classes) and its multiply-adds per sample. (None, 0, 0) where it does not
    apply (another layer type, a parameter outside ``values``, a dtype other than float32/64).
    """
    compiled = kernels.compiled_forward()
    if dtype not in (np.float32, np.float64) or len(input_shape) != 1:
        return None, 0, 0
    base, itemsize = values.__array_interface__["data"][0], values.itemsize

    def offset(array: np.ndarray) -> int:
        # where a parameter's view starts in the packed vector (-1: not a C-ordered view)
        if not (array.flags.c_contiguous and np.shares_memory(array, values)):
            return -1
        return (array.__array_interface__["data"][0] - base) // itemsize

    rows, source, target, width, macs = [], -1, 0, input_shape[0], 0
    for layer in layers:
        if type(layer) is Dense and layer.dtype == dtype:
            w = offset(layer.W.value)
            b = -2 if layer.b is None else offset(layer.b.value)
            if w < 0 or b == -1:
                return None, 0, 0
            macs += layer.n_inputs * layer.n_neurons
            width_in, width = width, layer.n_neurons
            rows.append((compiled.DENSE, width_in, width, w, max(b, -1), source, target))
        elif type(layer) in CHAIN_ACTIVATIONS:
            code = getattr(compiled, CHAIN_ACTIVATIONS[type(layer)])
            rows.append((code, width, width, -1, -1, source, target))
        else:
            return None, 0, 0
        source, target = target, target + width
    return np.array(rows, dtype=np.int64), target + width, macs


def common_blocker(model: Any, run: Any, path: str | None) -> str | None:
    """What keeps both compiled steps (`FusedStep`, `ChainStep`) off this run, or None."""
    if path != "numba":
        return "fit's kernel= is not 'auto' or 'numba' resolving to numba"
    optimizer, loss = run.optimizer, run.loss
    choices = [optimizer.kernel, loss.kernel] + [
        layer.kernel for layer in model.layers if isinstance(layer, activations.Activation)
    ]
    if any(kernels.resolve(choice) != "numba" for choice in choices):
        return "a kernel choice is numpy"
    if run.communicator is not None:
        return "data parallel"
    if run.weights is not None:
        return "sample weights"
    if type(loss) is not SoftmaxCrossEntropy or model.output != "softmax":
        return "not a softmax cross-entropy"
    y = run.y
    if y.ndim != 1 or y.dtype.kind not in "iu" or not y.flags.c_contiguous:
        return "targets are not class ids"
    X = run.X
    if X.ndim != 2 or X.dtype != model.dtype or not X.flags.c_contiguous:
        return "inputs are not a C-contiguous (n, features) array of the model's dtype"
    packed = optimizer.packed
    if packed is None or packed.grad.size != model.n_parameters:
        return "the optimizer does not update the model's packed parameters"
    return None


def blocker(model: Any, run: Any, path: str | None) -> str | None:
    """Why `fit` cannot take the compiled step for this run, or None when it can.

    ``run`` is the `glassnet.train.loop.FitRun`, ``path`` what fit's ``kernel=`` resolved to
    (None when not given: each part then keeps its own kernel, and fit runs the textbook step
    layer by layer, exactly as a loop written by hand would). The compiled step computes the
    textbook step under these conditions, and nothing else: ``kernel="auto"`` or ``"numba"``
    given to fit and resolving to numba, every part's kernel on numba too (an optimizer given to
    fit keeps its own), one process, no sample weights, the softmax cross-entropy on class ids,
    SGD/Adam/AdamW without gradient clipping over the packed parameters, a chain of Dense layers
    and elementwise activations starting with a Dense layer, of at most `FUSED_MAX_MACS`
    multiply-adds per sample. Callbacks that read the batch outputs (a learning map) get the
    compiled step's logits (`FusedStep.outputs`).
    """
    why = common_blocker(model, run, path)
    if why is not None:
        return why
    optimizer = run.optimizer
    if type(optimizer) not in (SGD, Adam, AdamW) or optimizer.clip_norm is not None:
        return "the optimizer has no compiled step (SGD, Adam, AdamW without clip_norm)"
    packed = optimizer.packed
    layout, _, macs = chain_layout(model.layers, packed.value, model.input_shape, model.dtype)
    if layout is None or type(model.layers[0]) is not Dense:
        return "not a chain of Dense layers and elementwise activations, Dense first"
    if macs > FUSED_MAX_MACS:
        return f"too big ({macs:,} multiply-adds a sample, over {FUSED_MAX_MACS:,}: layer by layer)"
    return None


class FusedStep:
    """forward → loss → backward → update of one mini-batch as one compiled call.

    Build it when `blocker` returns None. ``step(rows)`` trains on ``X[rows]`` and returns the
    batch's mean loss and correct count, as `glassnet.train.loop.forward_backward` does; the
    update is made only when the loss is finite (then ``optimizer.iterations`` advances).
    """

    def __init__(self, model: Any, run: Any) -> None:
        self.optimizer: Optimizer = run.optimizer
        packed = self.optimizer.packed
        assert packed is not None  # checked by blocker
        self.values, self.grads = packed.value, packed.grad
        self.layout, total, _ = chain_layout(
            model.layers, self.values, model.input_shape, model.dtype
        )
        self.X, self.y = run.X, run.y
        n = run.batch_size
        self.acts = np.empty(n * total, model.dtype)  # every layer's output, (n, width) blocks
        self.deltas = np.empty(n * total, model.dtype)  # dL/d(each of them)
        self.xb = np.empty((n, model.n_inputs), model.dtype)  # the gathered batch
        self.all_rows = np.arange(len(self.X), dtype=np.int64)  # for slices (no shuffle)
        self.kernels = kernels.compiled_training()
        self.n_rows = 0  # the last step's batch size

    def outputs(self) -> np.ndarray:
        """The last step's raw outputs (logits), shape (n_rows, classes): a view, valid until
        the next step. The forward pass computed them before the update, as in the NumPy step.
        """
        layout = self.layout
        assert layout is not None  # checked by blocker
        width, start = layout[-1, 2], layout[-1, 6] * self.n_rows
        return self.acts[start : start + self.n_rows * width].reshape(self.n_rows, width)

    def step(self, rows: slice | np.ndarray) -> tuple[float, int]:
        """Train on the rows ``rows`` of X (a slice, or the epoch order's indices)."""
        if isinstance(rows, slice):
            rows = self.all_rows[rows]
        optimizer = self.optimizer
        rule = optimizer.fused_rule(optimizer.current_learning_rate)
        assert rule is not None  # checked by blocker
        name, state, scalars, flags = rule
        dtype = self.values.dtype
        arrays = (self.X, self.y, rows, self.values, self.grads, self.layout)
        buffers = (self.acts, self.deltas, self.xb)
        numbers = np.array(scalars, dtype=dtype), np.array(flags, dtype=np.int64)
        run = self.kernels.sgd_step if name == "sgd" else self.kernels.adam_step
        total, correct = run(*arrays, *buffers, *state, *numbers)
        self.n_rows = len(rows)
        loss = float(total) / len(rows)
        if math.isfinite(loss):
            optimizer.iterations += 1
        return loss, int(correct)


def chain_blocks(model: Any) -> list[tuple[Dense, int]] | None:
    """The network as (Dense layer, code of the activation after it) blocks, IDENTITY where none
    follows; None unless it is Dense layers of the model's dtype, each followed by at most one
    elementwise activation of `CHAIN_ACTIVATIONS`, with a 1-D input."""
    compiled = kernels.compiled_forward()
    if len(model.input_shape) != 1 or model.dtype not in (np.float32, np.float64):
        return None
    blocks: list[tuple[Dense, int]] = []
    for layer in model.layers:
        if type(layer) is Dense and layer.dtype == model.dtype:
            blocks.append((layer, compiled.IDENTITY))
        elif type(layer) in CHAIN_ACTIVATIONS and blocks and blocks[-1][1] == compiled.IDENTITY:
            blocks[-1] = (blocks[-1][0], getattr(compiled, CHAIN_ACTIVATIONS[type(layer)]))
        else:
            return None
    return blocks


def chain_blocker(model: Any, run: Any, path: str | None) -> str | None:
    """Why `fit` cannot take `ChainStep` for this run, or None when it can.

    The conditions of `common_blocker` (numba everywhere, one process, no sample weights, the
    softmax cross-entropy on class ids, the packed parameters), a chain of `chain_blocks`, and
    more than `FUSED_MAX_MACS` multiply-adds a sample (below, `FusedStep` or layer by layer).
    Any optimizer: `ChainStep` calls its ``step()``.
    """
    why = common_blocker(model, run, path)
    if why is not None:
        return why
    blocks = chain_blocks(model)
    if blocks is None:
        return "not Dense layers each followed by at most one elementwise activation"
    macs = sum(dense.n_inputs * dense.n_neurons for dense, _ in blocks)
    if macs <= FUSED_MAX_MACS:
        return f"small ({macs:,} multiply-adds a sample): the one-call step or layer by layer"
    return None


class ChainStep:
    """forward → loss → backward of a big chain with NumPy's BLAS and compiled elementwise
    passes, into reused buffers, then ``optimizer.step()``.

    Build it when `chain_blocker` returns None. Per block (a Dense layer and its activation f):

        forward   z = a·W (``np.dot`` into the block's buffer), then z ← f(z + b) in place
                  (f = tanh: NumPy's, after the compiled bias)
        loss      the loss and dL/d(logits) in one compiled pass
        backward  δ ← f′(a)·δ in place; dL/dW = aᵀ·δ, dL/db = 1ᵀ·δ, dL/da_before = δ·Wᵀ

    Every matrix product is the BLAS call `glassnet.nn.dense.Dense` makes, on the same shapes,
    and every elementwise formula the compiled layer path's (`glassnet.kernels.elementwise`),
    so the weights come out as on that path, bit for bit; what it saves is a pass over each
    layer's output between the products and most of the new arrays of a batch (measured on the
    wide network, one thread, under load: 2 % of the step; see the README's Performance section).
    ``step(rows)`` returns the batch's mean loss and correct count, as `FusedStep.step`.
    """

    def __init__(self, model: Any, run: Any) -> None:
        self.optimizer: Optimizer = run.optimizer
        blocks = chain_blocks(model)
        assert blocks is not None  # checked by chain_blocker
        self.blocks = blocks
        self.X, self.y = run.X, run.y
        n, dtype = run.batch_size, model.dtype
        # each block's output a = f(x·W + b), (n, neurons), and dL/d(that output) for the
        # blocks before the last (the loss kernel returns the last one's)
        self.acts = [np.empty((n, dense.n_neurons), dtype) for dense, _ in blocks]
        self.deltas = [np.empty((n, dense.n_neurons), dtype) for dense, _ in blocks[:-1]]
        self.ones = np.ones(n, dtype)  # dL/db = 1ᵀ·δ, one BLAS call as in Dense.backward
        self.no_bias = np.zeros(0, dtype)
        self.elementwise = kernels.compiled_elementwise()
        self.tanh = kernels.compiled_forward().TANH
        self.n_rows = 0  # the last step's batch size

    def outputs(self) -> np.ndarray:
        """The last step's raw outputs (logits), (n_rows, classes): a view, valid until the
        next step, computed before the update."""
        return self.acts[-1][: self.n_rows]

    def step(self, rows: slice | np.ndarray) -> tuple[float, int]:
        """Train on the rows ``rows`` of X (a slice, or the epoch order's indices)."""
        if isinstance(rows, slice):
            xb, yb = self.X[rows], self.y[rows]  # views, as the layer path takes them
        else:
            # NOTE: a new array, as the layer path gathers it: np.take(..., out=buffer) copies
            # through a second buffer when it checks the indices (2.8× slower on wide's batch)
            xb, yb = self.X.take(rows, axis=0), self.y.take(rows)
        n = self.n_rows = len(xb)
        bias_activation, tanh = self.elementwise.bias_activation, self.tanh
        a = xb
        for (dense, kind), out in zip(self.blocks, self.acts, strict=True):
            z = out[:n]
            np.dot(a, dense.W.value, out=z)
            bias_activation(z, self.no_bias if dense.b is None else dense.b.value, kind)
            if kind == tanh:  # NumPy's SIMD tanh, as the Tanh layer (it has no compiled forward)
                np.tanh(z, out=z)
            a = z
        # the loss and dL/d(logits) as the layer path's loss computes them on numba
        total, delta = self.elementwise.softmax_cross_entropy(a, yb)
        loss = float(total) / n
        if not math.isfinite(loss):  # fit restores the weights and raises; no update
            return loss, 0
        correct = int(np.count_nonzero(a.argmax(axis=1) == yb))  # as the loop counts them
        backward = self.elementwise.activation_backward
        for k in range(len(self.blocks) - 1, -1, -1):
            dense, kind = self.blocks[k]
            out = self.acts[k][:n]
            backward(out.reshape(-1), delta.reshape(-1), kind)  # dL/dz = f′(a)·dL/da
            a_in = xb if k == 0 else self.acts[k - 1][:n]
            np.dot(a_in.T, delta, out=dense.W.grad)
            if dense.b is not None:
                np.dot(self.ones[:n], delta, out=dense.b.grad)
            if k > 0:  # dL/da of the block before (nobody needs it for the inputs)
                before = self.deltas[k - 1][:n]
                np.dot(delta, dense.W.value.T, out=before)
                delta = before
        self.optimizer.step()
        return loss, correct
