import numpy as np
import pytest

import glassnet as gn
from glassnet import datasets


def test_every_sample_once_per_epoch_in_a_new_order():
    X = np.arange(103 * 2, dtype=np.float32).reshape(103, 2)
    y = np.arange(103)
    rng = np.random.default_rng(0)
    epochs = []
    for _ in range(2):
        sizes, seen = [], []
        for X_batch, y_batch in gn.iterate_minibatches(X, y, batch_size=16, rng=rng):
            np.testing.assert_array_equal(X_batch[:, 0] / 2, y_batch)  # rows stay paired
            sizes.append(len(y_batch))
            seen.append(y_batch)
        assert sizes == [16] * 6 + [7]  # the last, partial batch is included
        order = np.concatenate(seen)
        assert sorted(order.tolist()) == list(range(103))
        epochs.append(order)
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[0], np.arange(103))


def test_unshuffled_batches_are_views_and_seeded_ones_repeat():
    X = np.arange(10.0)[:, None]
    batches = [b for b, _ in gn.iterate_minibatches(X, None, 4, shuffle=False)]
    assert [b[:, 0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(np.shares_memory(b, X) for b in batches)  # slices: nothing copied
    first = [b[:, 0].tolist() for b, _ in gn.iterate_minibatches(X, None, 4, rng=5)]
    assert first == [b[:, 0].tolist() for b, _ in gn.iterate_minibatches(X, None, 4, rng=5)]


def test_datasets_batches_is_the_same_function():
    assert datasets.batches is gn.iterate_minibatches


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        list(gn.iterate_minibatches(np.zeros((3, 1)), None, 0))
    with pytest.raises(ValueError, match="same length"):
        list(gn.iterate_minibatches(np.zeros((3, 1)), np.zeros(2), 2))
