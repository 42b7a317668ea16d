"""The estimator base shared by `MLPClassifier` and `MLPRegressor`.

Hyperparameters and their checks, building the network and its optimizer, the fit and
partial_fit glue and input validation. Pickling the network is in `.pickling`.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import MLP, EarlyStopping, optimizers
from .pickling import pack_state, unpack_state

# scikit-learn's activation names that glassnet spells differently.
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, building, training, pickling.

    Subclasses define ``_encode_targets(y, reset, classes)``, which checks the targets and
    returns them in the network's terms with the output activation and the number of outputs.
    """

    loss_curve_: list[float]
    n_iter_: int

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
        dtype: Any = None,
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
        self.warm_start = warm_start
        self.dtype = dtype

    # ------------------------------------------------------------------ training

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Train a new network on (X, y) for up to ``max_iter`` epochs.

        With ``warm_start=True``, a later call continues from the network of the previous one
        (same features and targets) instead of building a new one.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like, shape (n_samples,), optional
            Weights ≥ 0 in the loss, L = Σ w_i·ℓ_i / Σ w_i per mini-batch (scikit-learn's rule:
            a weight of 2 counts a sample twice).

        Returns
        -------
        self
        """
        self._check_params()
        warm = bool(self.warm_start) and hasattr(self, "model_")
        X, y = self._validate(X, y, reset=not warm)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        y, output, n_outputs = self._encode_targets(y, reset=not warm, classes=None)
        rng = check_random_state(self.random_state)
        init_seed, train_seed, split_seed = (int(s) for s in rng.randint(2**31 - 1, size=3))
        if not warm:
            self._build(n_outputs, output, init_seed, train_seed, X.dtype)

        validation_data = None
        if self.early_stopping:
            X, X_val, y, y_val, sample_weight = self._split(X, y, split_seed, sample_weight)
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
            sample_weight=sample_weight,
            class_weight=self._class_weight(),
        )
        self.history_ = history
        losses = list(history.history.get("loss", []))
        self.loss_curve_ = [*self.loss_curve_, *losses] if warm else losses
        self.n_iter_ = (self.n_iter_ if warm else 0) + len(history.epoch)
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

    def _partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        first_call = not hasattr(self, "model_")
        if first_call:
            self._check_params()
        X, y = self._validate(X, y, reset=first_call)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        y, output, n_outputs = self._encode_targets(y, reset=first_call, classes=classes)
        if first_call:
            rng = check_random_state(self.random_state)
            init_seed, train_seed = (int(s) for s in rng.randint(2**31 - 1, size=2))
            self._build(n_outputs, output, init_seed, train_seed, X.dtype)
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
            sample_weight=sample_weight,
            class_weight=self._class_weight(),
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
        if self.dtype is not None:
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

    def _class_weight(self) -> Any:
        """The class weights in the network's terms (class ids); None for the regressor."""
        return None

    def _dtype(self) -> np.dtype:
        """The network's dtype forced by the ``dtype`` parameter (when it is not None)."""
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in _DTYPES:
            raise ValueError(
                f"dtype must be None (follow X), float32 or float64, got dtype={self.dtype!r}."
            )
        return dtype

    def _batch_size(self, n_samples: int) -> int:
        # "auto" is scikit-learn's min(200, n_samples); a batch larger than the data is one batch.
        size = 200 if self.batch_size == "auto" else int(self.batch_size)
        return min(size, n_samples)

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        # A new network follows X as scikit-learn's MLP does: float32 stays float32, anything
        # else becomes float64 (unless the dtype parameter forces one); later data is converted
        # to the network's dtype.
        dtype: Any
        if not reset:
            dtype = np.dtype(self.model_.dtype)
        else:
            dtype = (np.float64, np.float32) if self.dtype is None else self._dtype()
        return validate_data(
            self, X, y, reset=reset, dtype=dtype, multi_output=True, y_numeric=self._y_numeric
        )

    def _build(
        self, n_outputs: int, output: str, init_seed: int, train_seed: int, dtype: Any
    ) -> None:
        """A new network and its optimizer: the only place where they are created."""
        activation = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        sizes = [self.n_features_in_, *self._hidden_sizes(), n_outputs]
        model = MLP(
            sizes,
            activation,
            output,
            weight_init=self.weight_init,
            seed=init_seed,
            dtype=dtype,
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
        self, X: np.ndarray, y: np.ndarray, seed: int, sample_weight: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Hold out validation_fraction of the samples (stratified by class when possible).

        Returns X_train, X_val, y_train, y_val and the training samples' weights.
        """
        stratify = None
        if y.ndim == 1 and self._y_numeric is False:
            counts = np.bincount(y)
            n_val = int(np.ceil(self.validation_fraction * len(y)))
            if counts[counts > 0].min() >= 2 and n_val >= np.count_nonzero(counts):
                stratify = y
        arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
        try:
            parts = train_test_split(
                *arrays, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        except ValueError as error:
            raise ValueError(
                f"early_stopping=True cannot hold out validation_fraction="
                f"{self.validation_fraction} of {len(X)} samples: {error}"
            ) from error
        weights = None if sample_weight is None else parts[4]
        return parts[0], parts[1], parts[2], parts[3], weights

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
        # The network is stored as config, weights and optimizer state (see .pickling).
        return pack_state(super().__getstate__())

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(unpack_state(state))
