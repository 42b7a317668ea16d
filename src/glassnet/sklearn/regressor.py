"""`MLPRegressor`: identity outputs trained on the mean squared error."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from .base import BaseMLP

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor trained by mini-batch gradient descent in glassnet.

    ŷ = Dense(… act(Dense(x)) …) with no output activation, trained on the mean squared error.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Neurons per hidden layer; ``()`` for none (linear regression).
    activation : {"relu", "tanh", "sigmoid", "logistic", "leaky_relu", "identity"}, default="relu"
        The hidden layers' activation ("logistic" is scikit-learn's name for "sigmoid").
    weight_init : str, optional
        The initial weights (see `glassnet.initializers`): "he_normal", "he_uniform",
        "glorot_uniform", "glorot_normal". Default: "he_normal" for the ReLU family,
        "glorot_uniform" otherwise (scikit-learn uses a Glorot-uniform rule for all).
    optimizer : {"adam", "sgd", "adamw", "rmsprop"}, default="adam"
        The glassnet optimizer (see `glassnet.optimizers`).
    learning_rate : float or schedule, default=0.001
        The step size, or a `glassnet.schedules` schedule of the step count.
    max_iter : int, default=200
        The most epochs (passes over the data) `fit` runs.
    batch_size : int or "auto", default="auto"
        Samples per gradient step; "auto" is ``min(200, n_samples)``.
    weight_decay : float, default=0.0
        λ added as λ·w to the gradient of every weight and bias (L2 regularisation; decoupled for
        "adamw"). scikit-learn's ``alpha`` ≈ λ · batch size.
    momentum : float, default=0.9
        Momentum of the "sgd" optimizer (ignored by the others).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when the validation loss has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the weights of the best
        epoch.
    validation_fraction : float, default=0.1
        The held-out fraction when ``early_stopping`` is on.
    n_iter_no_change : int, default=10
        Epochs without improvement of the monitored loss (the training loss, or the validation
        loss with ``early_stopping``) before training stops.
    tol : float, default=1e-4
        The smallest decrease of the monitored loss that counts as an improvement.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the shuffling and the validation split. An int makes `fit`
        reproducible (with the same BLAS thread count).
    verbose : int, default=0
        1 prints a line per epoch.
    warm_start : bool, default=False
        When True, `fit` continues from the network of the previous call (same features and
        targets) instead of building a new one.
    dtype : {None, "float32", "float64"}, default=None
        The network's float type. None follows X as scikit-learn's MLP does: float32 X gives a
        float32 network, any other X a float64 one. Later inputs are converted to it.
        Predictions come back in the precision of the X given to `predict` (float64 unless X is
        float32).

    Attributes
    ----------
    model_ : glassnet.Sequential
        The trained network (its optimizer is ``model_.optimizer``).
    n_features_in_ : int
        The number of input features seen in `fit`.
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        The column names, when `fit` got a DataFrame with string column names.
    n_outputs_ : int
        The number of targets (output neurons).
    out_activation_ : "identity"
        The output activation.
    loss_curve_ : list of float
        The mean training loss (mean squared error) of every epoch run.
    history_ : glassnet.History
        The logs of the last `fit` or `partial_fit` call (``"loss"``, and ``"val_loss"``,
        ``"val_r2"``... with early stopping).
    n_iter_ : int
        Epochs run by `fit` (plus one per later `partial_fit` call).

    Shapes
    ------
    X : (n_samples, n_features) → predict: the shape of the training y, (n_samples,) or
    (n_samples, n_outputs).

    Examples
    --------
    >>> X = np.linspace(-1, 1, 200)[:, None]; y = X.ravel() ** 2
    >>> reg = MLPRegressor((16,), learning_rate=0.01, max_iter=300, random_state=0).fit(X, y)
    >>> round(reg.score(X, y), 2) > 0.95
    True
    """

    _y_numeric = True

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train for one epoch on (X, y), continuing from the current network.

        The first call builds the network. Early stopping does not apply.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like, shape (n_samples,), optional
            Weights ≥ 0 of the samples in the loss (see `fit`).

        Returns
        -------
        self
        """
        return self._partial_fit(X, y, sample_weight=sample_weight)

    def _encode_targets(
        self, y: np.ndarray, reset: bool, classes: Any
    ) -> tuple[np.ndarray, str, int]:
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if reset:
            self.n_outputs_ = n_outputs
            self.out_activation_ = "identity"
            self._y_ndim = y.ndim
        elif n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} target columns, but the network was built for "
                f"{self.n_outputs_}. Give partial_fit the same targets as before."
            )
        return y, "identity", n_outputs

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets.

        Returns
        -------
        ndarray, shape (n_samples,) or (n_samples, n_outputs), like the training y
        """
        X = self._checked_inputs(X)
        values = self.model_.predict(X).astype(X.dtype, copy=False)
        return values[:, None] if self._y_ndim == 2 and values.ndim == 1 else values

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
