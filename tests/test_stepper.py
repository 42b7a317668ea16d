"""Stepper (issue 13): fit's steps one at a time, everything of each step, and exact undo."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn


@pytest.fixture(scope="module")
def data(mnist_test):
    X, y = mnist_test
    return X[:600], y[:600]


def _model(seed=0):
    return gn.MLP([784, 24, 16, 10], activation="relu", dropout=0.1, seed=seed)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_a_stepper_epoch_gives_fits_weights_bit_for_bit(data, optimizer):
    X, y = data
    fitted, stepped = _model(), _model()
    fitted.fit(X, y, epochs=2, batch_size=64, optimizer=optimizer, seed=7)
    stepper = gn.Stepper(stepped, X, y, optimizer, batch_size=64, seed=7)
    stepper.run_epoch()
    assert stepper.epoch == 1 and stepper.batch == 0
    stepper.run_epoch()
    assert np.array_equal(fitted.get_weights(), stepped.get_weights())
    assert fitted.optimizer.iterations == stepped.optimizer.iterations == 2 * stepper.n_batches


def _optimizer_state(optimizer):
    saved = optimizer.state_dict()
    return saved["iterations"], {
        (name, key): value.copy()
        for name, arrays in saved["state"].items()
        for key, value in arrays.items()
    }


def test_undo_after_n_steps_restores_weights_optimizer_position_and_generator(data):
    X, y = data
    model = _model()
    stepper = gn.Stepper(model, X, y, "adam", batch_size=64, seed=3)
    for _ in range(4):
        stepper.step()
    weights, (iterations, state) = model.get_weights(), _optimizer_state(model.optimizer)
    position, rng_state = (stepper.epoch, stepper.batch), stepper.run.rng.bit_generator.state
    record = stepper.last
    for _ in range(7):  # crosses the epoch's end (10 batches)
        stepper.step()
    assert stepper.epoch == 1
    for _ in range(7):
        stepper.undo()
    assert np.array_equal(model.get_weights(), weights)
    again_iterations, again_state = _optimizer_state(model.optimizer)
    assert again_iterations == iterations and state.keys() == again_state.keys()
    assert all(np.array_equal(state[k], again_state[k]) for k in state)
    assert (stepper.epoch, stepper.batch) == position
    assert stepper.run.rng.bit_generator.state == rng_state
    assert stepper.last is record and stepper.steps_taken == 4
    # ...and the same steps follow: the run goes on as if nothing had been undone
    reference = gn.Stepper(_model(), X, y, "adam", batch_size=64, seed=3)
    reference.steps(6)
    stepper.steps(2)
    assert np.array_equal(model.get_weights(), reference.model.get_weights())


def test_undo_then_another_learning_rate_on_the_very_same_batch(data):
    X, y = data
    model = gn.MLP([784, 16, 10], seed=0)
    stepper = gn.Stepper(model, X, y, "sgd", batch_size=32, learning_rate=0.1, seed=0)
    first = stepper.step()
    stepper.undo()
    model.optimizer.learning_rate = 0.5
    second = stepper.step()
    assert np.array_equal(first.rows, second.rows) and np.array_equal(first.X, second.X)
    assert first.loss == second.loss
    assert np.allclose(second.updates["dense_0.W"], 5 * first.updates["dense_0.W"], atol=1e-6)


def test_a_step_exposes_batch_activations_loss_deltas_gradients_and_updates(data):
    X, y = data
    model = gn.MLP([784, 16, 10], activation="sigmoid", seed=0)
    stepper = gn.Stepper(model, X, y, "sgd", batch_size=32, learning_rate=0.1, seed=0)
    before = model.parameter("dense_1.W").value.copy()
    r = stepper.step()
    assert (r.epoch, r.batch, r.X.shape, r.y.shape) == (0, 0, (32, 784), (32,))
    assert np.array_equal(r.X, X[r.rows])
    assert [*r.activations] == ["dense_0", "sigmoid_0", "dense_1"]
    assert r.activations["sigmoid_0"].shape == (32, 16)
    loss = model.resolve_loss(None)
    assert r.loss == pytest.approx(loss.value(r.activations["dense_1"], r.y))
    # δ of the output neurons is (p − y)/batch; the gradient of W is aᵀδ
    p = gn.activations.Softmax().function(r.activations["dense_1"])
    assert np.allclose(r.deltas["dense_1"], (p - np.eye(10)[r.y]) / 32, atol=1e-7)
    assert np.allclose(
        r.gradients["dense_1.W"], r.activations["sigmoid_0"].T @ r.deltas["dense_1"], atol=1e-6
    )
    # plain SGD: Δθ = −lr·∂L/∂θ, and it is what the weights moved by
    assert np.allclose(r.updates["dense_1.W"], -0.1 * r.gradients["dense_1.W"], atol=1e-7)
    assert np.array_equal(model.parameter("dense_1.W").value, before + r.updates["dense_1.W"])
    assert r.learning_rate == 0.1


def test_undo_with_nothing_to_undo_is_a_clear_error_and_changes_nothing(data):
    X, y = data
    model = gn.MLP([784, 8, 10], seed=0)
    stepper = gn.Stepper(model, X, y, "sgd", batch_size=32, seed=0)
    weights = model.get_weights()
    with pytest.raises(RuntimeError, match="no step to undo"):
        stepper.undo()
    assert np.array_equal(model.get_weights(), weights) and stepper.batch == 0


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_diverging_step_is_not_taken(data):
    X, y = data
    model = gn.MLP([784, 8, 10], seed=0)
    stepper = gn.Stepper(model, X * 1e38, y, "sgd", batch_size=32, seed=0)
    weights = model.get_weights()
    with pytest.raises(gn.TrainingDivergedError):
        stepper.step()
    assert np.array_equal(model.get_weights(), weights) and stepper.steps_taken == 0
