"""The learning map (issue 14): p(label) per example and epoch, its statistics and ranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import datasets
from glassnet.errors import DataError
from glassnet.models import architecture
from glassnet.train.cartography import LearningMap, load_map, statistics

FASHION = Path("/usr/share/datasets/fashion-mnist")
CNN = "conv16-pool-conv32-pool-dense64"  # benchmarks/label_noise.py's network
needs_fashion = pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


def test_map_records_the_probability_of_each_label_from_the_epochs_own_passes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 5)).astype(np.float32)
    y = rng.integers(0, 3, 70)
    model = gn.MLP([5, 8, 3], activation="tanh", output="softmax", seed=0)
    learning_map = LearningMap()
    # learning rate 0: the weights never move, so every pass sees the same model
    model.fit(X, y, epochs=3, batch_size=16, optimizer="sgd", learning_rate=0.0, seed=1,
              callbacks=[learning_map])  # fmt: skip
    expected = model.predict_proba(X)[np.arange(70), y]
    assert learning_map.probabilities.shape == (3, 70)
    assert learning_map.probabilities.dtype == np.float32
    np.testing.assert_allclose(learning_map.probabilities, np.tile(expected, (3, 1)), rtol=1e-5)
    predicted = model.predict(X)
    np.testing.assert_array_equal(learning_map.predicted, predicted)
    np.testing.assert_array_equal(learning_map.correct, 3 * (predicted == y))
    stats = learning_map.statistics()
    np.testing.assert_allclose(stats.confidence, expected, rtol=1e-5)
    np.testing.assert_allclose(stats.variability, 0.0, atol=1e-6)
    assert sorted(stats.ranking.tolist()) == list(range(70))
    assert learning_map.nbytes == 70 * (4 * 3 + 4 + 2)


class StopAtBatch(gn.Callback):
    """Stop training after batch ``batch`` of the second epoch (as Ctrl-C would)."""

    def __init__(self, batch: int) -> None:
        self.batch, self.epoch = batch, 0

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        if self.epoch == 1 and batch == self.batch:
            self.model.stop_training = True


@pytest.mark.parametrize("pending_rows", [20, 5])  # a flush mid-epoch; batches above the buffer
def test_buffered_outputs_record_the_same_map_and_an_interrupted_epoch_keeps_its_batches(
    pending_rows,
):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 6)).astype(np.float32)
    y = rng.integers(0, 4, 90)
    maps = []
    for learning_map in (LearningMap(), LearningMap(pending_rows=pending_rows)):
        model = gn.MLP([6, 8, 4], activation="relu", output="softmax", seed=0)
        model.fit(X, y, epochs=3, batch_size=16, optimizer="adam", seed=3,
                  callbacks=[learning_map, StopAtBatch(2)])  # fmt: skip
        maps.append(learning_map)
    reference, buffered = maps
    np.testing.assert_array_equal(buffered.probabilities, reference.probabilities)
    np.testing.assert_array_equal(buffered.predicted, reference.predicted)
    np.testing.assert_array_equal(buffered.correct, reference.correct)
    # epoch 0 complete; epoch 1 stopped after its batches 0-2: 48 examples; epoch 2 never ran
    assert np.isfinite(reference.probabilities[0]).all()
    assert np.isfinite(reference.probabilities[1]).sum() == 48
    assert np.isnan(reference.probabilities[2]).all()


def test_map_of_one_sigmoid_output_uses_the_probability_of_each_label():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = gn.MLP([4, 1], output="sigmoid", seed=0)
    learning_map = LearningMap()
    model.fit(X, y, epochs=2, batch_size=8, optimizer="sgd", learning_rate=0.0, shuffle=False,
              callbacks=[learning_map])  # fmt: skip
    p1 = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(learning_map.probabilities[0], np.where(y == 1, p1, 1 - p1),
                               rtol=1e-5)  # fmt: skip


def test_map_refuses_a_regression_model():
    model = gn.MLP([3, 1], output="identity", seed=0)
    X = np.zeros((10, 3), np.float32)
    with pytest.raises(DataError, match="needs a classifier"):
        model.fit(X, np.zeros(10, np.float32), epochs=1, callbacks=[LearningMap()])


def test_statistics_average_only_the_epochs_run_and_a_saved_map_reads_back(tmp_path):
    probabilities = np.array([[0.2, 0.9], [np.nan, 0.7]], np.float32)  # example 0: 1 epoch
    stats = statistics(
        probabilities,
        np.array([0, 1]),
        np.array([1, 1], np.int32),
        np.array([0, 2], np.uint16),
    )
    np.testing.assert_allclose(stats.confidence, [0.2, 0.8], rtol=1e-6)
    np.testing.assert_allclose(stats.variability, [0.0, 0.1], atol=1e-6)
    np.testing.assert_allclose(stats.correctness, [0.0, 1.0])
    assert stats.ranking.tolist() == [0, 1]
    learning_map = LearningMap()
    learning_map.probabilities, learning_map.labels = probabilities, np.array([0, 1])
    learning_map.predicted = np.array([1, 1], np.int32)
    learning_map.correct = np.array([0, 2], np.uint16)
    learning_map.save(tmp_path / "map.npz")
    np.testing.assert_array_equal(load_map(tmp_path / "map.npz").ranking, stats.ranking)
    (tmp_path / "bad.npz").write_bytes(b"not a map")
    with pytest.raises(DataError, match="not a readable learning map"):
        load_map(tmp_path / "bad.npz")


def flipped_fashion(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``n`` Fashion-MNIST training images, 5% of their labels flipped at random."""
    data = datasets.load("fashion-mnist", "train")
    X, y = data.X[:n], data.labels[:n].astype(np.int64)
    rng = np.random.default_rng(1)
    flipped = rng.choice(n, n // 20, replace=False)
    y[flipped] = (y[flipped] + rng.integers(1, 10, len(flipped))) % 10
    return X, y, flipped


def mapped(model: gn.Sequential, X: np.ndarray, y: np.ndarray, epochs: int) -> LearningMap:
    """Train as ``glassnet train`` does for ReLU (Adam 1e-3, cosine with a warm-up epoch)."""
    learning_map = LearningMap()
    schedule = gn.LearningRateScheduler(gn.schedules.CosineDecay(1e-3, total=epochs, warmup=1))
    model.fit(X.reshape(len(X), *model.input_shape), y, epochs=epochs, batch_size=32,
              optimizer="adam", learning_rate=1e-3, seed=0,
              callbacks=[schedule, learning_map])  # fmt: skip
    return learning_map


@needs_fashion
@pytest.mark.slow
def test_the_cnn_map_finds_flipped_fashion_mnist_labels_better_than_the_mlp_map():
    """Issue 14's target, small: 6,000 images, 5% of labels flipped, 5 epochs (12 s).

    The full target, ≥ 90% of the flips in the hardest 5% with 60,000 images and 10 epochs, is
    benchmarks/label_noise.py: 90.7% with this CNN (``glassnet train --arch
    conv16-pool-conv32-pool-dense64 --map``), 88.8% with the 784-128-10 MLP. Here: 82.3% and
    80.0% (mean confidence: 78.3% for the MLP).
    """
    X, y, flipped = flipped_fashion(6000)
    cnn = architecture.build_cnn(CNN, (1, 28, 28), 10, "softmax", "relu", seed=0)
    mlp = gn.MLP([784, 128, 10], activation="relu", output="softmax", seed=0)
    cnn_stats, mlp_stats = (mapped(model, X, y, 5).statistics() for model in (cnn, mlp))
    by_confidence = np.argsort(mlp_stats.confidence, kind="stable")
    held = {
        "cnn": np.isin(cnn_stats.ranking[:300], flipped).mean(),
        "mlp": np.isin(mlp_stats.ranking[:300], flipped).mean(),
        "mlp confidence": np.isin(by_confidence[:300], flipped).mean(),
    }
    assert held["cnn"] >= 0.80, held
    assert held["cnn"] >= held["mlp"] >= held["mlp confidence"], held
