"""Training one mini-batch at a time, with everything of the step kept, and undo.

`Stepper` runs exactly the steps `fit` runs (the same seeded sample order, the same loss call,
the same layers' forward and backward, the same optimizer), one per ``step()``, and keeps what
`fit` throws away: the batch, every layer's activations and incoming gradients (the δ of every
neuron), every parameter's gradient and the update Δθ the optimizer applied. ``undo()`` puts
the weights, the optimizer's state, the position and the generator back as they were before
the last step, bit for bit, so the same batch can be tried again with another learning rate.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TrainingDivergedError, check_positive_int
from ..losses import Loss
from .callbacks import History
from .loop import FitRun, TrainingState
from .optimizers import Optimizer


@dataclass
class StepRecord:
    """Everything of one training step.

    Attributes
    ----------
    epoch, batch : int
        Where the step is (0-based): batch ``batch`` of epoch ``epoch``.
    rows : ndarray or None
        The samples' indices in X (None when not shuffling: rows ``batch·size`` onwards).
    X, y : ndarray
        The mini-batch, ``(batch, *input_shape)`` and its targets.
    activations : dict[str, ndarray]
        Each layer's output by layer name, ``(batch, ...)``; the last one is the raw outputs.
    deltas : dict[str, ndarray]
        ∂L/∂(output) of each layer by name, what its backward received, ``(batch, ...)``; for a
        Dense layer that is δ of every neuron for every sample.
    loss : float
        The batch's mean loss before the update.
    gradients : dict[str, ndarray]
        ∂L/∂θ of every parameter by name (copies).
    updates : dict[str, ndarray]
        Δθ = θ after − θ before the optimizer's step, by parameter name.
    learning_rate : float
        The learning rate the step used.
    """

    epoch: int
    batch: int
    rows: np.ndarray | None
    X: np.ndarray
    y: np.ndarray
    activations: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray]
    loss: float
    gradients: dict[str, np.ndarray]
    updates: dict[str, np.ndarray]
    learning_rate: float


@dataclass
class _Snapshot:
    weights: np.ndarray
    optimizer: dict[str, Any]
    state: TrainingState
    rng_state: dict[str, Any]
    record: StepRecord | None


class Stepper:
    """A training run taken one mini-batch per ``step()``, with ``undo()``.

    Parameters
    ----------
    model : Sequential
    X, y : array-like
        The training data, as for `fit`.
    optimizer : Optimizer or str, optional
        As for `fit` (default: the model's previous optimizer, else Adam).
    batch_size : int
    learning_rate, loss, shuffle :
        As for `fit`.
    seed : int, optional
        Seeds the sample order and dropout; the same seed as a `fit` gives the same steps.
    max_undo : int
        How many steps ``undo()`` can take back (each keeps a copy of the weights).

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32); y = [0, 1, 1, 0]
    >>> model = gn.MLP([2, 4, 2], activation="tanh", seed=0)
    >>> stepper = gn.Stepper(model, X, y, "sgd", batch_size=2, learning_rate=0.1, seed=0)
    >>> record = stepper.step()
    >>> record.deltas["dense_0"].shape, sorted(record.updates)
    ((2, 4), ['dense_0.W', 'dense_0.b', 'dense_1.W', 'dense_1.b'])
    >>> before = model.get_weights(); _ = stepper.step(); _ = stepper.undo()
    >>> bool((model.get_weights() == before).all())
    True
    """

    def __init__(
        self,
        model: Any,
        X: Any,
        y: Any,
        optimizer: Optimizer | str | None = None,
        batch_size: int = 32,
        *,
        learning_rate: Any = None,
        loss: Loss | str | None = None,
        shuffle: bool = True,
        seed: int | None = None,
        max_undo: int = 1000,
    ) -> None:
        batch_size = check_positive_int(batch_size, "batch_size")
        self.max_undo = check_positive_int(max_undo, "max_undo")
        self.model = model
        X = model.check_inputs(X)
        y = model.check_targets(y, len(X))
        # the same set-up as fit: loss, optimizer, one generator for the order and dropout
        loss_fn = model.resolve_loss(loss)
        model.optimizer = chosen = model.resolve_optimizer(optimizer, learning_rate)
        model.loss = loss_fn
        rng = np.random.default_rng(seed) if seed is not None else model.rng
        for layer in model.layers:
            if layer.uses_rng:
                layer.rng = rng
        self.run = FitRun(
            X, y, batch_size, shuffle, loss_fn, chosen, rng, TrainingState(), History()
        )
        self.last: StepRecord | None = None
        self.losses: list[float] = []  # one per step taken (and not undone), for curves
        self._undo: deque[_Snapshot] = deque(maxlen=self.max_undo)

    # ------------------------------------------------------------------ where the run is

    @property
    def optimizer(self) -> Optimizer:
        return self.run.optimizer

    @property
    def epoch(self) -> int:
        return self.run.state.epoch

    @property
    def batch(self) -> int:
        """The next step's batch in the epoch (0-based)."""
        return self.run.state.batch

    @property
    def n_batches(self) -> int:
        return self.run.n_batches

    @property
    def steps_taken(self) -> int:
        return len(self.losses)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    # ------------------------------------------------------------------ stepping

    def step(self) -> StepRecord:
        """Train on the next mini-batch and return everything of that step."""
        model, run, state = self.model, self.run, self.run.state
        snapshot = self._snapshot()
        if state.batch == 0:
            run.start_epoch()
        batch = state.batch
        xb, yb = run.batch(batch)
        rows = None if state.order is None else state.order[batch * run.batch_size :][: len(xb)]
        # model.forward and model.backward, layer by layer, keeping what each layer saw
        activations: dict[str, np.ndarray] = {}
        h = xb
        for layer in model.layers:
            h = layer.forward(h, True)
            activations[layer.name] = h
        batch_loss, grad = run.loss.value_and_gradient_of_valid(h, yb)
        if not math.isfinite(batch_loss):
            self._restore(snapshot)
            raise TrainingDivergedError(
                f"The loss became {batch_loss} at epoch {state.epoch + 1}, batch {batch + 1}. "
                "The learning rate is probably too high; the step was not taken."
            )
        deltas: dict[str, np.ndarray] = {}
        g: np.ndarray | None = grad
        for layer in reversed(model.layers):
            if g is None:
                break
            deltas[layer.name] = g
            g = layer.backward(g)
        named = model.named_parameters()
        before = {name: p.value.copy() for name, p in named.items()}
        gradients = {name: p.grad.copy() for name, p in named.items()}
        lr = run.optimizer.current_learning_rate
        run.optimizer.step()
        updates = {name: p.value - before[name] for name, p in named.items()}
        state.batch = batch + 1
        state.total_loss += batch_loss * len(xb)
        state.seen += len(xb)
        if state.batch == run.n_batches:
            state.next_epoch()
        record = StepRecord(
            snapshot.state.epoch, batch, rows, xb, yb, activations, deltas, batch_loss,
            gradients, updates, lr,
        )  # fmt: skip
        self._undo.append(snapshot)
        self.last = record
        self.losses.append(batch_loss)
        return record

    def steps(self, n: int) -> StepRecord | None:
        """Take ``n`` steps; return the last one's record."""
        for _ in range(check_positive_int(n, "n")):
            self.step()
        return self.last

    def run_epoch(self) -> StepRecord | None:
        """Take the steps left in the current epoch (a whole epoch from its start)."""
        left = self.n_batches - self.batch
        return self.steps(left)

    def undo(self) -> StepRecord | None:
        """Take back the last step: weights, optimizer state, position and generator become
        bit-identical to what they were before it. Returns the record now last (or None).

        Raises `RuntimeError` when there is no step to undo (nothing is changed).
        """
        if not self._undo:
            raise RuntimeError("There is no step to undo: take a step first.")
        self._restore(self._undo.pop())
        self.losses.pop()
        return self.last

    # ------------------------------------------------------------------ snapshots

    def _snapshot(self) -> _Snapshot:
        return _Snapshot(
            weights=self.model.get_weights(),
            optimizer=self.run.optimizer.state_dict(),
            state=self.run.state.copy(),
            rng_state=copy.deepcopy(dict(self.run.rng.bit_generator.state)),
            record=self.last,
        )

    def _restore(self, snapshot: _Snapshot) -> None:
        self.model.set_weights(snapshot.weights)
        self.run.optimizer.load_state_dict(snapshot.optimizer)
        self.run.state = snapshot.state.copy()
        self.run.rng.bit_generator.state = copy.deepcopy(snapshot.rng_state)
        self.last = snapshot.record

    def __repr__(self) -> str:
        return (
            f"Stepper(epoch={self.epoch}, batch={self.batch}/{self.n_batches}, "
            f"steps={self.steps_taken}, undo={len(self._undo)})"
        )
