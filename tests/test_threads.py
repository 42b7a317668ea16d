"""fit(threads=n): a batch shared out over threads, each on a replica of the model (issue 11)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import glassnet as gn
from glassnet.train.cartography import LearningMap
from glassnet.train.threads import ThreadedStep, replica


def _cnn(seed=0, dtype=np.float32):
    return gn.Sequential(
        [
            gn.Conv2D(1, 4, 3, padding=1, rng=seed, dtype=dtype),
            gn.ReLU(),
            gn.MaxPool2D(2),
            gn.Conv2D(4, 6, 3, rng=seed + 1, dtype=dtype),
            gn.ReLU(),
            gn.Flatten(),
            gn.Dense(6 * 2 * 2, 3, rng=seed + 2, dtype=dtype),
        ],
        input_shape=(1, 8, 8),
        output="softmax",
    )


def _data(n=60, dtype=np.float32):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 1, 8, 8)).astype(dtype)
    y = (X[:, 0, :4].sum(axis=(1, 2)) > 0).astype(np.int64) + (X[:, 0, 0, 0] > 1)
    return X, y


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_one_step_on_two_threads_is_the_batch_mean_gradient():
    # float64: the two shares' mean gradients, weighted by their sizes, are the batch's
    X, y = _data(7, np.float64)
    whole, shared = _cnn(dtype=np.float64), _cnn(dtype=np.float64)
    loss = whole.resolve_loss(None)
    from glassnet.train.loop import forward_backward

    expected_loss, expected_correct = forward_backward(whole, loss, X, y)
    with ThreadedStep(shared, shared.resolve_loss(None), 2) as step:
        got_loss, got_correct = step.forward_backward(forward_backward, X, y)
    assert got_correct == expected_correct
    np.testing.assert_allclose(got_loss, expected_loss, rtol=1e-12)
    np.testing.assert_allclose(shared._grads, whole._grads, rtol=1e-10, atol=1e-13)
    # the replica read the model's weights: the same arrays, not copies
    twin = step.replicas[0]
    assert all(
        a.value is b.value for a, b in zip(shared.parameters(), twin.parameters(), strict=True)
    )


def test_a_replica_shares_the_weights_and_keeps_its_own_gradients():
    model = _cnn()
    twin = replica(model)
    model.layers[0].W.value[0, 0] = 123.0
    assert twin.layers[0].W.value[0, 0] == 123.0
    assert twin._grads is not model._grads
    assert twin.layers[0].windows is not model.layers[0].windows


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_two_threads_train_like_one_and_repeat_their_bits(kernel):
    if kernel == "numba":
        pytest.importorskip("numba")
    X, y = _data()

    def train(threads):
        model = _cnn()
        history = model.fit(
            X, y, epochs=3, batch_size=16, optimizer="adam", seed=0, kernel=kernel, threads=threads
        )
        return model.get_weights(), history.history["loss"]

    one, one_loss = train(1)
    two, two_loss = train(2)
    again, _ = train(2)
    np.testing.assert_array_equal(again, two)  # the same seed and threads: the same bits
    np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-5)  # another order of the sums
    np.testing.assert_allclose(two_loss, one_loss, rtol=1e-5)
    assert not np.array_equal(two, one)  # (it is another path, not the same one)


def test_more_threads_than_samples_in_the_last_batch():
    X, y = _data(17)  # batches of 8, 8 and 1: the last one has one share with rows
    model = _cnn()
    history = model.fit(X, y, epochs=2, batch_size=8, optimizer="sgd", seed=0, threads=3)
    assert np.isfinite(history.history["loss"]).all()
    reference = _cnn()
    reference.fit(X, y, epochs=2, batch_size=8, optimizer="sgd", seed=0)
    np.testing.assert_allclose(model.get_weights(), reference.get_weights(), rtol=1e-4, atol=1e-6)


def test_blas_is_held_to_one_thread_during_the_fit_and_given_back_after():
    before = _blas_threads()
    seen = []

    class Watch(gn.callbacks.Callback):
        def on_batch_end(self, batch, logs):
            seen.append(_blas_threads())

    X, y = _data(32)
    _cnn().fit(X, y, epochs=1, batch_size=16, threads=2, callbacks=[Watch()])
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert _blas_threads() == before


def test_an_error_in_another_thread_reaches_the_caller_and_blas_is_given_back():
    from glassnet.train.loop import forward_backward

    X, y = _data(8)
    model = _cnn()
    before = _blas_threads()

    def broken(x, training=False):
        raise RuntimeError("share 1 failed")

    with pytest.raises(RuntimeError, match="share 1 failed"):
        with ThreadedStep(model, model.resolve_loss(None), 2) as step:
            step.replicas[0].layers[0].forward = broken
            step.forward_backward(forward_backward, X, y)
    assert _blas_threads() == before


def test_a_diverging_run_with_threads_restores_the_weights():
    X, y = _data(32)
    model = _cnn()
    start = model.get_weights().copy()
    X_bad = X.copy()
    X_bad[20] = 3e38  # finite, but its weighted sums overflow: in the second share
    with pytest.raises(gn.TrainingDivergedError), warnings.catch_warnings():
        # the overflow warns in the share's own thread, where np.errstate does not reach
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(X_bad, y, epochs=1, batch_size=32, threads=2, optimizer="sgd")
    np.testing.assert_array_equal(model.get_weights(), start)


@pytest.mark.parametrize(
    ("make", "fit_options", "message"),
    [
        (lambda: gn.Sequential([gn.Dense(4, 3), gn.Dropout(0.5), gn.Dense(3, 2)], output="softmax"),
         {}, "Dropout 'dropout_0'.* draws random numbers"),
        (lambda: gn.Sequential([gn.Dense(4, 3), gn.BatchNorm(3), gn.Dense(3, 2)], output="softmax"),
         {}, "buffers"),
        (lambda: gn.MLP([4, 3, 2]), {"sample_weight": np.arange(1.0, 11.0)},
         "sample or class weights"),
        (lambda: gn.MLP([4, 3, 2]), {"threads": 0}, "threads must be"),
    ],
)  # fmt: skip
def test_what_threads_cannot_split_is_refused_before_training(make, fit_options, message):
    model = make()
    start = model.get_weights().copy()
    X = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    y = np.arange(10) % 2
    options = {"threads": 2, **fit_options}
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=1, **options)
    np.testing.assert_array_equal(model.get_weights(), start)
    assert model.current_fit is None


def test_a_map_needs_the_whole_batch_and_is_refused_with_threads():
    X, y = _data(20)
    with pytest.raises(ValueError, match="threads=2 cannot split this training: a callback"):
        _cnn().fit(X, y, epochs=1, threads=2, callbacks=[LearningMap()])
