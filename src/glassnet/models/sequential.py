"""The network: `Sequential` runs layers in order, each layer's output the next one's input.

The last layer with parameters gives raw scores (logits); the model's ``output`` names the
activation that turns them into predictions (softmax probabilities, sigmoid probabilities, or the
identity for regression). The loss applies the same activation itself, fused with it for an
exact, stable gradient (see `glassnet.losses`). Training is `glassnet.train.loop.fit`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .. import kernels, losses, metrics
from ..errors import ShapeError
from ..losses import Loss
from ..nn import activations
from ..nn.dense import Dense
from ..nn.layer import Layer
from ..parameter import Buffer, Parameter, pack_parameters
from ..train import fused, loop, optimizers
from ..train.callbacks import Callback, History
from ..train.loop import Communicator, FitRun, TrainingState
from ..train.optimizers import Optimizer
from .checks import check_inputs, check_targets

OUTPUTS = ("softmax", "sigmoid", "identity")
# predict_proba on up to this many samples takes the lean path (`Sequential.lean_proba`).
LEAN_MAX_SAMPLES = 64
# The compiled lean path runs while samples × (multiply-adds of one sample) stay below this; past
# it BLAS's matrix products (the NumPy lean path) are faster than the compiled loops.
COMPILED_MAX_MACS = 1 << 18


class Sequential:
    """A feed-forward network: each layer's output is the next layer's input.

    Parameters
    ----------
    layers : sequence of Layer
        The layers in order. Their shapes must chain (checked here).
    input_shape : tuple of int, optional
        The shape of one sample, without the batch axis (``(784,)``, ``(1, 28, 28)``). Default:
        the first layer that knows its input gives it (a Dense layer gives ``(n_inputs,)``).
    output : {"softmax", "sigmoid", "identity"}
        How raw outputs become predictions: class probabilities (softmax), independent
        probabilities (sigmoid; one output for binary classification) or values (regression).
    seed : int, optional
        Seeds the training randomness (shuffling, dropout) when `fit` gets no seed.

    Attributes
    ----------
    layers : list of Layer
        Named ``"dense_0"``, ``"sigmoid_0"``, ``"dense_1"``... unless given names.
    input_shape, output_shape : tuple of int
        The per-sample shapes at both ends; ``n_inputs`` and ``n_outputs`` are their products.
    class_names : list of str or None
        Optional labels of the output classes (kept in model files).
    preprocessing : dict
        How raw inputs become this model's inputs (e.g. ``{"kind": "image", "image_size":
        [28, 28], "scale": 1/255}``), for the tools that feed it files; kept in model files.
    optimizer : Optimizer or None
        The optimizer of the last `fit`; a later `fit` without one continues with it.
    history : History or None
        The `History` of the last `fit`, or the one kept in a loaded model file.
    kernel : {"auto", "numpy", "numba"}
        How `lean_proba` (the few-sample `predict_proba`) runs: the NumPy layer code, or one
        compiled call for a chain of Dense layers and elementwise activations (the ``fast``
        extra); "auto" (the default): numba when installed. `trace` follows the same choice, so
        it always shows the numbers prediction computed.
    """

    kernel = "auto"
    # the compiled lean path's plan (see `_lean`): none until a prediction builds it
    _lean_layout: np.ndarray | None = None
    _lean_total = 0
    _lean_macs = 0

    def __init__(
        self,
        layers: Sequence[Layer],
        input_shape: Sequence[int] | None = None,
        output: str = "identity",
        seed: int | None = None,
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
        self.rng = np.random.default_rng(seed)
        self.class_names: list[str] | None = None
        self.preprocessing: dict[str, Any] = {}
        self.optimizer: Optimizer | None = None
        self.loss: Loss | None = None
        self.stop_training = False
        self.current_fit: FitRun | None = None
        self.history: History | None = None
        self._name_layers()
        self.dtype = self._common_dtype()
        self.input_shape = self._find_input_shape(input_shape)
        self.output_shape = self.shape_after(len(self.layers))
        self.n_inputs = math.prod(self.input_shape)
        self.n_outputs = math.prod(self.output_shape)
        if output == "softmax" and self.n_outputs < 2:
            raise ValueError(
                "A softmax output needs at least 2 neurons (one per class), got 1. For a yes/no "
                "problem use one neuron with output='sigmoid'."
            )
        # Nobody uses dL/dx of the layers up to the first one with parameters: skip it there.
        first_trained = next((i for i, la in enumerate(self.layers) if la.parameters()), 0)
        for i, layer in enumerate(self.layers):
            layer.input_grad = i > first_trained
        self._values, self._grads = pack_parameters(self.parameters(), self.dtype, self.buffers())

    def __setstate__(self, state: dict[str, Any]) -> None:
        # NOTE: copy.deepcopy and pickle copy each parameter array on its own, which would cut
        # them loose from the packed buffer (and from the optimizer, which updates the buffer).
        # Pack them again so that a copy trains like the original.
        self.__dict__.update(state)
        self.__dict__.pop("_lean_key", None)  # the compiled lean plan is rebuilt on first use
        self._values, self._grads = pack_parameters(self.parameters(), self.dtype, self.buffers())
        if self.optimizer is not None:
            self.optimizer.find_targets()

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
            named: list[tuple[str, Parameter | Buffer]] = [
                *layer.named_parameters().items(),
                *layer.named_buffers().items(),
            ]
            for local, array in named:
                array.name = f"{layer.name}.{local}"

    def _common_dtype(self) -> np.dtype:
        dtypes = {layer.dtype for layer in self.layers if layer.dtype is not None}
        if len(dtypes) > 1:
            raise TypeError(
                f"All layers with parameters must share one dtype, got {sorted(map(str, dtypes))}."
            )
        return dtypes.pop() if dtypes else np.dtype(np.float32)

    def _find_input_shape(self, input_shape: Sequence[int] | None) -> tuple[int, ...]:
        if input_shape is not None:
            shape = tuple(input_shape)
            if not shape or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in shape):
                raise ValueError(
                    f"input_shape must be a tuple of positive sizes for one sample (no batch "
                    f"axis), e.g. (784,) or (1, 28, 28); got input_shape={input_shape!r}."
                )
            return tuple(int(n) for n in shape)
        for layer in self.layers:
            if layer.input_shape is not None:
                return layer.input_shape
        raise ValueError(
            "Sequential cannot tell the input's shape: give input_shape=(...) for one sample, "
            "e.g. Sequential(layers, input_shape=(1, 28, 28)), or start with a Dense layer."
        )

    def shape_after(self, n_layers: int) -> tuple[int, ...]:
        """The per-sample shape after the first ``n_layers`` layers (0: the input's)."""
        shape = self.input_shape
        for layer in self.layers[:n_layers]:
            shape = layer.output_shape(shape)
        return shape

    # ------------------------------------------------------------------ forward and backward

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run every layer in order and return the raw outputs.

        Shapes
        ------
        x : (batch, *input_shape) → (batch, *output_shape)
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
            if grad is None:  # the layers before the first one with parameters
                break
            grad = layer.backward(grad)

    __call__ = forward

    # ------------------------------------------------------------------ parameters and buffers

    def parameters(self) -> list[Parameter]:
        """Every trainable parameter, in layer order."""
        return [p for layer in self.layers for p in layer.parameters()]

    def buffers(self) -> list[Buffer]:
        """Every buffer (non-trainable state such as running statistics), in layer order."""
        return [b for layer in self.layers for b in layer.buffers()]

    def named_parameters(self) -> dict[str, Parameter]:
        """``{"dense_0.W": Parameter, "dense_0.b": ...}``."""
        return _by_name(self.parameters(), "parameter")

    def named_buffers(self) -> dict[str, Buffer]:
        """``{"batchnorm_0.running_mean": Buffer, ...}``."""
        return _by_name(self.buffers(), "buffer")

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``, e.g. ``model.parameter("dense_0.W").grad``."""
        named = self.named_parameters()
        if name not in named:
            raise KeyError(f"No parameter named {name!r}. This model has {list(named)}.")
        return named[name]

    @property
    def n_parameters(self) -> int:
        """The number of trainable numbers."""
        return int(self._grads.size)

    def get_weights(self) -> np.ndarray:
        """A copy of every parameter and then every buffer, flattened in order into one vector."""
        return self._values.copy()

    def set_weights(self, weights: np.ndarray) -> None:
        """Overwrite every parameter and buffer from a vector returned by `get_weights`."""
        weights = np.asarray(weights)
        if weights.shape != self._values.shape:
            raise ShapeError(
                f"set_weights expects a vector of {self._values.size} numbers, got shape "
                f"{weights.shape}."
            )
        self._values[...] = weights

    # ------------------------------------------------------------------ checking data

    def check_inputs(self, X: Any, name: str = "X") -> np.ndarray:
        """``X`` as a float batch ``(n, *input_shape)`` in the model's dtype, or a clear error."""
        return check_inputs(X, self.input_shape, self.dtype, name)

    def check_targets(self, y: Any, n_samples: int, name: str = "y") -> np.ndarray:
        """Targets that fit the model's outputs, or a clear error (see `checks.check_targets`)."""
        return check_targets(y, n_samples, self.output, self.n_outputs, self.dtype, name)

    # ------------------------------------------------------------------ prediction

    def predict_proba(self, X: Any, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities.

        Returns
        -------
        ndarray, shape (n, n_classes) for softmax; (n, 2) for one sigmoid output, columns
        P(0) and P(1); (n, n_outputs) independent probabilities for several sigmoid outputs.
        """
        probabilities = self._one_call_proba(X)
        if probabilities is not None:
            return probabilities
        if self.output == "identity":
            raise TypeError("This is a regression model (output='identity'): use predict().")
        X = self.check_inputs(X)
        if len(X) <= LEAN_MAX_SAMPLES and self.output == "softmax" and self._lean():
            return self.lean_proba(X)
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
        X = self.check_inputs(X)
        out = self._raw_outputs(X, batch_size)
        if self.output == "softmax":
            return out.argmax(axis=1)
        if self.output == "sigmoid":
            labels = (out > 0).astype(np.int64)  # σ(z) > ½ ⇔ z > 0
            return labels[:, 0] if self.n_outputs == 1 else labels
        return out[:, 0] if self.n_outputs == 1 else out

    def lean_proba(self, X: np.ndarray) -> np.ndarray:
        """Softmax probabilities of a few checked samples, the forward pass written out.

        For networks of Dense layers and elementwise activations: z = x·W + b, then a = f(z),
        layer after layer, then the softmax. It skips what a one-sample call pays for and does
        not need: the per-layer input checks and the activations cached for backward. On the
        NumPy path (``kernel="numpy"``, or no numba) these are the numbers of ``forward`` and
        the softmax, bit for bit. On the numba path (`glassnet.kernels.forward`) the whole pass
        is one compiled call; it agrees with ``forward`` to float rounding (float32: within
        1e-6 of each probability), and `trace` shows its numbers exactly.

        Shapes
        ------
        X : (n, n_inputs), already checked (`check_inputs`) → (n, n_classes)
        """
        if self._compiled_fits(len(X)):
            n, k = len(X), self.n_outputs
            return self._compiled_steps(X)[n * (self._lean_total - k) :].reshape(n, k)
        a = X
        for layer in self.layers:
            if type(layer) is Dense:
                a = a.dot(layer.W.value)
                if layer.b is not None:
                    a += layer.b.value
            else:
                a = layer.function(a)  # type: ignore[attr-defined]
        return self._output_function(a)

    def _one_call_proba(self, X: Any) -> np.ndarray | None:
        """`predict_proba` of a few samples as one compiled call, or None to take the checked path.

        A one-sample prediction on the seed network costs a few microseconds of arithmetic and
        as much again of checks and calls around it. When ``X`` is already what `check_inputs`
        would return (a C-contiguous ndarray of the model's dtype, ``(n, *input_shape)`` with
        1 ≤ n ≤ `LEAN_MAX_SAMPLES`, or one sample of ``input_shape``) and the compiled lean path
        applies, `glassnet.kernels.forward.chain_proba` checks that X is finite and computes the
        probabilities in one call, into an array allocated here. Anything else, including a NaN
        or an infinity in X, returns None: the checked path then computes the same numbers or
        raises its usual error.
        """
        # NOTE: no compiled plan yet (the first call builds it in `_lean`) or the NumPy path:
        # return before any other work, so that path pays one attribute look-up for this.
        if self._lean_layout is None:
            return None
        if not (type(X) is np.ndarray and X.dtype == self.dtype and X.flags.c_contiguous):
            return None
        if X.shape == self.input_shape and X.ndim == 1:
            X = X.reshape(1, -1)  # one sample, as check_inputs makes it a batch of one
        elif X.shape[1:] != self.input_shape or not 0 < len(X) <= LEAN_MAX_SAMPLES:
            return None
        n = len(X)
        if self.output != "softmax" or not self._lean() or not self._compiled_fits(n):
            return None
        probabilities = np.empty((n, self.n_outputs), self.dtype)
        chain = kernels.compiled_forward().chain_proba
        if not chain(X, self._values, self._lean_layout, self._lean_total, probabilities):
            return None  # a NaN or an infinity in X: check_inputs names it
        return probabilities

    def forward_steps(self, X: Any) -> tuple[list[np.ndarray], np.ndarray]:
        """Every layer's output and the model's predictions, computed as `predict_proba` does.

        What `glassnet.inspect.trace` shows: on the compiled lean path (see `lean_proba`) the
        numbers of that one compiled call, otherwise each layer's ``forward``.

        Returns
        -------
        outputs : list of ndarray
            ``outputs[i]`` is layer i's output, shape (n, *shape_after(i + 1)).
        predictions : ndarray
            The output activation of the last one: probabilities (softmax, sigmoid) or values.
        """
        X = self.check_inputs(X)
        n = len(X)
        if (
            n <= LEAN_MAX_SAMPLES
            and self.output == "softmax"
            and self._lean()
            and self._compiled_fits(n)
        ):
            steps = self._compiled_steps(X)
            layout = np.asarray(self._lean_layout).tolist()
            outputs = [  # row: kind, n_in, n_out, W, b, source, target (see kernels.forward)
                steps[n * row[6] : n * (row[6] + row[2])].reshape(n, row[2]) for row in layout
            ]
            k = self.n_outputs
            return outputs, steps[n * (self._lean_total - k) :].reshape(n, k)
        outputs = []
        for layer in self.layers:
            X = layer.forward(X)
            outputs.append(X)
        return outputs, self._output_function(X)

    def _lean(self) -> bool:
        """Can `lean_proba` run this network? Only Dense layers and elementwise activations.

        Also (re)builds the compiled path's layout when the layers, the packed parameters or
        the ``kernel`` choice changed.
        """
        key = (id(self.layers), len(self.layers), id(self._values), self.kernel)
        if self.__dict__.get("_lean_key") != key:
            self._lean_ok = all(
                (type(layer) is Dense and layer.dtype == self.dtype)
                or type(layer) in _LEAN_ACTIVATIONS
                for layer in self.layers
            )
            compiled = self._lean_ok and kernels.resolve(self.kernel) == "numba"
            self._lean_layout, self._lean_total, self._lean_macs = (
                self._compiled_layout() if compiled else (None, 0, 0)
            )
            self._lean_key = key
        return self._lean_ok

    def _compiled_fits(self, n: int) -> bool:
        """Take the compiled lean path for ``n`` samples? (after `_lean` returned True)"""
        return self._lean_layout is not None and n * self._lean_macs <= COMPILED_MAX_MACS

    def _compiled_steps(self, X: np.ndarray) -> np.ndarray:
        """The flat buffer of `glassnet.kernels.forward.chain_forward` for checked inputs."""
        if not X.flags.c_contiguous:
            X = np.ascontiguousarray(X)
        chain = kernels.compiled_forward().chain_forward
        return chain(X, self._values, self._lean_layout, self._lean_total)

    def _compiled_layout(self) -> tuple[np.ndarray | None, int, int]:
        """The layout rows of `glassnet.kernels.forward` for this network, its outputs per
        sample and its multiply-adds per sample; (None, 0, 0) where the kernel does not apply."""
        return fused.chain_layout(self.layers, self._values, self.input_shape, self.dtype)

    def _raw_outputs(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        if len(X) <= batch_size:
            return self.forward(X)
        return np.concatenate(
            [self.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
        )

    def evaluate(
        self, X: Any, y: Any, batch_size: int = 8192, loss: Loss | str | None = None
    ) -> dict[str, float]:
        """The loss and metrics on a data set.

        Returns
        -------
        dict: ``{"loss", "accuracy"}`` for classification; ``{"loss", "mse", "mae", "r2"}`` for
        regression.
        """
        X = self.check_inputs(X)
        y = self.check_targets(y, len(X))
        loss_fn = self.resolve_loss(loss)
        total, correct = 0.0, 0
        outputs = []
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            out = self.forward(xb)
            total += loss_fn.value(out, yb) * len(xb)
            if self.output == "identity":
                outputs.append(out)
            else:
                correct += loop.count_correct(self.output, out, yb)
        result = {"loss": total / len(X)}
        if self.output == "identity":
            pred = np.concatenate(outputs)
            result["mse"] = metrics.mean_squared_error(y, pred)
            result["mae"] = metrics.mean_absolute_error(y, pred)
            result["r2"] = metrics.r2_score(y, pred)
        else:
            result["accuracy"] = correct / (len(X) * loop.label_width(self.output, y))
        return result

    # ------------------------------------------------------------------ training

    def resolve_loss(self, loss: Loss | str | None) -> Loss:
        """The loss to train with: ``loss`` (a name or a Loss) or the one paired with the output."""
        loss_fn = losses.FOR_OUTPUT[self.output]() if loss is None else losses.get(loss)
        if loss_fn.output != self.output:
            raise ValueError(
                f"{type(loss_fn).__name__} applies a {loss_fn.output} output, but the model's "
                f"output is {self.output!r}. Use {losses.FOR_OUTPUT[self.output].__name__} or "
                "build the model with a matching output."
            )
        return loss_fn

    def resolve_optimizer(self, optimizer: Any, learning_rate: Any) -> Optimizer:
        """The optimizer to train with: given, the previous fit's, or a new one by name."""
        if isinstance(optimizer, Optimizer):
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
        communicator : Communicator, optional
            Data-parallel training: e.g. `glassnet.distributed.MPICommunicator` under
            ``mpiexec -n N``. Every rank gives the same X, y and settings; each computes the
            gradient of its share of every global batch of ``batch_size`` samples, and one
            Allreduce averages them, so the weights stay identical on all ranks.
        sample_weight : array-like, shape (n_samples,), optional
            Weights ≥ 0 of the samples in the loss, L = Σ w_i·ℓ_i / Σ w_i per batch (a weight of 2
            counts a sample twice, 0 leaves it out). The validation loss stays unweighted.
        class_weight : "balanced" or dict, optional
            Weights per class id, multiplied into ``sample_weight``: ``{1: 5.0}``, or "balanced"
            for n / (n_classes · n_c), scikit-learn's rule (softmax or one sigmoid output).
        kernel : {"auto", "numpy", "numba"}, optional
            How the hot elementwise work runs (the loss gradient, activations, and the update of
            an optimizer fit builds by name): NumPy, or compiled numba kernels (the ``fast``
            extra); "auto": numba when installed. Default: each keeps its own ``kernel``
            ("auto" unless set), and the step runs layer by layer. Given and resolving to numba,
            a small chain of Dense layers and elementwise activations trains each batch in one
            compiled call where `glassnet.train.fused.blocker` allows it. Same seed →
            bit-identical weights on each path; the paths agree to float rounding.
        threads : int
            Split every batch into this many shares, each trained by its own thread on a copy
            of the model that shares its weights; the gradients are averaged and the optimizer
            steps once (`glassnet.train.threads`; BLAS is held to one thread per share while
            fit runs). Pays where one thread leaves cores idle, as CNNs on the compiled kernels
            do. Same seed and threads → bit-identical weights; another count agrees to float
            rounding. Default 1: the step as written, one layer after another.

        Returns
        -------
        History
            The per-epoch logs. Training stops early with the weights of the last finite epoch if
            the loss becomes NaN or infinite (raising `TrainingDivergedError`), and cleanly after
            the current batch on Ctrl-C (``history.interrupted``).

        Examples
        --------
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32); y = [0, 1, 1, 0]
        >>> from glassnet import MLP
        >>> model = MLP([2, 8, 2], activation="tanh", seed=0)
        >>> history = model.fit(X, y, epochs=300, batch_size=4, learning_rate=0.05, seed=0)
        >>> model.predict(X)
        array([0, 1, 1, 0])
        """
        return loop.fit(
            self,
            X,
            y,
            epochs,
            batch_size,
            optimizer=optimizer,
            learning_rate=learning_rate,
            loss=loss,
            shuffle=shuffle,
            validation_data=validation_data,
            validation_split=validation_split,
            callbacks=callbacks,
            seed=seed,
            verbose=verbose,
            resume=resume,
            communicator=communicator,
            sample_weight=sample_weight,
            class_weight=class_weight,
            kernel=kernel,
            threads=threads,
        )

    def training_state(self) -> TrainingState:
        """A snapshot of the fit in progress (for checkpoints): position, RNG state, history.

        Together with `get_weights` and the optimizer's `state_dict`, it lets ``fit(...,
        resume=state)`` continue exactly where this fit is. Only valid during `fit` (callbacks).
        """
        if self.current_fit is None:
            raise RuntimeError("training_state() is only available while fit() is running.")
        return self.current_fit.snapshot()

    # ------------------------------------------------------------------ looking inside
    # NOTE: trace, neuron, explain_gradient and save are conveniences for the functions of
    # glassnet.inspect and glassnet.io, which sit above the core; each imports its module when
    # first called.

    def trace(self, x: Any):
        """Every neuron's inputs, weights, bias, weighted sum and activation for one input.

        See `glassnet.inspect.trace`.
        """
        from .. import inspect

        return inspect.trace(self, x)

    def neuron(self, layer: int | str, index: int, x: Any = None):
        """One neuron's weights and bias, and, given an input ``x``, its z and a.

        See `glassnet.inspect.neuron`.
        """
        from .. import inspect

        return inspect.neuron(self, layer, index, x)

    def explain_gradient(
        self, parameter: str, index: Any, x: Any, label: Any, loss: Loss | str | None = None
    ):
        """The chain rule behind ∂L/∂θ for one parameter entry and one labelled example, with its
        numbers and a finite-difference check, e.g. ``explain_gradient("dense_1.W", (i, j), x,
        label)``.

        See `glassnet.inspect.explain_gradient`.
        """
        from .. import inspect

        return inspect.explain_gradient(self, parameter, index, x, label, loss)

    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts."""
        rows = [("#", "layer", "type", "output shape", "parameters")]
        shape = self.input_shape
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape(shape)
            state = layer.parameters() + layer.buffers()
            shapes = " + ".join("×".join(map(str, p.shape)) for p in state)
            count = sum(p.size for p in layer.parameters())
            rows.append(
                (
                    str(i),
                    str(layer.name),
                    type(layer).__name__,
                    "×".join(map(str, shape)),
                    f"{count:,}" + (f"  ({shapes})" if shapes else ""),
                )
            )
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        lines = [
            "  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row[:4])) + "  " + row[4]
            for row in rows
        ]
        sizes = ["×".join(map(str, self.input_shape))] + [str(n) for n in _dense_sizes(self.layers)]
        title = f"Sequential {'-'.join(sizes)}, output {self.output}, {self.dtype}"
        total = f"Total parameters: {self.n_parameters:,}"
        rule = "─" * max(len(line) for line in lines)
        return "\n".join([title, rule, lines[0], rule, *lines[1:], rule, total])

    def save(self, path: str) -> None:
        """Save architecture and weights to a file (see `glassnet.io.save`)."""
        from .. import io

        io.save(self, path)

    # ------------------------------------------------------------------ configuration

    def get_config(self) -> dict[str, Any]:
        """The architecture as plain JSON-ready data (layer types and constructor arguments)."""
        return {
            "output": self.output,
            "dtype": str(self.dtype),
            "seed": self.seed,
            "input_shape": list(self.input_shape),
            "layers": [
                {"type": type(layer).__name__, "name": layer.name, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], output={self.output!r})"


# elementwise activations: f(z) row by row is f of the batch (not Softmax in the middle)
_LEAN_ACTIVATIONS = tuple(
    cls for name, cls in activations.ACTIVATIONS.items() if name not in ("softmax",)
)


def _by_name(items: list[Any], what: str) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for item in items:
        if item.name in named:
            raise ValueError(
                f"Two {what}s are named {item.name!r}: a layer must give each of its {what}s its "
                "own name, or a model file would lose one of them."
            )
        named[item.name] = item
    return named


def _dense_sizes(layers: list[Layer]) -> list[int]:
    """The neuron counts of the layers that have them (Dense), for the summary's title."""
    return [n for layer in layers if (n := getattr(layer, "n_neurons", None)) is not None]
