"""fit's end-of-epoch check of the weights, made without copying them (issue 12: wide memory).

`glassnet.train.loop.weights_finite` replaced ``np.isfinite(model.get_weights()).all()``; it
must say the same thing for every vector of weights, including finite weights whose sum
overflows (the case its one-reduction shortcut cannot clear).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.train.loop import weights_finite


def model_with_a_buffer():
    layers = [gn.Dense(4, 6, rng=0), gn.BatchNorm(6), gn.ReLU(), gn.Dense(6, 3, rng=1)]
    return gn.Sequential(layers, output="softmax", seed=0)


def test_finite_weights_are_finite():
    model = model_with_a_buffer()
    assert model.buffers()  # the check covers buffers as well as parameters
    assert weights_finite(model)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["parameter", "buffer"])
def test_one_bad_number_anywhere_is_found(bad, where):
    model = model_with_a_buffer()
    arrays = model.parameters() if where == "parameter" else model.buffers()
    for array in arrays:
        weights = model.get_weights()
        array.value.reshape(-1)[-1] = bad
        assert not weights_finite(model)
        assert weights_finite(model) == bool(np.isfinite(model.get_weights()).all())
        model.set_weights(weights)
        assert weights_finite(model)


def test_finite_weights_whose_sum_overflows_are_finite():
    model = model_with_a_buffer()
    W = model.parameter("dense_0.W").value
    W[0, :3] = 3e38  # float32's largest is 3.4e38: the sum overflows to inf
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.add.reduce(W, axis=None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and the check itself warns of nothing
        assert weights_finite(model)


def test_fit_still_restores_and_raises_when_the_weights_end_an_epoch_non_finite():
    model = gn.MLP([3, 4, 2], seed=0)
    X = np.ones((8, 3), np.float32)
    before = model.get_weights()

    class Poison(gn.Callback):
        def on_batch_end(self, batch, logs):
            self.model.parameter("dense_1.b").value[0] = np.nan

    with pytest.raises(gn.TrainingDivergedError, match="weights of the last finite epoch"):
        model.fit(X, [0, 1] * 4, epochs=1, batch_size=8, callbacks=[Poison()], seed=0)
    assert np.array_equal(model.get_weights(), before)
