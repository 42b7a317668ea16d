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

try:
    # validate_data is new in scikit-learn 1.6: its absence means missing or too old.
    from sklearn.utils.validation import validate_data  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "glassnet.sklearn needs scikit-learn >= 1.6, which is not installed (or too old): "
        f"{error}. Install it with: pip install 'glassnet[sklearn]'."
    ) from error

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
