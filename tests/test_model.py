import os
import signal

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_model_gradients

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(
    "activation, output, targets",
    [
        ("sigmoid", "softmax", np.array([0, 2, 1, 2, 0])),
        ("tanh", "sigmoid", np.array([0, 1, 1, 0, 1])),
        ("relu", "identity", np.random.default_rng(2).standard_normal((5, 3))),
        ("leaky_relu", "softmax", np.eye(3)[[1, 0, 2, 2, 1]]),
    ],
)
def test_whole_network_gradients_match_finite_differences(activation, output, targets):
    sizes = [4, 6, 5, 3 if output != "sigmoid" else 1]
    model = gn.MLP(
        sizes,
        activation=activation,
        output=output,
        seed=0,
        dtype=np.float64,
        weight_init="glorot_normal",
    )
    rng = np.random.default_rng(1)
    for name in ("dense_0.b", "dense_1.b", "dense_2.b"):
        # non-zero biases: with zero biases an all-zero ReLU row puts z exactly on the kink
        model.parameter(name).value[:] = rng.uniform(0.1, 0.5, model.parameter(name).shape)
    X = rng.standard_normal((5, 4))
    errors = check_model_gradients(model, X, targets, model.resolve_loss(None))
    assert sorted(errors) == [
        "dense_0.W",
        "dense_0.b",
        "dense_1.W",
        "dense_1.b",
        "dense_2.W",
        "dense_2.b",
    ]
    assert max(errors.values()) < 1e-6


def test_mlp_builds_the_reference_network():
    model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    assert [type(la).__name__ for la in model.layers] == [
        "Dense",
        "Sigmoid",
        "Dense",
        "Sigmoid",
        "Dense",
    ]
    assert model.output == "softmax" and model.n_inputs == 784 and model.n_outputs == 10
    assert model.n_parameters == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    assert model.parameter("dense_0.W").shape == (784, 16)
    assert model.parameter("dense_2.b").value.dtype == np.float32
    summary = model.summary()
    assert (
        "784-16-16-10" in summary
        and "12,560" in summary
        and "Total parameters: 13,002" in (summary)
    )


def test_parameters_are_views_into_one_buffer_and_named():
    model = gn.MLP([3, 4, 2], seed=0)
    W = model.parameter("dense_0.W")
    W.value[0, 0] = 123.0
    assert model.get_weights()[0] == 123.0
    weights = model.get_weights()
    weights[:] = 0.5
    model.set_weights(weights)
    assert (model.parameter("dense_1.b").value == 0.5).all()
    with pytest.raises(KeyError, match="dense_0.W"):
        model.parameter("dense_9.W")


def test_sequential_checks_that_sizes_chain():
    with pytest.raises(gn.ShapeError, match=r"expects 5 inputs, but the layer before it gives 4"):
        gn.Sequential([gn.Dense(3, 4), gn.ReLU(), gn.Dense(5, 2)], output="softmax")
    with pytest.raises(ValueError, match="apply it twice"):
        gn.Sequential([gn.Dense(3, 4), gn.Softmax()], output="softmax")


def test_low_level_loop_and_fit_give_identical_weights():
    """The textbook loop written by hand is exactly what fit runs."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    by_fit = gn.MLP([5, 8, 3], activation="tanh", seed=1)
    by_fit.fit(
        X,
        y,
        epochs=3,
        batch_size=16,
        optimizer=gn.SGD(by_fit.parameters(), 0.1, momentum=0.9),
        seed=7,
    )
    by_hand = gn.MLP([5, 8, 3], activation="tanh", seed=1)
    loss_fn = gn.SoftmaxCrossEntropy()
    optimizer = gn.SGD(by_hand.parameters(), learning_rate=0.1, momentum=0.9)
    shuffle = np.random.default_rng(7)
    for _ in range(3):
        for X_batch, y_batch in gn.iterate_minibatches(X, y, batch_size=16, rng=shuffle):
            out = by_hand.forward(X_batch, training=True)
            loss_fn.value(out, y_batch)
            by_hand.backward(loss_fn.gradient(out, y_batch))
            optimizer.step()
    assert np.array_equal(by_fit.get_weights(), by_hand.get_weights())


def test_xor_is_solved_by_a_hidden_layer():
    model = gn.MLP([2, 8, 2], activation="tanh", seed=0)
    history = model.fit(XOR_X, XOR_Y, epochs=300, batch_size=4, learning_rate=0.05, seed=0)
    assert np.array_equal(model.predict(XOR_X), XOR_Y)
    assert history["loss"][-1] < 0.05 < history["loss"][0]


def test_binary_classification_with_one_sigmoid_output():
    model = gn.MLP([2, 8, 1], activation="tanh", seed=0)
    assert model.output == "sigmoid"
    model.fit(XOR_X, XOR_Y, epochs=400, batch_size=4, learning_rate=0.05, seed=0)
    assert np.array_equal(model.predict(XOR_X), XOR_Y)
    proba = model.predict_proba(XOR_X)
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_sine_is_fitted_by_regression():
    x = np.linspace(-np.pi, np.pi, 256, dtype=np.float32)[:, None]
    y = np.sin(x)
    model = gn.MLP([1, 32, 32, 1], activation="tanh", output="identity", seed=0)
    model.fit(x, y[:, 0], epochs=200, batch_size=32, learning_rate=0.01, seed=0)
    scores = model.evaluate(x, y)
    assert scores["mse"] < 0.005 and scores["r2"] > 0.99
    assert model.predict(x).shape == (256,)
    assert np.abs(model.predict(x) - y[:, 0]).max() < 0.2


@pytest.mark.slow
def test_reference_network_learns_real_mnist_digits(mnist_test):
    X, y = mnist_test
    model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    model.fit(
        X[:8000],
        y[:8000],
        epochs=10,
        batch_size=32,
        optimizer=gn.SGD(model.parameters(), learning_rate=0.1, momentum=0.9),
        seed=0,
    )
    scores = model.evaluate(X[8000:], y[8000:])
    assert scores["accuracy"] >= 0.90
    assert gn.metrics.accuracy(y[8000:], model.predict(X[8000:])) == scores["accuracy"]


def test_same_seed_gives_bit_identical_training(mnist_test):
    X, y = mnist_test[0][:1000], mnist_test[1][:1000]

    def train(seed):
        model = gn.MLP([784, 16, 10], activation="relu", dropout=0.2, seed=seed)
        model.fit(X, y, epochs=2, batch_size=32, optimizer="adam", seed=seed)
        return model.get_weights()

    assert np.array_equal(train(3), train(3))
    assert not np.array_equal(train(3), train(4))


def test_history_records_train_and_validation_metrics():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = gn.MLP([4, 8, 2], seed=0)
    history = model.fit(X, y, epochs=3, validation_split=0.2, seed=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1, 2] and len(history["val_loss"]) == 3
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(X[80:], y[80:])["loss"])


def test_early_stopping_restores_the_best_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = rng.integers(0, 2, 40)  # noise: validation loss soon gets worse
    X_val = rng.standard_normal((40, 3)).astype(np.float32)
    y_val = rng.integers(0, 2, 40)
    model = gn.MLP([3, 64, 2], seed=0)
    stopper = gn.EarlyStopping(monitor="val_loss", patience=3)
    history = model.fit(
        X,
        y,
        epochs=200,
        batch_size=8,
        learning_rate=0.01,
        validation_data=(X_val, y_val),
        callbacks=[stopper],
        seed=0,
    )
    assert history.stopped_early and len(history.epoch) < 200
    best = min(history["val_loss"])
    assert stopper.best == best
    assert model.evaluate(X_val, y_val)["loss"] == pytest.approx(best, rel=1e-6)


def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    X = np.zeros((8, 2), np.float32)
    y = np.zeros(8, int)
    model = gn.MLP([2, 3, 2], seed=0)
    scheduler = gn.LearningRateScheduler(gn.schedules.StepDecay(0.1, factor=0.5, every=1))
    history = model.fit(X, y, epochs=3, optimizer="sgd", callbacks=[scheduler])
    assert history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])


def test_progress_callback_reports_batches_and_epochs():
    events = []
    X = np.zeros((10, 2), np.float32)
    model = gn.MLP([2, 3, 2], seed=0)
    model.fit(X, np.zeros(10, int), epochs=2, batch_size=4, callbacks=[gn.Progress(events.append)])
    kinds = [e["event"] for e in events]
    assert kinds == ["train_begin"] + (["batch"] * 3 + ["epoch"]) * 2 + ["train_end"]
    assert events[1]["batches"] == 3 and events[3]["batch"] == 2 and "loss" in events[3]


def test_ctrl_c_ends_training_cleanly_after_the_current_batch():
    class PressCtrlC(gn.Callback):
        def on_batch_end(self, batch, logs):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)

    X = np.zeros((100, 2), np.float32)
    model = gn.MLP([2, 3, 2], seed=0)
    # what fit must put back: Python's own handler, or SIG_IGN when started in the background
    before = signal.getsignal(signal.SIGINT)
    history = model.fit(X, np.zeros(100, int), epochs=5, batch_size=10, callbacks=[PressCtrlC()])
    assert history.interrupted and history.epoch == []
    assert model.optimizer.iterations == 3
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_stops_with_a_clear_message_and_last_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32) * 100
    y = rng.standard_normal(64).astype(np.float32) * 100
    model = gn.MLP([3, 16, 1], activation="relu", output="identity", seed=0)
    epoch_ends = [model.get_weights()]

    class Record(gn.Callback):
        def on_epoch_end(self, epoch, logs):
            epoch_ends.append(self.model.get_weights())

    with pytest.raises(
        gn.TrainingDivergedError,
        match=r"learning rate \(0.3\) is probably too "
        "high",
    ) as info:
        model.fit(
            X,
            y,
            epochs=50,
            batch_size=8,
            optimizer="sgd",
            learning_rate=0.3,
            callbacks=[Record()],
            seed=0,
        )
    assert np.isfinite(model.get_weights()).all()
    assert np.array_equal(model.get_weights(), epoch_ends[-1])
    assert len(info.value.history.epoch) == len(epoch_ends) - 1


BAD_INPUTS = {
    "wrong input width": (np.zeros((4, 3)), [0, 1, 0, 1], gn.ShapeError, "expects 2 input"),
    "images not flattened": (np.zeros((4, 1, 2)), [0, 1, 0, 1], gn.ShapeError, "flatten"),
    "label out of range": (np.zeros((4, 2)), [0, 1, 2, 1], gn.DataError, r"in \[0, 1\]"),
    "negative label": (np.zeros((4, 2)), [0, -1, 0, 1], gn.DataError, r"in \[0, 1\]"),
    "NaN input": (np.array([[0, np.nan]] * 4), [0, 1, 0, 1], gn.DataError, "NaN"),
    "inf input": (np.array([[0, np.inf]] * 4), [0, 1, 0, 1], gn.DataError, "infinite"),
    "empty data": (np.zeros((0, 2)), [], gn.DataError, "empty"),
    "non-numeric X": (np.array([["a", "b"]] * 4), [0, 1, 0, 1], TypeError, "numeric"),
    "non-numeric y": (np.zeros((4, 2)), ["a", "b", "a", "b"], TypeError, "numeric"),
    "length mismatch": (np.zeros((4, 2)), [0, 1, 0], gn.DataError, "4 samples but y has 3"),
    "fractional float labels": (
        np.zeros((4, 2)),
        [0.0, 1.5, 0.0, 1.0],
        gn.DataError,
        "not whole numbers",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_rejected_before_any_weight_changes(case):
    X, y, error, message = BAD_INPUTS[case]
    model = gn.MLP([2, 3, 2], seed=0)
    before = model.get_weights()
    with pytest.raises(error, match=message) as raised:
        model.fit(X, y, epochs=1)
    assert np.array_equal(model.get_weights(), before)
    # the error raised, not the class the table names, is one of the standard types users catch
    assert type(raised.value) is error
    assert isinstance(raised.value, TypeError if error is TypeError else ValueError)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "32"])
def test_batch_size_must_be_a_positive_whole_number(batch_size):
    model = gn.MLP([2, 3, 2], seed=0)
    before = model.get_weights()
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        model.fit(np.zeros((4, 2)), [0, 1, 0, 1], batch_size=batch_size)
    assert np.array_equal(model.get_weights(), before)


def test_whole_float_labels_are_accepted():
    model = gn.MLP([2, 3, 2], seed=0)
    model.fit(np.zeros((4, 2)), np.array([0.0, 1.0, 1.0, 0.0]), epochs=1)
    assert model.optimizer.iterations == 1


def test_float32_is_kept_through_training():
    model = gn.MLP([2, 3, 2], seed=0)
    X = np.zeros((4, 2), np.float64)
    model.fit(X, [0, 1, 0, 1], epochs=2)
    assert model.get_weights().dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32


def test_a_deep_copy_trains_like_the_original():
    import copy

    X = np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = gn.MLP([3, 4, 2], seed=0)
    model.fit(X, y, epochs=1, optimizer="adam", seed=0)
    twin = copy.deepcopy(model)
    model.fit(X, y, epochs=2, seed=1)
    twin.fit(X, y, epochs=2, seed=1)
    assert np.array_equal(twin.get_weights(), model.get_weights())
    twin.parameter("dense_0.W").value[0, 0] = 42.0
    assert twin.get_weights()[0] == 42.0 and model.get_weights()[0] != 42.0


def test_a_callback_can_stop_training_after_a_batch():
    class StopAtBatch3(gn.Callback):
        def on_batch_end(self, batch, logs):
            if batch == 2:
                self.model.stop_training = True

    model = gn.MLP([2, 3, 2], seed=0)
    history = model.fit(
        np.zeros((100, 2), np.float32),
        np.zeros(100, int),
        epochs=5,
        batch_size=10,
        callbacks=[StopAtBatch3()],
    )
    assert history.stopped_early and not history.interrupted and history.epoch == []
    assert model.optimizer.iterations == 3
