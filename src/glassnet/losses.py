"""Losses: how far the network's outputs are from the truth, and the gradient of that distance.

Every loss takes the network's raw outputs (``pred``, the last Dense layer's z) and the targets:

- ``value(pred, target) -> float``: the loss averaged over the batch;
- ``gradient(pred, target) -> ndarray``: dL/dpred, same shape as ``pred``;
- ``value_and_gradient`` returns both, sharing the work (what training calls).

Each loss names the output activation it is paired with (``output``): the function that turns raw
outputs into predictions. Folding that activation into the loss gives the simple, exact gradient
(p − y)/batch and avoids the overflow of exponentials and the log of zero.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError, ShapeError
from .nn.activations import exp_shifted


class Loss:
    """Base class. Subclasses implement ``value_and_gradient``."""

    name = "loss"
    output = "identity"

    def value(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.value_and_gradient(pred, target)[0]

    def gradient(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        return self.value_and_gradient(pred, target)[1]

    def value_and_gradient(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def value_and_gradient_of_valid(
        self, pred: np.ndarray, target: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """`value_and_gradient` for targets already validated (by `fit`, once for all batches).

        Losses whose checks cost a noticeable share of a small training step skip them here.
        """
        return self.value_and_gradient(pred, target)

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.value(pred, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _as_columns(target: np.ndarray, pred: np.ndarray, loss: str) -> np.ndarray:
    """Targets with the shape of ``pred``: a (batch,) vector becomes one column."""
    if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
        target = target[:, None]
    if target.shape != pred.shape:
        raise ShapeError(
            f"{loss} expects targets of shape {pred.shape} (the network's output), got "
            f"{target.shape}. Check that the last layer has one neuron per target column."
        )
    return target.astype(pred.dtype, copy=False)


class MeanSquaredError(Loss):
    """L = mean over all entries of (pred − target)²; dL/dpred = 2(pred − target)/size.

    Paired with the identity output: the loss of regression.

    Shapes
    ------
    pred : (batch, outputs); target : (batch, outputs), or (batch,) for one output.
    """

    name = "mse"
    output = "identity"

    def value_and_gradient(self, pred, target):
        target = _as_columns(target, pred, "MeanSquaredError")
        diff = pred - target  # (batch, outputs)
        loss = float(np.vdot(diff, diff)) / diff.size
        diff *= 2.0 / diff.size
        return loss, diff


class BinaryCrossEntropy(Loss):
    """Sigmoid followed by binary cross-entropy, from logits z and targets y ∈ [0, 1].

    L = mean of −y·log σ(z) − (1 − y)·log(1 − σ(z)) = mean of max(z, 0) − z·y + log(1 + e^(−|z|))
    dL/dz = (σ(z) − y)/size

    The second form of L is the same number but never takes the log of 0 nor overflows exp.

    Shapes
    ------
    pred : (batch, outputs) logits; target : same shape, or (batch,) for one output.
    """

    name = "binary_cross_entropy"
    output = "sigmoid"

    def value_and_gradient(self, pred, target):
        target = _as_columns(target, pred, "BinaryCrossEntropy")
        n = pred.size
        softplus = np.log1p(np.exp(-np.abs(pred)))  # log(1 + e^(−|z|))
        loss = float((np.maximum(pred, 0) - pred * target + softplus).sum()) / n
        grad = np.multiply(pred, 0.5)
        np.tanh(grad, out=grad)  # σ(z) = ½·tanh(z/2) + ½
        grad *= 0.5
        grad += 0.5
        grad -= target
        grad /= n
        return loss, grad


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by categorical cross-entropy, from logits z.

    p = softmax(z);  L = −mean over the batch of log p[true class]
    dL/dz = (p − y_onehot)/batch

    For target rows y (one-hot or probabilities), L = −mean over the batch of Σ_j y_j·log p_j and
    dL/dz = (p·Σ_j y_j − y)/batch, which is (p − y)/batch when each row sums to 1.

    The gradient with respect to z is that simple because the softmax Jacobian and the
    derivative of the log cancel: this is why the two are fused. log p is computed as
    z − c − log Σ e^(z − c) (log-sum-exp) with a shift c ≥ z, which never overflows.

    Targets are integer class ids (batch,) or one-hot / probability rows (batch, classes).

    Shapes
    ------
    pred : (batch, classes) logits; target : (batch,) integers or (batch, classes).
    """

    name = "cross_entropy"
    output = "softmax"

    def __init__(self) -> None:
        self._row_starts = np.zeros(0, dtype=np.intp)

    def value_and_gradient(self, pred, target):
        if target.ndim == 1:
            check_class_ids(target, pred.shape[1])
        return self.value_and_gradient_of_valid(pred, target)

    def value_and_gradient_of_valid(self, pred, target):
        batch, n_classes = pred.shape
        shifted, p, sums = exp_shifted(pred)  # z − c, e^(z − c) (batch, classes), Σ (batch,)
        p /= sums[:, None]
        log_sums = np.log(sums)  # log Σ_j e^(z_j − c), so log p = z − c − log_sums
        if target.ndim == 1:
            # the true class of row i sits at flat index i·classes + target[i]
            true = self._flat_rows(batch, n_classes) + target
            log_p_true = shifted.ravel().take(true) - log_sums  # (batch,)
            loss = -float(np.add.reduce(log_p_true)) / batch
            p.ravel()[true] -= 1.0
        else:
            target = _as_columns(target, pred, "SoftmaxCrossEntropy")
            # L = −Σ_ij y_ij·log p_ij = Σ_i s_i·log_sums_i − ⟨z − c, y⟩ with row weights
            # s_i = Σ_j y_ij, and dL/dz = p·s − y. NOTE: s is 1 for one-hot and probability rows,
            # but dropping it would make the value and gradient of other rows (label weights,
            # unnormalised counts) disagree, and the value depend on the shift c.
            weights = target.dot(np.ones(n_classes, dtype=target.dtype))  # s (batch,)
            loss = float(np.vdot(weights, log_sums) - np.vdot(shifted, target)) / batch
            p *= weights[:, None]
            p -= target
        p *= 1.0 / batch
        return loss, p

    def _flat_rows(self, batch: int, n_classes: int) -> np.ndarray:
        """[0, classes, 2·classes, ...]: the flat index where each row starts (cached)."""
        if len(self._row_starts) != batch or (batch > 1 and self._row_starts[1] != n_classes):
            self._row_starts = np.arange(batch, dtype=np.intp) * n_classes
        return self._row_starts


def check_class_ids(target: np.ndarray, n_classes: int) -> None:
    """Raise unless ``target`` holds whole numbers in [0, n_classes)."""
    if target.dtype.kind not in "iu":
        raise DataError(
            f"Class labels must be integers, got dtype={target.dtype}. "
            "Convert them with labels.astype(int) after checking they are whole numbers."
        )
    # NOTE: seen as unsigned, negative labels become huge, so one max() checks both bounds.
    unsigned = (
        target.view(target.dtype.str.replace("i", "u")) if target.dtype.kind == "i" else target
    )
    if target.size and np.maximum.reduce(unsigned) >= n_classes:
        raise DataError(
            f"Class labels must be in [0, {n_classes - 1}] for a network with {n_classes} "
            f"outputs, got labels from {target.min()} to {target.max()}. "
            "Give the last layer one neuron per class."
        )


LOSSES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "binary_cross_entropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "cross_entropy": SoftmaxCrossEntropy,
    "categorical_cross_entropy": SoftmaxCrossEntropy,
}

FOR_OUTPUT: dict[str, type[Loss]] = {
    "softmax": SoftmaxCrossEntropy,
    "sigmoid": BinaryCrossEntropy,
    "identity": MeanSquaredError,
}


def get(loss: str | Loss) -> Loss:
    """Return a loss for a name such as ``"cross_entropy"`` (or the loss itself)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]()
    raise ValueError(f"Unknown loss {loss!r}. Expected one of {sorted(LOSSES)} or a Loss instance.")
