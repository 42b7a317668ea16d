"""The fit loop: mini-batch gradient descent with validation, callbacks and exact resumption.

For every mini-batch, `train_epoch` runs the textbook step that a learner can write out::

    out = model.forward(X_batch, training=True)     # forward pass, layer by layer
    loss = loss_fn.value(out, y_batch)              # how wrong the outputs are
    model.backward(loss_fn.gradient(out, y_batch))  # backpropagation: dL/dθ for every parameter
    optimizer.step()                                # gradient descent: θ ← θ − lr·dL/dθ

The loop works on any model with that interface (`glassnet.Sequential` is the one glassnet
builds): ``check_inputs``/``check_targets``, ``resolve_loss``/``resolve_optimizer``,
``forward``/``backward``, ``get_weights``/``set_weights``, ``parameters``/``buffers``,
``layers``, ``output`` and ``stop_training``.

Data-parallel training (``fit(..., communicator=...)``, e.g. `glassnet.distributed.MPICommunicator`)
touches the loop through four calls only: the epoch's order is made the ``same_order`` on every
rank, each rank takes its ``shard`` of every global mini-batch, ``forward_backward`` makes the
gradient, the batch's sums and a Ctrl-C global (one Allreduce) before the optimizer steps, and
``end_epoch`` checks that the weights are still the same everywhere. A communicator is any
object with those methods (see `Communicator`); the loop never imports an MPI library. Layers
that draw random numbers (dropout, augmentation) draw for the whole global batch on every rank
and keep their shard's rows (`glassnet.nn.Layer.random_rows`): one generator state everywhere.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .. import kernels
from ..errors import DataError, TrainingDivergedError, check_positive_int, check_real
from ..losses import Loss
from . import fused
from .callbacks import Callback, History, PrintProgress
from .optimizers import Optimizer
from .threads import ThreadedStep, check_threads, reads_outputs


@dataclass
class TrainingState:
    """Where a fit is, beyond the weights and the optimizer: enough to resume it exactly.

    Attributes
    ----------
    epoch : int
        The epoch in progress (0-based); equal to the number of completed epochs at an epoch end.
    batch : int
        Batches completed in that epoch.
    order : ndarray or None
        The epoch's sample order (None when not shuffling).
    rng_state : dict or None
        The training generator's state (shuffling and dropout) at the snapshot.
    total_loss, correct, seen :
        Running sums of the epoch so far, so the resumed epoch reports the same logs.
    history : dict
        `History.to_dict` of the completed epochs.
    """

    epoch: int = 0
    batch: int = 0
    order: np.ndarray | None = None
    rng_state: dict[str, Any] | None = None
    total_loss: float = 0.0
    correct: int = 0
    seen: int = 0
    history: dict = field(default_factory=dict)

    def next_epoch(self) -> None:
        self.epoch += 1
        self.batch, self.order, self.total_loss, self.correct, self.seen = 0, None, 0.0, 0, 0

    def logs(self, classify: bool, label_width: int) -> dict[str, float]:
        logs = {"loss": self.total_loss / max(self.seen, 1)}
        if classify:
            logs["accuracy"] = self.correct / max(self.seen * label_width, 1)
        return logs

    def copy(self) -> TrainingState:
        return replace(
            self,
            order=None if self.order is None else self.order.copy(),
            history=dict(self.history),
        )


class Communicator(Protocol):
    """What `fit` asks of a data-parallel communicator (`glassnet.distributed` implements it).

    ``rank`` is this process's number among ``size``; rank 0 alone runs the callbacks marked
    ``rank_zero_only`` (progress, checkpoints).
    """

    rank: int
    size: int

    def same_order(self, order: np.ndarray) -> np.ndarray:
        """The epoch's sample order, made identical on every rank."""
        ...

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's rows of the global batch ``[start, stop)`` of the epoch's order."""
        ...

    def forward_backward(
        self,
        step: Any,
        model: Any,
        loss: Loss,
        xb: np.ndarray,
        yb: np.ndarray,
        n_global: int,
        interrupt: InterruptFlag,
    ) -> tuple[float, int, int]:
        """Run ``step(model, loss, xb, yb)`` here, then make the gradient and the sums global.

        Returns the global batch's mean loss, correct count and sample count. Sets
        ``interrupt.raised`` on every rank when any rank's ``interrupt.requested`` is set.
        """
        ...

    def end_epoch(self, model: Any, epoch: int) -> None:
        """Check that the weights are identical on every rank."""
        ...


@dataclass
class FitRun:
    """What one call of `fit` trains with; ``model.current_fit`` while it runs."""

    X: np.ndarray
    y: np.ndarray
    batch_size: int
    shuffle: bool
    loss: Loss
    optimizer: Optimizer
    rng: np.random.Generator
    state: TrainingState
    history: History
    communicator: Communicator | None = None
    weights: np.ndarray | None = None  # (n,) per-sample loss weights, None for unweighted
    # callbacks that look at each batch's outputs (`Callback.on_batch_outputs`; one process)
    output_callbacks: list[Callback] = field(default_factory=list)
    # a big chain's step with NumPy's products and compiled passes (`fused.ChainStep`), or None
    # (NOTE: declared before the field ``fused``, which would hide the module in annotations)
    chain: fused.ChainStep | None = None
    # the compiled one-call step (`glassnet.train.fused`) when the run allows it, else None
    fused: fused.FusedStep | None = None
    # the batch split over threads (`glassnet.train.threads`) when fit(threads > 1), else None
    threaded: ThreadedStep | None = None

    @property
    def n_batches(self) -> int:
        return -(-len(self.X) // self.batch_size)

    def start_epoch(self) -> None:
        """Draw the epoch's sample order from the run's generator (None when not shuffling).

        Data parallel, every rank then takes rank 0's order (the ranks' generators may differ).
        """
        self.state.order = self.rng.permutation(len(self.X)) if self.shuffle else None
        if self.communicator is not None and self.state.order is not None:
            self.state.order = self.communicator.same_order(self.state.order)

    def global_batch_size(self, batch: int) -> int:
        """Samples in mini-batch ``batch`` over all ranks (the last one may be smaller)."""
        return min(self.batch_size, len(self.X) - batch * self.batch_size)

    def shard_in_batch(self, batch: int) -> tuple[int, int, int]:
        """This rank's rows of mini-batch ``batch``, counted from the batch's first row, and the
        batch's size: ``(start, stop, total)`` (`Layer.batch_shard`); one process has them all."""
        start = batch * self.batch_size
        total = self.global_batch_size(batch)
        if self.communicator is None:
            return 0, total, total
        first, stop = self.communicator.shard(start, start + total)
        return first - start, stop - start, total

    def rows(self, batch: int) -> slice | np.ndarray:
        """The rows of X in mini-batch ``batch`` of the current epoch: a slice, or the indices
        of the shuffled order. With a communicator, this rank's share (``communicator.shard``).
        """
        start = batch * self.batch_size
        stop = start + self.global_batch_size(batch)
        if self.communicator is not None:  # data parallel: this rank's part of the batch
            start, stop = self.communicator.shard(start, stop)
        return slice(start, stop) if self.state.order is None else self.state.order[start:stop]

    def batch(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """Mini-batch number ``batch`` of the current epoch: ``(X_batch, y_batch)``."""
        rows = self.rows(batch)
        if isinstance(rows, slice):
            return self.X[rows], self.y[rows]  # views, no copy
        # take() gathers the rows ~15% faster than X[rows] (same result)
        return self.X.take(rows, axis=0), self.y.take(rows, axis=0)

    def batch_weights(self, batch: int) -> np.ndarray | None:
        """The sample weights of mini-batch ``batch`` (None for an unweighted fit)."""
        if self.weights is None:
            return None
        rows = self.rows(batch)
        return self.weights[rows] if isinstance(rows, slice) else self.weights.take(rows)

    def outputs_hook(self, batch: int) -> Callable[[np.ndarray], None]:
        """What `forward_backward` shows batch ``batch``'s outputs to: the output callbacks."""
        rows = self.rows(batch)

        def seen(out: np.ndarray) -> None:
            for callback in self.output_callbacks:
                callback.on_batch_outputs(rows, out)

        return seen

    def snapshot(self) -> TrainingState:
        """The state of this run, with the generator's state and the history, for checkpoints."""
        snapshot = self.state.copy()
        snapshot.rng_state = dict(self.rng.bit_generator.state)
        snapshot.history = self.history.to_dict()
        return snapshot


def count_correct(output: str, out: np.ndarray, y: np.ndarray) -> int:
    """Correct predictions in a batch of raw outputs (per label for several sigmoid outputs)."""
    if output == "softmax":
        truth = y if y.ndim == 1 else y.argmax(axis=1)
        return int(np.count_nonzero(out.argmax(axis=1) == truth))
    return int(np.count_nonzero((out > 0) == (y > 0.5)))


def label_width(output: str, y: np.ndarray) -> int:
    """How many labels each sample has: 1 for class ids or softmax, else y's columns."""
    return 1 if y.ndim == 1 or output == "softmax" else y.shape[1]


def fit(
    model: Any,
    X: Any,
    y: Any,
    epochs: int = 10,
    batch_size: int = 32,
    *,
    optimizer: Optimizer | str | None = None,
    learning_rate: Any = None,
    loss: Loss | str | None = None,
    shuffle: bool = True,
    validation_data: tuple[Any, Any] | None = None,
    validation_split: float = 0.0,
    callbacks: Iterable[Callback] = (),
    seed: int | None = None,
    verbose: int = 0,
    resume: TrainingState | None = None,
    communicator: Communicator | None = None,
    sample_weight: Any = None,
    class_weight: Any = None,
    kernel: str | None = None,
    threads: int = 1,
) -> History:
    """Train ``model`` by mini-batch gradient descent; see `glassnet.Sequential.fit`."""
    path = None if kernel is None else kernels.resolve(kernel)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    X = model.check_inputs(X)
    y = model.check_targets(y, len(X))
    weights = sample_weights(model.output, y, sample_weight, class_weight, model.dtype)
    callbacks = list(callbacks)
    threads = check_threads(threads, model, communicator, weights, callbacks)
    if weights is not None and communicator is not None:
        raise ValueError(
            "sample_weight and class_weight are not supported with a communicator yet: each "
            "rank would normalise by its own share's weights. Train unweighted, or on one process."
        )
    if validation_split:
        check_real(validation_split, "validation_split", 0.0, 1.0)
        if validation_data is not None:
            raise ValueError("Give validation_data or validation_split, not both.")
        n_train = int(round(len(X) * (1.0 - validation_split)))
        if not 0 < n_train < len(X):
            raise DataError(
                f"validation_split={validation_split} leaves {n_train} of {len(X)} samples "
                "for training; both parts need at least one sample."
            )
        validation_data = (X[n_train:], y[n_train:])
        X, y = X[:n_train], y[:n_train]
        weights = None if weights is None else weights[:n_train]
    elif validation_data is not None:
        X_val = model.check_inputs(validation_data[0], "X_val")
        validation_data = (X_val, model.check_targets(validation_data[1], len(X_val), "y_val"))
    loss_fn = model.resolve_loss(loss)
    model.optimizer = chosen = model.resolve_optimizer(optimizer, learning_rate)
    model.loss = loss_fn
    if path is not None:
        # One path for the loss, the layers that have a compiled path, and an optimizer that
        # fit builds (an optimizer given to fit keeps its own kernel= choice).
        loss_fn.kernel = path
        for layer in model.layers:
            if hasattr(layer, "kernel"):
                layer.kernel = path
        if not isinstance(optimizer, Optimizer):
            chosen.kernel = path
    rng = np.random.default_rng(seed) if seed is not None else model.rng
    for layer in model.layers:
        if layer.uses_rng:
            layer.rng = rng

    history = History()
    state = TrainingState()
    if resume is not None:
        history.restore(resume.history)
        state = resume.copy()
        if resume.rng_state is not None:
            rng.bit_generator.state = resume.rng_state
    # History comes last so it records what other callbacks add to the logs.
    all_callbacks = [*callbacks] + ([PrintProgress()] if verbose else []) + [history]
    if communicator is not None and communicator.rank != 0:
        # Only rank 0 prints and writes files; every rank runs the others (schedules, early
        # stopping), which see the same global logs and so decide the same.
        all_callbacks = [c for c in all_callbacks if not c.rank_zero_only]
    for callback in all_callbacks:
        callback.set_model(model)
    batch_callbacks = [
        c for c in all_callbacks if type(c).on_batch_end is not Callback.on_batch_end
    ]
    output_callbacks = [c for c in all_callbacks if reads_outputs(c)]
    model.stop_training = False
    run = model.current_fit = FitRun(
        X, y, batch_size, shuffle, loss_fn, chosen, rng, state, history, communicator, weights
    )
    run.output_callbacks = output_callbacks
    if threads == 1 and fused.blocker(model, run, path) is None:
        run.fused = fused.FusedStep(model, run)
    elif threads == 1 and fused.chain_blocker(model, run, path) is None:
        run.chain = fused.ChainStep(model, run)
    shared = ThreadedStep(model, loss_fn, threads) if threads > 1 else contextlib.nullcontext()
    params = {
        "epochs": epochs,
        "batches": run.n_batches,
        "samples": len(X),
        "batch_size": batch_size,
    }
    # Data parallel, a Ctrl-C only asks; the ranks agree in the next step's reduction.
    with InterruptFlag(shared=communicator is not None) as interrupt, shared as run.threaded:
        for callback in all_callbacks:
            callback.on_train_begin(params)
        while state.epoch < epochs:
            epoch = state.epoch
            for callback in all_callbacks:
                callback.on_epoch_begin(epoch, {})
            logs = train_epoch(model, run, batch_callbacks, interrupt)
            if logs is None:  # stopped in the middle of the epoch
                history.interrupted = interrupt.raised
                history.stopped_early = not interrupt.raised
                break
            if validation_data is not None:
                X_val, y_val = validation_data
                scores = model.evaluate(X_val, y_val, loss=loss_fn)
                logs.update({f"val_{k}": v for k, v in scores.items()})
            if communicator is not None:
                communicator.end_epoch(model, epoch)
            state.next_epoch()
            for callback in all_callbacks:
                callback.on_epoch_end(epoch, logs)
            if model.stop_training:
                history.stopped_early = True
                break
        for callback in all_callbacks:
            callback.on_train_end({})
    model.current_fit = None
    for layer in model.layers:
        if layer.uses_rng:
            layer.batch_shard = None
    model.history = history
    return history


def train_epoch(
    model: Any, run: FitRun, batch_callbacks: list[Callback], interrupt: InterruptFlag
) -> dict[str, float] | None:
    """Run the rest of the current epoch: forward → loss → backward → step, batch by batch.

    Returns the epoch's logs, or None if Ctrl-C or a callback (``model.stop_training``)
    stopped training after a batch.
    """
    state, comm = run.state, run.communicator
    if state.batch == 0:
        run.start_epoch()
    last_finite = model.get_weights()
    classify = model.output != "identity"
    width = label_width(model.output, run.y)
    random_layers = [layer for layer in model.layers if layer.uses_rng]
    compiled: fused.FusedStep | fused.ChainStep | None = run.fused
    if compiled is None:
        compiled = run.chain
    for batch in range(state.batch, run.n_batches):
        if compiled is not None:  # forward, loss, backward and the update, compiled
            batch_loss, n_correct = compiled.step(run.rows(batch))
            n_seen = run.global_batch_size(batch)
            if run.output_callbacks:  # e.g. a learning map: the forward's logits
                run.outputs_hook(batch)(compiled.outputs())
        elif run.threaded is not None:  # the batch shared out over threads
            xb, yb = run.batch(batch)
            batch_loss, n_correct = run.threaded.forward_backward(forward_backward, xb, yb)
            n_seen = len(xb)
        elif comm is None:
            xb, yb = run.batch(batch)
            weights = run.batch_weights(batch)
            seen = run.outputs_hook(batch) if run.output_callbacks else None
            batch_loss, n_correct = forward_backward(model, run.loss, xb, yb, weights, seen)
            n_seen = len(xb)
        else:  # one Allreduce: the global batch's mean gradient, its sums and a Ctrl-C
            xb, yb = run.batch(batch)  # this rank's share only
            shard = run.shard_in_batch(batch)
            for layer in random_layers:  # they draw for the global batch, keep these rows
                layer.batch_shard = shard
            batch_loss, n_correct, n_seen = comm.forward_backward(
                forward_backward, model, run.loss, xb, yb, run.global_batch_size(batch), interrupt
            )
        if not math.isfinite(batch_loss):
            diverged(model, last_finite, state, batch_loss, run.history)
        if compiled is None:
            run.optimizer.step()
        state.batch = batch + 1
        state.total_loss += batch_loss * n_seen
        state.seen += n_seen
        state.correct += n_correct
        if batch_callbacks:
            logs = state.logs(classify, width)
            for callback in batch_callbacks:
                callback.on_batch_end(batch, logs)
        if interrupt.raised or model.stop_training:
            return None
    if not weights_finite(model):
        diverged(model, last_finite, state, math.nan, run.history)
    return state.logs(classify, width)


def weights_finite(model: Any) -> bool:
    """No NaN and no infinity in the model's parameters and buffers, checked without a copy.

    A sum is NaN or ±inf whenever an entry is, so one reduction per array clears the common
    case; only a non-finite sum (perhaps an overflow of finite values) needs the elementwise
    check. (``np.isfinite(model.get_weights())`` made a copy of the weights and a mask as big
    as a quarter of them at every epoch's end: on the wide network, part of training's peak
    memory.)
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum is no news
        for array in [*model.parameters(), *model.buffers()]:
            value = array.value
            if not math.isfinite(np.add.reduce(value, axis=None)) and not np.isfinite(value).all():
                return False
    return True


def forward_backward(
    model: Any,
    loss: Loss,
    xb: np.ndarray,
    yb: np.ndarray,
    weights: np.ndarray | None = None,
    seen: Callable[[np.ndarray], None] | None = None,
) -> tuple[float, int]:
    """forward → loss → backward on one batch: fills the gradients, returns (mean loss, correct).

    The correct count is 0 for regression (``output="identity"``). With ``weights`` (batch,),
    the loss is the weighted one (`Loss.weighted_value_and_gradient`). ``seen(out)``, if given,
    is shown the raw outputs before the loss reuses them (e.g. a learning map).
    """
    out = model.forward(xb, training=True)
    if seen is not None:
        seen(out)
    # the labels were validated once, in fit, so the loss need not check each batch
    if weights is None:
        batch_loss, grad = loss.value_and_gradient_of_valid(out, yb)
    else:
        batch_loss, grad = loss.weighted_value_and_gradient(out, yb, weights)
    if not math.isfinite(batch_loss):  # fit restores the weights and raises; skip backward
        return batch_loss, 0
    model.backward(grad)
    correct = count_correct(model.output, out, yb) if model.output != "identity" else 0
    return batch_loss, correct


def sample_weights(
    output: str, y: np.ndarray, sample_weight: Any, class_weight: Any, dtype: Any
) -> np.ndarray | None:
    """The per-sample loss weights of a fit: ``sample_weight`` times each sample's class weight.

    ``class_weight`` is ``"balanced"`` (w_c = n / (n_classes · n_c), scikit-learn's rule, over
    the classes present in y) or a dict ``{class id: weight}`` (missing classes weigh 1); the
    class of a sample is its id (softmax), its one-hot argmax, or its 0/1 label (one sigmoid
    output). Returns None when every weight is the same: the loss is then the unweighted one
    exactly, and training takes the unweighted path.

    Shapes
    ------
    y : (n,) or (n, outputs) → (n,) weights in ``dtype``, or None.
    """
    if sample_weight is None and class_weight is None:
        return None
    n = len(y)
    weights = np.ones(n, dtype=np.float64)
    if sample_weight is not None:
        given = np.asarray(sample_weight)
        if given.dtype.kind not in "biuf" or given.shape != (n,):
            raise DataError(
                f"sample_weight must be {n} numbers, one per sample, got an array of shape "
                f"{given.shape} and dtype {given.dtype}."
            )
        weights = given.astype(np.float64)
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise DataError("sample_weight must be finite and >= 0 (0 leaves a sample out).")
    if class_weight is not None:
        weights = weights * _class_weights(output, y, class_weight)
    if n and not weights.any():
        raise DataError("All sample weights are 0: nothing to learn from. Give some weight > 0.")
    if n == 0 or (weights == weights[0]).all():
        return None
    return weights.astype(dtype)


def _class_weights(output: str, y: np.ndarray, class_weight: Any) -> np.ndarray:
    """Each sample's class weight (see `sample_weights`), shape (n,)."""
    if output == "softmax":
        ids = y if y.ndim == 1 else y.argmax(axis=1)
    elif output == "sigmoid" and (y.ndim == 1 or y.shape[1] == 1):
        ids = (y.reshape(-1) > 0.5).astype(np.int64)
    else:
        raise DataError(
            "class_weight needs one class per sample: a softmax output, or one sigmoid output; "
            f"this model's output is {output!r}"
            + (" with several labels." if output == "sigmoid" else ". Use sample_weight.")
        )
    counts = np.bincount(ids)
    if isinstance(class_weight, str) and class_weight == "balanced":
        present = np.count_nonzero(counts)
        table = np.divide(len(ids), present * counts, out=np.ones(len(counts)), where=counts > 0)
        return table[ids]
    if not isinstance(class_weight, dict):
        raise ValueError(
            f"class_weight must be 'balanced' or a dict {{class id: weight}}, got "
            f"class_weight={class_weight!r}."
        )
    table = np.ones(max(len(counts), 1))
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
            raise ValueError(f"class_weight keys must be class ids >= 0, got {key!r}.")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.number))
            or not (math.isfinite(value) and value >= 0)
        ):
            raise ValueError(f"class_weight[{key}] must be a number >= 0, got {value!r}.")
        if key < len(table):
            table[key] = value
    return table[ids]


def diverged(
    model: Any, last_finite: np.ndarray, state: TrainingState, loss_value: float, history: History
) -> None:
    """Put the last finite epoch's weights back and raise `TrainingDivergedError`."""
    model.set_weights(last_finite)
    lr = model.optimizer.current_learning_rate if model.optimizer else float("nan")
    raise TrainingDivergedError(
        f"Training diverged: the loss became {loss_value} at epoch {state.epoch + 1}, batch "
        f"{state.batch + 1}. The learning rate ({lr:g}) is probably too high, or the inputs "
        "are not scaled (e.g. pixel values 0-255 instead of 0-1). The weights of the last "
        "finite epoch have been restored.",
        history,
    )


class InterruptFlag:
    """Turn the first Ctrl-C during training into a flag checked after each batch.

    Training then ends cleanly after the batch in progress, instead of stopping between two
    NumPy calls of an update. A second Ctrl-C interrupts at once.

    Data parallel (``shared=True``) a Ctrl-C only sets ``requested``: it may reach one rank in
    the middle of a batch and another after it, or one rank only. The communicator sums the
    requests in its per-step status reduction and sets ``raised`` on every rank together, so
    that all of them stop after the same batch. SIGUSR1 then asks the same: Open MPI's
    ``mpiexec`` passes SIGUSR1 on to every rank, but ends the whole job on a Ctrl-C.
    """

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        self.raised = self.requested = False
        self.signals = [signal.SIGINT]
        if shared and hasattr(signal, "SIGUSR1"):  # POSIX only
            self.signals.append(signal.SIGUSR1)
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> InterruptFlag:
        self.raised = self.requested = False
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if not self.shared:
            self.raised = True

    def __exit__(self, *exc_info) -> None:
        for signum, previous in self._previous.items():
            if previous is not None:  # None: a handler not installed from Python
                signal.signal(signum, previous)
