"""Weighted losses: sample_weight and class_weight in glassnet's fit and in glassnet.sklearn,
and scikit-learn's warm_start.

The weighted loss is L = Σ w_i·ℓ_i / Σ w_i per batch (scikit-learn's rule), so an integer weight
is the same as repeating the sample, and weight 0 the same as leaving it out.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses
from glassnet.errors import DataError

LOSSES = [
    (losses.SoftmaxCrossEntropy, lambda rng, n: rng.integers(0, 4, n), 4),
    (losses.SoftmaxCrossEntropy, lambda rng, n: np.eye(4)[rng.integers(0, 4, n)], 4),
    (losses.BinaryCrossEntropy, lambda rng, n: rng.integers(0, 2, (n, 3)).astype(float), 3),
    (losses.MeanSquaredError, lambda rng, n: rng.normal(size=(n, 2)), 2),
]


@pytest.mark.parametrize(("cls", "targets", "width"), LOSSES)
def test_an_integer_weight_is_the_sample_repeated(cls, targets, width):
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(6, width))
    target = targets(rng, 6)
    weights = np.array([1, 0, 3, 2, 1, 4], dtype=np.float64)
    value, grad = cls().weighted_value_and_gradient(pred, target, weights)
    repeat = np.repeat(np.arange(6), weights.astype(int))
    value_rep, grad_rep = cls().value_and_gradient(pred[repeat], target[repeat])
    assert value == pytest.approx(value_rep, rel=1e-12)
    summed = np.zeros_like(pred)
    np.add.at(summed, repeat, grad_rep)  # the copies of a sample add up to its weighted row
    np.testing.assert_allclose(grad, summed, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("cls", "targets", "width"), LOSSES)
def test_weighted_gradient_matches_finite_differences(cls, targets, width):
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(5, width))
    target = targets(rng, 5)
    weights = rng.uniform(0.1, 3.0, 5)
    loss = cls()
    _, grad = loss.weighted_value_and_gradient(pred, target, weights)
    numeric = np.zeros_like(pred)
    h = 1e-6
    for index in np.ndindex(pred.shape):
        up, down = pred.copy(), pred.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (
            loss.weighted_value_and_gradient(up, target, weights)[0]
            - loss.weighted_value_and_gradient(down, target, weights)[0]
        ) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def _fit(X, y, **kwargs):
    model = gn.MLP([5, 8, 3], activation="tanh", seed=0, dtype=np.float64)
    model.fit(
        X,
        y,
        epochs=20,
        batch_size=1000,
        optimizer="sgd",
        learning_rate=0.1,
        shuffle=False,
        **kwargs,
    )
    return model


def test_fit_with_integer_weights_equals_fit_on_repeated_samples():
    X, y = _data()
    weights = np.random.default_rng(2).integers(0, 4, len(X))
    weighted = _fit(X, y, sample_weight=weights)
    repeat = np.repeat(np.arange(len(X)), weights)
    repeated = _fit(X[repeat], y[repeat])
    np.testing.assert_allclose(weighted.get_weights(), repeated.get_weights(), rtol=1e-10)


def test_equal_weights_train_bit_identically_to_no_weights():
    X, y = _data()
    plain = gn.MLP([5, 8, 3], seed=0)
    plain.fit(X, y, epochs=3, batch_size=8, seed=0)
    ones = gn.MLP([5, 8, 3], seed=0)
    ones.fit(X, y, epochs=3, batch_size=8, seed=0, sample_weight=np.full(len(X), 2.5))
    assert np.array_equal(plain.get_weights(), ones.get_weights())


def test_class_weight_balanced_and_dict_are_per_sample_weights():
    X, y = _data()
    counts = np.bincount(y)
    balanced = len(y) / (len(counts) * counts)
    a = _fit(X, y, class_weight="balanced")
    b = _fit(X, y, sample_weight=balanced[y])
    np.testing.assert_allclose(a.get_weights(), b.get_weights(), rtol=1e-12)
    c = _fit(X, y, class_weight={2: 5.0}, sample_weight=np.full(len(y), 2.0))
    d = _fit(X, y, sample_weight=np.where(y == 2, 10.0, 2.0))
    np.testing.assert_allclose(c.get_weights(), d.get_weights(), rtol=1e-12)


def test_class_weight_makes_a_rare_class_found():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] > 1.2).astype(np.int64)  # about 12% positives
    recall = {}
    for weight in (None, "balanced"):
        model = gn.MLP([2, 1], seed=0)
        model.fit(X, y, epochs=30, batch_size=32, seed=0, learning_rate=0.05, class_weight=weight)
        recall[weight] = model.predict(X)[y == 1].mean()
    assert recall["balanced"] > recall[None]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sample_weight": np.ones(3)}, DataError, "sample_weight must be 40 numbers"),
        ({"sample_weight": -np.ones(40)}, DataError, "finite and >= 0"),
        ({"sample_weight": np.zeros(40)}, DataError, "All sample weights are 0"),
        ({"class_weight": "even"}, ValueError, "class_weight must be 'balanced' or a dict"),
        ({"class_weight": {0: -1}}, ValueError, r"class_weight\[0\] must be a number >= 0"),
    ],
)
def test_bad_weights_are_clear_errors(kwargs, error, match):
    X, y = _data()
    with pytest.raises(error, match=match):
        gn.MLP([5, 3], seed=0).fit(X, y, epochs=1, **kwargs)


def test_class_weight_needs_classes():
    X, y = _data()
    with pytest.raises(DataError, match="class_weight needs one class per sample"):
        gn.MLP([5, 1], output="identity", seed=0).fit(X, y.astype(float), class_weight="balanced")


# ---------------------------------------------------------------------- glassnet.sklearn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
sklearn = pytest.importorskip("sklearn")
from glassnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def test_estimators_take_sample_weight_in_fit_and_partial_fit():
    X, y = _data(200)
    labels = np.array(["a", "b", "c"])[y]
    weights = np.where(y == 2, 0.0, 1.0)  # class "c" weighs nothing
    params = {"hidden_layer_sizes": (8,), "max_iter": 30, "random_state": 0}
    plain = MLPClassifier(**params, learning_rate=0.05).fit(X, labels)
    clf = MLPClassifier(**params, learning_rate=0.05).fit(X, labels, sample_weight=weights)
    assert np.mean(clf.predict(X) == "c") < np.mean(plain.predict(X) == "c") / 2
    clf.partial_fit(X, labels, sample_weight=np.ones(len(X)))
    reg = MLPRegressor(**params).fit(X, X[:, 0], sample_weight=np.ones(len(X)))
    reg.partial_fit(X, X[:, 0], sample_weight=np.arange(len(X)))
    assert clf.n_iter_ == 31 and reg.n_iter_ == 31


def test_classifier_class_weight_maps_labels_to_the_networks_classes():
    X, y = _data(200)
    labels = np.array(["a", "b", "c"])[y]
    params = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, "shuffle": False}
    by_label = MLPClassifier(**params, class_weight={"c": 4.0}).fit(X, labels)
    by_weight = MLPClassifier(**params).fit(X, labels, sample_weight=np.where(y == 2, 4.0, 1.0))
    assert np.array_equal(by_label.model_.get_weights(), by_weight.model_.get_weights())
    with pytest.raises(ValueError, match=r"class_weight has labels \['z'\]"):
        MLPClassifier(**params, class_weight={"z": 1.0}).fit(X, labels)


def test_warm_start_continues_from_the_previous_fit():
    X, y = _data(200)
    params = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0}
    warm = MLPClassifier(**params, warm_start=True).fit(X, y)
    first = warm.model_.get_weights()
    network = warm.model_
    warm.fit(X, y)
    assert warm.model_ is network and warm.n_iter_ == 10 and len(warm.loss_curve_) == 10
    assert warm.loss_curve_[5] < warm.loss_curve_[0]  # it went on from where it was
    cold = MLPClassifier(**params).fit(X, y)
    cold.fit(X, y)
    assert np.array_equal(cold.model_.get_weights(), first) and cold.n_iter_ == 5


def test_the_network_follows_the_dtype_of_x():
    X, y = _data(60)
    assert MLPClassifier((4,), max_iter=2).fit(X.astype(np.float32), y).model_.dtype == np.float32
    assert MLPClassifier((4,), max_iter=2).fit(X, y).model_.dtype == np.float64
    assert MLPClassifier((4,), max_iter=2).fit(X.astype(int), y).model_.dtype == np.float64
    forced = MLPClassifier((4,), max_iter=2, dtype="float32").fit(X, y)
    assert forced.model_.dtype == np.float32
