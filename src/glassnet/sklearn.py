"""scikit-learn estimators backed by a glassnet network: `MLPClassifier` and `MLPRegressor`.

They follow scikit-learn's estimator contract (``fit``/``predict``/``score``, ``get_params``/
``set_params``, `sklearn.base.clone`, ``partial_fit``, ``n_features_in_``/``feature_names_in_``), so
they work in a `~sklearn.pipeline.Pipeline`, in `~sklearn.model_selection.GridSearchCV` and with
`~sklearn.model_selection.cross_val_score`. The trained network is ``model_``, an ordinary
`glassnet.Sequential` to inspect (``model_.summary()``, ``model_.trace(x)``,
``model_.neuron(...)``).

This module needs scikit-learn (``pip install "glassnet[sklearn]"``) and is only imported on
request: ``import glassnet`` does not import it.

>>> from sklearn.datasets import load_iris
>>> from glassnet.sklearn import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier((16,), learning_rate=0.01, batch_size=10, random_state=0).fit(X, y)
>>> clf.classes_, clf.model_.n_parameters, clf.score(X, y) > 0.9
(array([0, 1, 2]), 131, True)

Differences from scikit-learn's own `~sklearn.neural_network.MLPClassifier`, by name:

- ``optimizer`` ("adam", "sgd", "adamw", "rmsprop") replaces ``solver`` (no "lbfgs");
- ``learning_rate`` is the step size (scikit-learn's ``learning_rate_init``), a number or a
  `glassnet.schedules` schedule of the step count;
- ``weight_decay`` λ adds λ·w to the gradient of the mean batch loss, for every weight and bias
  (the optimizer's own ``weight_decay``; decoupled for "adamw"). scikit-learn's ``alpha`` penalises
  weights only and is divided by the batch size: ``alpha`` ≈ λ · batch size;
- ``early_stopping`` monitors the validation *loss* (scikit-learn: the validation score) and keeps
  the weights of the best epoch;
- the losses are glassnet's: cross-entropy, and the plain mean squared error (scikit-learn's half
  of it) for regression;
- weights start He-normal for the ReLU family and Glorot-uniform otherwise (``weight_init``), and
  the network computes in float32 by default (``dtype``).
"""

from __future__ import annotations

import copy
import numbers
import warnings
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "glassnet.sklearn needs scikit-learn >= 1.6, which is not installed (or too old): "
        f"{error}. Install it with: pip install 'glassnet[sklearn]'."
    ) from error

from . import optimizers
from .models import MLP, Sequential, from_config
from .train.callbacks import EarlyStopping

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names that glassnet spells differently.
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, building, training, pickling.

    Subclasses define ``_encode_targets(y, reset, classes)``, which checks the targets and
    returns them in the network's terms with the output activation and the number of outputs.
    """

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
        dtype: Any = "float32",
    ) -> None:
        # NOTE: scikit-learn's contract: store the arguments unchanged, check them in fit.
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.weight_init = weight_init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype

    # ------------------------------------------------------------------ training

    def fit(self, X: Any, y: Any) -> Any:
        """Train a new network on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        self._check_params()
        X, y = self._validate(X, y, reset=True)
        y, output, n_outputs = self._encode_targets(y, reset=True, classes=None)
        rng = check_random_state(self.random_state)
        init_seed, train_seed, split_seed = (int(s) for s in rng.randint(2**31 - 1, size=3))
        self._build(n_outputs, output, init_seed, train_seed)

        validation_data = None
        if self.early_stopping:
            X, X_val, y, y_val = self._split(X, y, split_seed)
            validation_data = (X_val, y_val)
            # Keep the weights of the epoch with the lowest validation loss.
            stopper = EarlyStopping("val_loss", self.n_iter_no_change, self.tol, mode="min")
        else:
            # Converged when the training loss has not improved by tol for n_iter_no_change epochs.
            stopper = EarlyStopping(
                "loss", self.n_iter_no_change, self.tol, mode="min", restore_best_weights=False
            )
        history = self.model_.fit(
            X,
            y,
            epochs=self.max_iter,
            batch_size=self._batch_size(len(X)),
            optimizer=self.model_.optimizer,
            shuffle=self.shuffle,
            validation_data=validation_data,
            callbacks=[stopper],
            seed=train_seed,
            verbose=int(bool(self.verbose)),
        )
        self.history_ = history
        self.loss_curve_ = list(history.history.get("loss", []))
        self.n_iter_ = len(history.epoch)
        if not history.stopped_early and not history.interrupted:
            warnings.warn(
                f"{type(self).__name__} reached max_iter={self.max_iter} epochs before the "
                f"{'validation' if self.early_stopping else 'training'} loss stopped improving "
                f"(by tol={self.tol} for n_iter_no_change={self.n_iter_no_change} epochs). "
                "Increase max_iter or the learning rate, or scale the inputs.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> Any:
        first_call = not hasattr(self, "model_")
        if first_call:
            self._check_params()
        X, y = self._validate(X, y, reset=first_call)
        y, output, n_outputs = self._encode_targets(y, reset=first_call, classes=classes)
        if first_call:
            rng = check_random_state(self.random_state)
            init_seed, train_seed = (int(s) for s in rng.randint(2**31 - 1, size=2))
            self._build(n_outputs, output, init_seed, train_seed)
            self.loss_curve_ = []
            self.n_iter_ = 0
        # A fresh seed per call from the estimator's own generator: each call shuffles differently
        # and the sequence of calls is reproducible from random_state.
        seed = int(self._train_rng.integers(2**31 - 1))
        history = self.model_.fit(
            X,
            y,
            epochs=1,
            batch_size=self._batch_size(len(X)),
            optimizer=self.model_.optimizer,
            shuffle=self.shuffle,
            seed=seed,
            verbose=int(bool(self.verbose)),
        )
        self.history_ = history
        self.loss_curve_ = [*self.loss_curve_, *history.history.get("loss", [])]
        self.n_iter_ += len(history.epoch)
        return self

    def _check_params(self) -> None:
        """Check the hyperparameters that the network does not check itself."""
        self._hidden_sizes()
        if not isinstance(self.activation, str):
            raise TypeError(
                f"activation must be a name such as 'relu', got activation={self.activation!r}."
            )
        self._dtype()
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {name}={value!r}.")
        batch = self.batch_size
        if batch != "auto" and (
            isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or batch < 1
        ):
            raise ValueError(
                f"batch_size must be 'auto' or a whole number >= 1, got batch_size={batch!r}."
            )
        tol = self.tol
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"tol must be a real number >= 0, got tol={tol!r}.")
        if self.early_stopping:
            fraction = self.validation_fraction
            if (
                isinstance(fraction, bool)
                or not isinstance(fraction, numbers.Real)
                or not 0 < fraction < 1
            ):
                raise ValueError(
                    "validation_fraction must be a number strictly between 0 and 1, got "
                    f"validation_fraction={fraction!r}."
                )

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
            raise ValueError(
                "hidden_layer_sizes must hold whole numbers >= 1 (neurons per hidden layer), "
                f"got hidden_layer_sizes={self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    def _dtype(self) -> np.dtype:
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be float32 or float64, got dtype={self.dtype!r}.")
        return dtype

    def _batch_size(self, n_samples: int) -> int:
        # "auto" is scikit-learn's min(200, n_samples); a batch larger than the data is one batch.
        size = 200 if self.batch_size == "auto" else int(self.batch_size)
        return min(size, n_samples)

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        dtype = np.dtype(self.model_.dtype) if not reset else self._dtype()
        return validate_data(
            self, X, y, reset=reset, dtype=dtype, multi_output=True, y_numeric=self._y_numeric
        )

    def _build(self, n_outputs: int, output: str, init_seed: int, train_seed: int) -> None:
        """A new network and its optimizer: the only place where they are created."""
        activation = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        sizes = [self.n_features_in_, *self._hidden_sizes(), n_outputs]
        model = MLP(
            sizes,
            activation,
            output,
            weight_init=self.weight_init,
            seed=init_seed,
            dtype=self._dtype(),
        )
        name = self.optimizer.lower() if isinstance(self.optimizer, str) else self.optimizer
        options: dict[str, Any] = {"learning_rate": self.learning_rate}
        if name == "sgd":
            options["momentum"] = self.momentum
        if self.weight_decay:
            options["weight_decay"] = self.weight_decay
        model.optimizer = optimizers.get(name, model.parameters(), **options)
        self.model_ = model
        self._optimizer_options = (name, options)
        self._train_rng = np.random.default_rng(train_seed)

    def _split(
        self, X: np.ndarray, y: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hold out validation_fraction of the samples (stratified by class when possible)."""
        stratify = None
        if y.ndim == 1 and self._y_numeric is False:
            counts = np.bincount(y)
            n_val = int(np.ceil(self.validation_fraction * len(y)))
            if counts[counts > 0].min() >= 2 and n_val >= np.count_nonzero(counts):
                stratify = y
        try:
            return train_test_split(
                X, y, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        except ValueError as error:
            raise ValueError(
                f"early_stopping=True cannot hold out validation_fraction="
                f"{self.validation_fraction} of {len(X)} samples: {error}"
            ) from error

    # ------------------------------------------------------------------ prediction

    def _checked_inputs(self, X: Any) -> np.ndarray:
        """X as a float64 or float32 array, once the estimator is fitted and X matches it.

        The network converts X to its own dtype; predictions are returned in X's precision
        (float64 for integer inputs), as scikit-learn's estimators do.
        """
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=(np.float64, np.float32))

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        # NOTE: a Sequential's parameters are views into one packed buffer, and pickle (or
        # deepcopy) would store them as separate arrays: the copy would predict correctly but its
        # optimizer would update a buffer no layer reads. Store the network as its config, its
        # weights and its optimizer state instead, and rebuild it on loading.
        state = super().__getstate__()
        model = state.get("model_")
        if isinstance(model, Sequential):
            state = dict(state)
            state["model_"] = _SavedModel(
                config=model.get_config(),
                weights=model.get_weights(),
                optimizer=None if model.optimizer is None else model.optimizer.state_dict(),
            )
            # The History refers to the network too (history_.model): reconnected on loading.
            history = state.get("history_")
            if history is not None:
                state["history_"] = history = copy.copy(history)
                history.model = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.get("model_")
        if isinstance(saved, _SavedModel):
            state = dict(state)
            state["model_"] = saved.rebuild(*state["_optimizer_options"])
            if state.get("history_") is not None:
                state["history_"].set_model(state["model_"])
        super().__setstate__(state)


class _SavedModel:
    """A picklable record of a network: config, flat weights and optimizer state."""

    def __init__(self, config: dict, weights: np.ndarray, optimizer: dict | None) -> None:
        self.config, self.weights, self.optimizer = config, weights, optimizer

    def rebuild(self, name: str, options: dict[str, Any]) -> Sequential:
        model = from_config(self.config)
        model.set_weights(self.weights)
        model.optimizer = optimizers.get(name, model.parameters(), **options)
        if self.optimizer is not None:
            model.optimizer.load_state_dict(self.optimizer)
        return model


class MLPClassifier(ClassifierMixin, _BaseMLP):
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
    dtype : {"float32", "float64"}, default="float32"
        The network's float type; inputs are converted to it. Probabilities come back in the
        precision of the X given to `predict_proba` (float64 unless X is float32).

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
    'Sequential 64-32-10, output softmax, float32'
    """

    _y_numeric = False

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """Train for one epoch on (X, y), continuing from the current network.

        The first call builds the network and needs ``classes``, every label of the whole
        problem (the first batch may not hold them all). Early stopping does not apply.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,), or (n_samples, n_labels) 0/1 for multilabel
        classes : array-like, shape (n_classes,)
            Required on the first call; if given later it must equal ``classes_``.

        Returns
        -------
        self
        """
        if classes is None and not hasattr(self, "model_"):
            raise ValueError(
                "The first call of partial_fit needs classes=, every label of the whole problem "
                "(the first batch may not hold them all), e.g. classes=np.unique(y_all)."
            )
        return self._partial_fit(X, y, classes)

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


class MLPRegressor(RegressorMixin, _BaseMLP):
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
    dtype : {"float32", "float64"}, default="float32"
        The network's float type; inputs are converted to it. Predictions come back in the
        precision of the X given to `predict` (float64 unless X is float32).

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

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train for one epoch on (X, y), continuing from the current network.

        The first call builds the network. Early stopping does not apply.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._partial_fit(X, y)

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
