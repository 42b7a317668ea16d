"""The network: `Sequential` runs layers in order; `MLP` builds the common fully connected stack.

The textbook training step, which `fit` runs for every mini-batch and a learner can write out::

    out = model.forward(X_batch, training=True)     # forward pass, layer by layer
    loss = loss_fn.value(out, y_batch)              # how wrong the outputs are
    model.backward(loss_fn.gradient(out, y_batch))  # backpropagation: dL/dθ for every parameter
    optimizer.step()                                # gradient descent: θ ← θ − lr·dL/dθ

The last Dense layer gives raw scores (logits); the model's ``output`` names the activation that
turns them into predictions (softmax probabilities, sigmoid probabilities, or the identity for
regression). The loss applies the same activation itself, fused with it for an exact, stable
gradient (see `glassnet.losses`).
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import activations, losses, metrics, optimizers
from .callbacks import Callback, History, PrintProgress
from .errors import (
    DataError,
    ShapeError,
    TrainingDivergedError,
    as_float_array,
    check_positive_int,
    check_real,
)
from .layers import Dense, Dropout, Layer
from .parameter import Parameter, pack_parameters

OUTPUTS = ("softmax", "sigmoid", "identity")


class Sequential:
    """A feed-forward network: each layer's output is the next layer's input.

    Parameters
    ----------
    layers : sequence of Layer
        The layers in order. Their sizes must chain (checked here).
    output : {"softmax", "sigmoid", "identity"}
        How raw outputs become predictions: class probabilities (softmax), independent
        probabilities (sigmoid; one output for binary classification) or values (regression).
    seed : int, optional
        Seeds the training randomness (shuffling, dropout) when `fit` gets no seed.

    Attributes
    ----------
    layers : list of Layer
        Named ``"dense_0"``, ``"sigmoid_0"``, ``"dense_1"``... unless given names.
    n_inputs, n_outputs : int
        The feature counts at both ends.
    class_names : list of str or None
        Optional labels of the output classes (kept in model files).
    preprocessing : dict
        How raw inputs become this model's inputs (e.g. ``{"kind": "image", "image_size":
        [28, 28], "scale": 1/255}``), for the tools that feed it files; kept in model files.
    optimizer : Optimizer or None
        The optimizer of the last `fit`; a later `fit` without one continues with it.
    history : History or None
        The `History` of the last `fit`, or the one kept in a loaded model file.
    """

    def __init__(
        self, layers: Sequence[Layer], output: str = "identity", seed: int | None = None
    ) -> None:
        self.layers = list(layers)
        if not self.layers or not all(isinstance(layer, Layer) for layer in self.layers):
            raise TypeError("Sequential needs a non-empty list of Layer objects.")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got output={output!r}.")
        last = self.layers[-1]
        if output != "identity" and isinstance(last, activations.ACTIVATIONS[output]):
            raise ValueError(
                f"The model ends with a {type(last).__name__} layer and output={output!r}, which "
                "would apply it twice. Remove the last layer: the output activation is applied "
                "by the loss and by predict_proba."
            )
        self.output = output
        self._output_function = activations.get(output).function
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.class_names: list[str] | None = None
        self.preprocessing: dict[str, Any] = {}
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.stop_training = False
        self._fit: _Fit | None = None
        self.history: History | None = None
        self._name_layers()
        dense = [layer for layer in self.layers if isinstance(layer, Dense)]
        if not dense:
            raise ValueError("Sequential needs at least one Dense layer to know its input size.")
        dtypes = {layer.dtype for layer in dense}
        if len(dtypes) > 1:
            raise TypeError(
                f"All Dense layers must share one dtype, got {sorted(map(str, dtypes))}."
            )
        self.dtype = dtypes.pop()
        self.n_inputs = dense[0].n_inputs
        size = self.n_inputs
        for layer in self.layers:
            size = layer.output_size(size)
        self.n_outputs = size
        if output == "softmax" and self.n_outputs < 2:
            raise ValueError(
                "A softmax output needs at least 2 neurons (one per class), got 1. For a yes/no "
                "problem use one neuron with output='sigmoid'."
            )
        for layer in self.layers:
            layer.input_grad = True
        self.layers[0].input_grad = False
        self._values, self._grads = pack_parameters(self.parameters(), self.dtype)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # NOTE: copy.deepcopy and pickle copy each parameter array on its own, which would cut
        # them loose from the packed buffer (and from the optimizer, which updates the buffer).
        # Pack them again so that a copy trains like the original.
        self.__dict__.update(state)
        self._values, self._grads = pack_parameters(self.parameters(), self.dtype)
        if self.optimizer is not None:
            self.optimizer._find_targets()

    def _name_layers(self) -> None:
        counts: dict[str, int] = {}
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name is None:
                kind = type(layer).__name__.lower()
                layer.name = f"{kind}_{counts.get(kind, 0)}"
                counts[kind] = counts.get(kind, 0) + 1
            if layer.name in seen:
                raise ValueError(
                    f"Two layers are named {layer.name!r}; layer names must be unique."
                )
            seen.add(layer.name)
            for param, attribute in zip(layer.parameters(), ("W", "b"), strict=False):
                param.name = f"{layer.name}.{attribute}"

    # ------------------------------------------------------------------ forward and backward

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run every layer in order and return the raw outputs.

        Shapes
        ------
        x : (batch, n_inputs) → (batch, n_outputs)
        """
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_output: np.ndarray) -> None:
        """Backpropagate dL/d(outputs) through every layer, last to first.

        Fills every parameter's ``.grad``. The gradient with respect to the input is not computed
        (nobody trains the data); call the first layer's backward with ``input_grad`` set if needed.
        """
        grad: np.ndarray | None = grad_output
        for layer in reversed(self.layers):
            grad = layer.backward(grad)  # type: ignore[arg-type]  # None only from the first

    __call__ = forward

    # ------------------------------------------------------------------ parameters

    def parameters(self) -> list[Parameter]:
        """Every trainable parameter, in layer order."""
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> dict[str, Parameter]:
        """``{"dense_0.W": Parameter, "dense_0.b": ...}``."""
        return {p.name: p for p in self.parameters()}

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``, e.g. ``model.parameter("dense_0.W").grad``."""
        named = self.named_parameters()
        if name not in named:
            raise KeyError(f"No parameter named {name!r}. This model has {list(named)}.")
        return named[name]

    @property
    def n_parameters(self) -> int:
        return int(self._values.size)

    def get_weights(self) -> np.ndarray:
        """A copy of every parameter, flattened in order into one vector."""
        return self._values.copy()

    def set_weights(self, weights: np.ndarray) -> None:
        """Overwrite every parameter from a vector returned by `get_weights`."""
        weights = np.asarray(weights)
        if weights.shape != self._values.shape:
            raise ShapeError(
                f"set_weights expects a vector of {self._values.size} numbers, got shape "
                f"{weights.shape}."
            )
        self._values[...] = weights

    # ------------------------------------------------------------------ checking data

    def _check_inputs(self, X: Any, name: str = "X") -> np.ndarray:
        X = as_float_array(X, name, self.dtype)
        if X.ndim == 1:
            X = X[:, None] if self.n_inputs == 1 else X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            hint = ""
            if X.ndim > 2 and math.prod(X.shape[1:]) == self.n_inputs:
                hint = (
                    f" Did you forget to flatten the images? Use {name}.reshape(len({name}), -1)."
                )
            raise ShapeError(
                f"The model's first layer expects {self.n_inputs} input features, got {name} "
                f"with shape {X.shape}.{hint}"
            )
        if len(X) == 0:
            raise DataError(f"{name} is empty: there are no samples to work on.")
        return X

    def _check_targets(self, y: Any, n_samples: int, name: str = "y") -> np.ndarray:
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must be numeric, got dtype={y.dtype}. Map string labels to class ids "
                "first (e.g. with np.unique(labels, return_inverse=True))."
            )
        if len(y) != n_samples:
            raise DataError(
                f"X has {n_samples} samples but {name} has {len(y)} labels; they must match "
                "one to one."
            )
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise DataError(f"{name} contains NaN or infinite values.")
        if self.output == "softmax" and y.ndim == 1:
            if y.dtype.kind == "f":
                if not np.array_equal(y, np.round(y)):
                    raise DataError(
                        f"{name} holds float labels that are not whole numbers "
                        f"(e.g. {y[y != np.round(y)][0]!r}); class labels must be integers "
                        "0 … n_classes − 1."
                    )
            y = y.astype(np.intp)
            losses.check_class_ids(y, self.n_outputs)
            return y
        y = y.astype(self.dtype, copy=False)
        if y.ndim == 1 and self.n_outputs == 1:
            y = y[:, None]
        if y.shape != (n_samples, self.n_outputs):
            raise ShapeError(
                f"{name} must have shape ({n_samples}, {self.n_outputs}) to match the "
                f"{self.n_outputs} outputs, got {y.shape}."
            )
        if self.output == "sigmoid" and (y.min() < 0 or y.max() > 1):
            raise DataError(f"{name} must hold 0/1 labels (or probabilities) for a sigmoid output.")
        return y

    # ------------------------------------------------------------------ prediction

    def predict_proba(self, X: Any, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities.

        Returns
        -------
        ndarray, shape (n, n_classes) for softmax; (n, 2) for one sigmoid output, columns
        P(0) and P(1); (n, n_outputs) independent probabilities for several sigmoid outputs.
        """
        if self.output == "identity":
            raise TypeError("This is a regression model (output='identity'): use predict().")
        X = self._check_inputs(X)
        probabilities = self._output_function(self._raw_outputs(X, batch_size))
        if self.output == "sigmoid" and self.n_outputs == 1:
            return np.hstack([1.0 - probabilities, probabilities])
        return probabilities

    def predict(self, X: Any, batch_size: int = 8192) -> np.ndarray:
        """Class ids (classification) or values (regression).

        Returns
        -------
        ndarray, shape (n,) of int64 class ids for softmax or one sigmoid output; (n, k) of 0/1
        for k sigmoid outputs; (n,) values for one-output regression, else (n, n_outputs).
        """
        X = self._check_inputs(X)
        out = self._raw_outputs(X, batch_size)
        if self.output == "softmax":
            return out.argmax(axis=1)
        if self.output == "sigmoid":
            labels = (out > 0).astype(np.int64)  # σ(z) > ½ ⇔ z > 0
            return labels[:, 0] if self.n_outputs == 1 else labels
        return out[:, 0] if self.n_outputs == 1 else out

    def _raw_outputs(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        if len(X) <= batch_size:
            return self.forward(X)
        return np.concatenate(
            [self.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
        )

    def evaluate(
        self, X: Any, y: Any, batch_size: int = 8192, loss: losses.Loss | str | None = None
    ) -> dict[str, float]:
        """The loss and metrics on a data set.

        Returns
        -------
        dict: ``{"loss", "accuracy"}`` for classification; ``{"loss", "mse", "mae", "r2"}`` for
        regression.
        """
        X = self._check_inputs(X)
        y = self._check_targets(y, len(X))
        loss_fn = self._loss(loss)
        total, correct = 0.0, 0
        outputs = []
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            out = self.forward(xb)
            total += loss_fn.value(out, yb) * len(xb)
            if self.output == "identity":
                outputs.append(out)
            else:
                correct += _count_correct(self.output, out, yb)
        result = {"loss": total / len(X)}
        if self.output == "identity":
            pred = np.concatenate(outputs)
            result["mse"] = metrics.mean_squared_error(y, pred)
            result["mae"] = metrics.mean_absolute_error(y, pred)
            result["r2"] = metrics.r2_score(y, pred)
        else:
            result["accuracy"] = correct / (len(X) * (1 if y.ndim == 1 else self._label_width(y)))
        return result

    def _label_width(self, y: np.ndarray) -> int:
        return 1 if self.output == "softmax" else y.shape[1]

    # ------------------------------------------------------------------ training

    def _loss(self, loss: losses.Loss | str | None) -> losses.Loss:
        loss_fn = losses.FOR_OUTPUT[self.output]() if loss is None else losses.get(loss)
        if loss_fn.output != self.output:
            raise ValueError(
                f"{type(loss_fn).__name__} applies a {loss_fn.output} output, but the model's "
                f"output is {self.output!r}. Use {losses.FOR_OUTPUT[self.output].__name__} or "
                "build the model with a matching output."
            )
        return loss_fn

    def _optimizer(self, optimizer: Any, learning_rate: Any) -> optimizers.Optimizer:
        if isinstance(optimizer, optimizers.Optimizer):
            mine = {id(p) for p in self.parameters()}
            if not all(id(p) in mine for p in optimizer.parameters):
                raise ValueError("The optimizer was built for another model's parameters.")
            if learning_rate is not None:
                optimizer.learning_rate = learning_rate
            return optimizer
        if optimizer is None and self.optimizer is not None:
            if learning_rate is not None:
                self.optimizer.learning_rate = learning_rate
            return self.optimizer
        options = {} if learning_rate is None else {"learning_rate": learning_rate}
        return optimizers.get(optimizer or "adam", self.parameters(), **options)

    def fit(
        self,
        X: Any,
        y: Any,
        epochs: int = 10,
        batch_size: int = 32,
        *,
        optimizer: optimizers.Optimizer | str | None = None,
        learning_rate: Any = None,
        loss: losses.Loss | str | None = None,
        shuffle: bool = True,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0,
        callbacks: Iterable[Callback] = (),
        seed: int | None = None,
        verbose: int = 0,
        resume: TrainingState | None = None,
    ) -> History:
        """Train by mini-batch gradient descent.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_inputs)
        y : array-like
            Class ids (n_samples,) or one-hot rows for softmax; 0/1 labels for sigmoid; target
            values (n_samples,) or (n_samples, n_outputs) for regression.
        epochs, batch_size : int
            Passes over the data, and samples per gradient step.
        optimizer : Optimizer or str, optional
            An optimizer built on ``model.parameters()``, or a name ("sgd", "adam", "adamw",
            "rmsprop"). Default: the previous fit's optimizer, else Adam.
        learning_rate : float or schedule, optional
            Overrides the optimizer's learning rate.
        loss : Loss or str, optional
            Default: the loss paired with the model's output.
        shuffle : bool
            Shuffle the sample order every epoch.
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch (``val_loss``, ``val_accuracy``...).
        validation_split : float
            Alternatively, hold out this fraction of the *last* samples of X, y for validation.
        callbacks : iterable of Callback
        seed : int, optional
            Seeds shuffling and dropout; with the same seed (and BLAS thread count) training is
            bit-identical. Default: the model's own generator.
        verbose : int
            1 prints a line per epoch.
        resume : TrainingState, optional
            Continue an interrupted fit from a checkpoint's state (see `training_state`); load the
            checkpoint's weights and optimizer state first. Give the same data and settings.

        Returns
        -------
        History
            The per-epoch logs. Training stops early with the weights of the last finite epoch if
            the loss becomes NaN or infinite (raising `TrainingDivergedError`), and cleanly after
            the current batch on Ctrl-C (``history.interrupted``).

        Examples
        --------
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32); y = [0, 1, 1, 0]
        >>> model = MLP([2, 8, 2], activation="tanh", seed=0)
        >>> history = model.fit(X, y, epochs=300, batch_size=4, learning_rate=0.05, seed=0)
        >>> model.predict(X)
        array([0, 1, 1, 0])
        """
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        X = self._check_inputs(X)
        y = self._check_targets(y, len(X))
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
        elif validation_data is not None:
            X_val = self._check_inputs(validation_data[0], "X_val")
            validation_data = (X_val, self._check_targets(validation_data[1], len(X_val), "y_val"))
        loss_fn = self._loss(loss)
        self.optimizer = optimizer = self._optimizer(optimizer, learning_rate)
        self.loss = loss_fn
        rng = np.random.default_rng(seed) if seed is not None else self._rng
        for layer in self.layers:
            if isinstance(layer, Dropout):
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
        for callback in all_callbacks:
            callback.set_model(self)
        batch_callbacks = [
            c for c in all_callbacks if type(c).on_batch_end is not Callback.on_batch_end
        ]
        self.stop_training = False
        self._fit = _Fit(X, y, batch_size, shuffle, loss_fn, optimizer, rng, state, history)
        params = {
            "epochs": epochs,
            "batches": self._fit.n_batches,
            "samples": len(X),
            "batch_size": batch_size,
        }
        with _InterruptFlag() as interrupt:
            for callback in all_callbacks:
                callback.on_train_begin(params)
            while state.epoch < epochs:
                epoch = state.epoch
                for callback in all_callbacks:
                    callback.on_epoch_begin(epoch, {})
                logs = self._train_epoch(self._fit, batch_callbacks, interrupt)
                if logs is None:  # stopped in the middle of the epoch
                    history.interrupted = interrupt.raised
                    history.stopped_early = not interrupt.raised
                    break
                if validation_data is not None:
                    X_val, y_val = validation_data
                    scores = self.evaluate(X_val, y_val, loss=loss_fn)
                    logs.update({f"val_{k}": v for k, v in scores.items()})
                state.next_epoch()
                for callback in all_callbacks:
                    callback.on_epoch_end(epoch, logs)
                if self.stop_training:
                    history.stopped_early = True
                    break
            for callback in all_callbacks:
                callback.on_train_end({})
        self._fit = None
        self.history = history
        return history

    def _train_epoch(
        self, fit: _Fit, batch_callbacks: list[Callback], interrupt: _InterruptFlag
    ) -> dict[str, float] | None:
        """Run the rest of the current epoch: forward → loss → backward → step, batch by batch.

        Returns the epoch's logs, or None if Ctrl-C or a callback (``model.stop_training``)
        stopped training after a batch.
        """
        state, X, y, size = fit.state, fit.X, fit.y, fit.batch_size
        if state.batch == 0:
            state.order = fit.rng.permutation(len(X)) if fit.shuffle else None
        last_finite = self._values.copy()
        classify = self.output != "identity"
        label_width = 1 if y.ndim == 1 else self._label_width(y)
        for batch in range(state.batch, fit.n_batches):
            start = batch * size
            if state.order is None:
                xb, yb = X[start : start + size], y[start : start + size]  # views, no copy
            else:
                rows = state.order[start : start + size]
                # take() gathers the rows ~15% faster than X[rows] (same result)
                xb, yb = X.take(rows, axis=0), y.take(rows, axis=0)
            out = self.forward(xb, training=True)
            # the labels were validated once, in fit, so the loss need not check each batch
            batch_loss, grad = fit.loss._value_and_gradient_of_valid(out, yb)
            if not math.isfinite(batch_loss):
                self._diverged(last_finite, state, batch_loss, fit.history)
            self.backward(grad)
            fit.optimizer.step()
            state.batch = batch + 1
            state.total_loss += batch_loss * len(xb)
            state.seen += len(xb)
            if classify:
                state.correct += _count_correct(self.output, out, yb)
            if batch_callbacks:
                logs = state.logs(classify, label_width)
                for callback in batch_callbacks:
                    callback.on_batch_end(batch, logs)
            if interrupt.raised or self.stop_training:
                return None
        if not np.isfinite(self._values).all():
            self._diverged(last_finite, state, math.nan, fit.history)
        return state.logs(classify, label_width)

    def training_state(self) -> TrainingState:
        """A snapshot of the fit in progress (for checkpoints): position, RNG state, history.

        Together with `get_weights` and the optimizer's `state_dict`, it lets ``fit(...,
        resume=state)`` continue exactly where this fit is. Only valid during `fit` (callbacks).
        """
        if self._fit is None:
            raise RuntimeError("training_state() is only available while fit() is running.")
        snapshot = self._fit.state.copy()
        snapshot.rng_state = dict(self._fit.rng.bit_generator.state)
        snapshot.history = self._fit.history.to_dict()
        return snapshot

    def _diverged(self, last_finite, state, loss_value, history) -> None:
        self._values[...] = last_finite
        lr = self.optimizer.current_learning_rate if self.optimizer else float("nan")
        raise TrainingDivergedError(
            f"Training diverged: the loss became {loss_value} at epoch {state.epoch + 1}, batch "
            f"{state.batch + 1}. The learning rate ({lr:g}) is probably too high, or the inputs "
            "are not scaled (e.g. pixel values 0-255 instead of 0-1). The weights of the last "
            "finite epoch have been restored.",
            history,
        )

    # ------------------------------------------------------------------ looking inside

    def trace(self, x: Any):
        """Every neuron's inputs, weights, bias, weighted sum and activation for one input.

        See `glassnet.inspect.trace`.
        """
        from . import inspect

        return inspect.trace(self, x)

    def neuron(self, layer: int | str, index: int, x: Any = None):
        """One neuron's weights and bias, and, given an input ``x``, its z and a.

        See `glassnet.inspect.neuron`.
        """
        from . import inspect

        return inspect.neuron(self, layer, index, x)

    def summary(self) -> str:
        """A table of layers, output sizes and parameter counts."""
        rows = [("#", "layer", "type", "outputs", "parameters")]
        size = self.n_inputs
        for i, layer in enumerate(self.layers):
            size = layer.output_size(size)
            shapes = " + ".join("×".join(map(str, p.shape)) for p in layer.parameters())
            count = sum(p.size for p in layer.parameters())
            rows.append(
                (
                    str(i),
                    str(layer.name),
                    type(layer).__name__,
                    str(size),
                    f"{count:,}" + (f"  ({shapes})" if shapes else ""),
                )
            )
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        lines = [
            "  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row[:4])) + "  " + row[4]
            for row in rows
        ]
        sizes = [self.n_inputs] + [la.n_neurons for la in self.layers if isinstance(la, Dense)]
        title = f"Sequential {'-'.join(map(str, sizes))}, output {self.output}, {self.dtype}"
        total = f"Total parameters: {self.n_parameters:,}"
        rule = "─" * max(len(line) for line in lines)
        return "\n".join([title, rule, lines[0], rule, *lines[1:], rule, total])

    def save(self, path: str) -> None:
        """Save architecture and weights to a file (see `glassnet.io`)."""
        from . import io

        io.save(self, path)

    # ------------------------------------------------------------------ configuration

    def get_config(self) -> dict[str, Any]:
        """The architecture as plain JSON-ready data (layer types and constructor arguments)."""
        return {
            "output": self.output,
            "dtype": str(self.dtype),
            "seed": self.seed,
            "layers": [
                {"type": type(layer).__name__, "name": layer.name, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], output={self.output!r})"


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


@dataclass
class _Fit:
    """What one call of `fit` trains with."""

    X: np.ndarray
    y: np.ndarray
    batch_size: int
    shuffle: bool
    loss: losses.Loss
    optimizer: optimizers.Optimizer
    rng: np.random.Generator
    state: TrainingState
    history: History

    @property
    def n_batches(self) -> int:
        return -(-len(self.X) // self.batch_size)


def _count_correct(output: str, out: np.ndarray, y: np.ndarray) -> int:
    """Correct predictions in a batch of raw outputs (per label for several sigmoid outputs)."""
    if output == "softmax":
        truth = y if y.ndim == 1 else y.argmax(axis=1)
        return int(np.count_nonzero(out.argmax(axis=1) == truth))
    return int(np.count_nonzero((out > 0) == (y > 0.5)))


class _InterruptFlag:
    """Turn the first Ctrl-C during training into a flag checked after each batch.

    Training then ends cleanly after the batch in progress, instead of stopping between two
    NumPy calls of an update. A second Ctrl-C interrupts at once.
    """

    def __enter__(self) -> _InterruptFlag:
        self.raised = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc_info) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


LAYER_TYPES: dict[str, type[Layer]] = {
    "Dense": Dense,
    "Dropout": Dropout,
    **{cls.__name__: cls for cls in activations.ACTIVATIONS.values()},
}


def from_config(config: dict[str, Any]) -> Sequential:
    """Build an (untrained) model from `Sequential.get_config` data, allowing only known layers."""
    dtype = np.dtype(config.get("dtype", "float32"))
    layers = []
    for spec in config["layers"]:
        kind = spec["type"]
        if kind not in LAYER_TYPES:
            raise ValueError(f"Unknown layer type {kind!r}; allowed: {sorted(LAYER_TYPES)}.")
        options = dict(spec.get("config", {}))
        if kind == "Dense":
            options["dtype"] = dtype
        layers.append(LAYER_TYPES[kind](name=spec.get("name"), **options))
    return Sequential(layers, output=config.get("output", "identity"), seed=config.get("seed"))


def MLP(
    sizes: Sequence[int],
    activation: str = "relu",
    output: str | None = None,
    *,
    dropout: float = 0.0,
    weight_init: Any = None,
    seed: int | None = None,
    dtype: Any = np.float32,
) -> Sequential:
    """Build a multi-layer perceptron: Dense layers with an activation between them.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first: ``[784, 16, 16, 10]`` is 784 inputs, two hidden layers
        of 16 and 10 outputs.
    activation : str
        The hidden layers' activation: "sigmoid", "tanh", "relu", "leaky_relu" or "step".
    output : {"softmax", "sigmoid", "identity"}, optional
        Default: softmax for several outputs, sigmoid for one. Use "identity" for regression.
    dropout : float
        If > 0, a `Dropout` layer after each hidden activation.
    weight_init : str, optional
        Default: "he_normal" for the ReLU family, "glorot_uniform" otherwise.
    seed : int, optional
        Seeds the initial weights and, unless `fit` gets its own, the training.

    Examples
    --------
    >>> model = MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    >>> model.n_parameters
    13002
    """
    sizes = [check_positive_int(s, "each layer size") for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"MLP needs at least an input and an output size, got sizes={sizes}.")
    if output is None:
        output = "softmax" if sizes[-1] > 1 else "sigmoid"
    activations.get(activation)  # fail early on an unknown name
    if weight_init is None:
        relu_family = activation.lower().replace("-", "_") in ("relu", "leaky_relu", "leakyrelu")
        weight_init = "he_normal" if relu_family else "glorot_uniform"
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Dense(n_in, n_out, weight_init=weight_init, dtype=dtype, rng=rng))
        if i < len(sizes) - 2:
            layers.append(activations.get(activation))
            if dropout:
                layers.append(Dropout(dropout))
    return Sequential(layers, output=output, seed=seed)
