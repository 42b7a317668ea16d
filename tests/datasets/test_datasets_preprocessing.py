"""Splitting, standardising, one-hot encoding and mini-batches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from glassnet.datasets import DatasetError, Standardizer, one_hot, train_test_split


def imbalanced(n_per_class=(50, 30, 7, 3), features=4):
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = np.arange(y.size * features, dtype=np.float32).reshape(y.size, features)
    return X, y


# --------------------------------------------------------------------------- train_test_split
@pytest.mark.parametrize("test_size", [0.2, 0.25, 0.5, 13])
def test_stratified_split_keeps_class_proportions(test_size):
    X, y = imbalanced()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, seed=3)
    n_test = test_size if isinstance(test_size, int) else int(np.ceil(test_size * y.size))
    assert y_test.size == n_test and y_train.size == y.size - n_test
    expected = np.bincount(y) * n_test / y.size
    assert np.all(np.abs(np.bincount(y_test, minlength=4) - expected) < 1)
    # Row i of X starts with 4 i: every sample is used exactly once, with its own label.
    train_rows = (X_train[:, 0] // 4).astype(int)
    test_rows = (X_test[:, 0] // 4).astype(int)
    assert sorted(np.concatenate([train_rows, test_rows]).tolist()) == list(range(y.size))
    np.testing.assert_array_equal(y[train_rows], y_train)
    np.testing.assert_array_equal(y[test_rows], y_test)


def test_same_seed_same_split_other_seed_other_split():
    X, y = imbalanced()
    a = train_test_split(X, y, seed=7)
    b = train_test_split(X, y, seed=7)
    c = train_test_split(X, y, seed=8)
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[1], c[1])


def test_split_output_is_shuffled_not_grouped_by_class():
    X, y = imbalanced()
    _, _, y_train, _ = train_test_split(X, y, seed=0)
    assert np.any(np.diff(y_train) < 0)


def test_float_targets_are_shuffled_without_stratifying():
    X = np.arange(100, dtype=np.float32).reshape(50, 2)
    y = np.linspace(0, 1, 50, dtype=np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=1)
    assert y_test.dtype == np.float32 and y_test.size == 10
    test_rows = (X_test[:, 0] // 2).astype(int)
    np.testing.assert_array_equal(y[test_rows], y_test)  # rows stay paired with targets
    assert not np.array_equal(np.sort(test_rows), np.arange(40, 50))  # shuffled, not the tail


def test_string_labels_are_stratified():
    y = np.array(["cat"] * 8 + ["dog"] * 2)
    _, _, _, y_test = train_test_split(np.zeros((10, 1)), y, test_size=0.5, seed=0)
    assert sorted(y_test.tolist()) == ["cat"] * 4 + ["dog"]


def test_split_errors():
    X, y = imbalanced()
    with pytest.raises(DatasetError, match=r"X.shape=\(90, 4\) and y.shape=\(89,\)"):
        train_test_split(X, y[:-1])
    for bad in (0, 1.0, 90, -0.1, "0.2"):
        with pytest.raises(DatasetError, match="test_size"):
            train_test_split(X, y, test_size=bad)


# --------------------------------------------------------------------------- Standardizer
def test_standardizer_round_trip_and_json():
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((200, 3)) * [1, 10, 100] + [5, -3, 1000]).astype(np.float32)
    X[:, 1] = 7.0  # a constant feature: scale 1, not a division by zero
    s = Standardizer()
    Z = s.fit_transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(axis=0), [1, 0, 1], atol=1e-4)
    assert s.scale[1] == 1.0
    restored = Standardizer.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(restored.transform(X), Z)
    np.testing.assert_allclose(restored.inverse_transform(Z), X, rtol=1e-5, atol=1e-3)
    X_copy = X.copy()
    s.transform(X)
    np.testing.assert_array_equal(X, X_copy)  # input untouched


def test_standardizer_errors():
    s = Standardizer()
    with pytest.raises(DatasetError, match="unfitted"):
        s.transform(np.zeros((2, 3)))
    with pytest.raises(DatasetError, match="unfitted"):
        s.to_dict()
    s.fit(np.ones((4, 3)))
    with pytest.raises(DatasetError, match=r"shape \(n, 3\).*got shape=\(2, 5\)"):
        s.transform(np.zeros((2, 5)))
    with pytest.raises(DatasetError, match="Flatten"):
        Standardizer().fit(np.zeros((4, 2, 2)))
    with pytest.raises(DatasetError, match="finite"):
        Standardizer().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(DatasetError, match="'mean'"):
        Standardizer.from_dict({"mean": [0.0]})
    with pytest.raises(DatasetError, match="scale > 0"):
        Standardizer.from_dict({"mean": [0.0], "scale": [0.0]})


# --------------------------------------------------------------------------- one_hot
def test_one_hot_values_and_dtype():
    encoded = one_hot(np.array([2, 0, 1, 2]))
    assert encoded.dtype == np.float32 and encoded.shape == (4, 3)
    np.testing.assert_array_equal(encoded.argmax(axis=1), [2, 0, 1, 2])
    np.testing.assert_array_equal(encoded.sum(axis=1), 1)
    assert one_hot(np.array([1], dtype=np.uint8), n_classes=5, dtype=np.float64).shape == (1, 5)


def test_one_hot_errors():
    with pytest.raises(DatasetError, match=r"0\.\.2.*labels\[1\]=3"):
        one_hot(np.array([0, 3, 1]), n_classes=3)
    with pytest.raises(DatasetError, match=r"labels\[0\]=-1"):
        one_hot(np.array([-1, 0]))
    with pytest.raises(DatasetError, match="integer class ids.*float64"):
        one_hot(np.array([0.0, 1.0]))
    with pytest.raises(DatasetError, match="ravel"):
        one_hot(np.array([[0], [1]]))
    with pytest.raises(DatasetError, match="n_classes"):
        one_hot(np.array([0]), n_classes=0)
