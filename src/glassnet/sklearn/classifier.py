"""`MLPClassifier`: softmax (or per-label sigmoid) outputs trained on cross-entropy."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from .base import BaseMLP

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier trained by mini-batch gradient descent in glassnet.

    p = softmax(Dense(… act(Dense(x)) …)), trained on the cross-entropy of p; one sigmoid output
    per label, trained on binary cross-entropy, for multilabel targets (a 0/1 indicator matrix).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Neurons per hidden layer; ``()`` for none (multinomial logistic regression).
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
        Hold out ``validation_fraction`` of the training data (stratified when every class has
        two samples), stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the weights of the best epoch.
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
        classes) instead of building a new one.
    class_weight : "balanced", dict or None, default=None
        Weights of the classes in the loss, ``{label: weight}``, or "balanced" for
        n_samples / (n_classes · n_c) (scikit-learn's rule), multiplied into ``sample_weight``.
    dtype : {None, "float32", "float64"}, default=None
        The network's float type. None follows X as scikit-learn's MLP does: float32 X gives a
        float32 network, any other X a float64 one. Later inputs are converted to it.
        Probabilities come back in the precision of the X given to `predict_proba` (float64
        unless X is float32).

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels; output neuron *j* is ``classes_[j]``. For multilabel targets,
        ``arange(n_labels)``.
    model_ : glassnet.Sequential
        The trained network (its optimizer is ``model_.optimizer``).
    n_features_in_ : int
        The number of input features seen in `fit`.
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        The column names, when `fit` got a DataFrame with string column names.
    n_outputs_ : int
        Output neurons (classes, or labels for multilabel targets).
    out_activation_ : {"softmax", "sigmoid"}
        The output activation.
    loss_curve_ : list of float
        The mean training loss of every epoch run (across `partial_fit` calls).
    history_ : glassnet.History
        The logs of the last `fit` or `partial_fit` call (``"loss"``, ``"accuracy"``, and
        ``"val_loss"``, ``"val_accuracy"`` with early stopping).
    n_iter_ : int
        Epochs run by `fit` (plus one per later `partial_fit` call).

    Shapes
    ------
    X : (n_samples, n_features) → predict: (n_samples,) labels, or (n_samples, n_labels) 0/1 for
    multilabel; predict_proba: (n_samples, n_classes).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_digits(return_X_y=True)
    >>> net = MLPClassifier((32,), learning_rate=0.01, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), net).fit(X[::2], y[::2])
    >>> clf.score(X[1::2], y[1::2]) > 0.9
    True
    >>> clf[-1].model_.summary().splitlines()[0]
    'Sequential 64-32-10, output softmax, float64'
    """

    _y_numeric = False

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        weight_init: str | None = None,
        optimizer: str = "adam",
        learning_rate: Any = 0.001,
        max_iter: int = 200,
        batch_size: Any = "auto",
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        shuffle: bool = True,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
        class_weight: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            weight_init=weight_init,
            optimizer=optimizer,
            learning_rate=learning_rate,
            max_iter=max_iter,
            batch_size=batch_size,
            weight_decay=weight_decay,
            momentum=momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            shuffle=shuffle,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            dtype=dtype,
        )
        self.class_weight = class_weight

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """Train for one epoch on (X, y), continuing from the current network.

        The first call builds the network and needs ``classes``, every label of the whole
        problem (the first batch may not hold them all). Early stopping does not apply.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,), or (n_samples, n_labels) 0/1 for multilabel
        classes : array-like, shape (n_classes,)
            Required on the first call; if given later it must equal ``classes_``.
        sample_weight : array-like, shape (n_samples,), optional
            Weights ≥ 0 of the samples in the loss (see `fit`).

        Returns
        -------
        self
        """
        if classes is None and not hasattr(self, "model_"):
            raise ValueError(
                "The first call of partial_fit needs classes=, every label of the whole problem "
                "(the first batch may not hold them all), e.g. classes=np.unique(y_all)."
            )
        return self._partial_fit(X, y, classes, sample_weight)

    def _class_weight(self) -> Any:
        """``class_weight`` with the labels of ``classes_`` turned into the network's class ids."""
        weights = self.class_weight
        if weights is None or (isinstance(weights, str) and weights == "balanced"):
            return weights
        if not isinstance(weights, dict):
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got "
                f"class_weight={weights!r}."
            )
        if self._multilabel:
            raise ValueError("class_weight is not supported for multilabel targets.")
        unknown = [label for label in weights if label not in self.classes_]
        if unknown:
            raise ValueError(
                f"class_weight has labels {unknown!r} that are not in classes_={self.classes_!r}."
            )
        return {int(np.searchsorted(self.classes_, label)): w for label, w in weights.items()}

    def _encode_targets(
        self, y: np.ndarray, reset: bool, classes: Any
    ) -> tuple[np.ndarray, str, int]:
        """Class ids 0 … n_classes − 1 in the order of ``classes_`` (or the 0/1 label matrix)."""
        check_classification_targets(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        target_type = type_of_target(y)
        multilabel = target_type == "multilabel-indicator"
        if y.ndim == 2 and not multilabel:
            raise ValueError(
                f"{type(self).__name__} takes one label per sample, or a 0/1 indicator matrix "
                f"for multilabel problems, got y of type {target_type!r} with shape {y.shape}. "
                "For several multiclass targets, wrap it in sklearn.multioutput."
                "MultiOutputClassifier."
            )
        if reset:
            if multilabel:
                labels = np.arange(y.shape[1])
                if classes is not None and len(unique_labels(classes)) != y.shape[1]:
                    raise ValueError(
                        f"classes={classes!r} does not have one entry per column of the "
                        f"multilabel y, which has {y.shape[1]} columns."
                    )
            else:
                labels = unique_labels(y if classes is None else classes)
                if classes is not None and not np.isin(y, labels).all():
                    raise ValueError(
                        f"y has labels {np.setdiff1d(y, labels)!r} that are not in "
                        f"classes={labels!r}."
                    )
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes to learn to "
                    f"tell them apart, got 1 class: {labels!r}."
                )
            self.classes_ = labels
            self._multilabel = multilabel
            self.out_activation_ = "sigmoid" if multilabel else "softmax"
            self.n_outputs_ = len(labels)
        else:
            if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call of partial_fit, "
                    f"which set classes_={self.classes_!r}."
                )
            if multilabel != self._multilabel or (multilabel and y.shape[1] != self.n_outputs_):
                raise ValueError(
                    f"y must have the kind of targets the network was built for: "
                    f"{'multilabel' if self._multilabel else 'class labels'} with "
                    f"{self.n_outputs_} classes."
                )
        if multilabel:
            return y, self.out_activation_, self.n_outputs_
        known = np.isin(y, self.classes_)
        if not known.all():
            raise ValueError(
                f"y has labels {np.unique(y[~known])!r} that are not in classes_="
                f"{self.classes_!r}. Pass every label in classes= on the first partial_fit call."
            )
        return np.searchsorted(self.classes_, y), self.out_activation_, self.n_outputs_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, in the order of ``classes_``.

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
            Rows sum to 1 (softmax); for multilabel targets, each label's own probability.
        """
        X = self._checked_inputs(X)
        return self.model_.predict_proba(X).astype(X.dtype, copy=False)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of `predict_proba` (−inf where a probability underflows to 0).

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (each probable label for multilabel targets).

        Returns
        -------
        ndarray, shape (n_samples,) of labels from ``classes_``; (n_samples, n_labels) of 0/1
        for multilabel targets.
        """
        probabilities = self.predict_proba(X)
        if self._multilabel:
            return (probabilities > 0.5).astype(np.int64)
        # From the probabilities, not the logits, so that predict always agrees with
        # predict_proba even where float rounding ties two probabilities.
        return self.classes_[probabilities.argmax(axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
