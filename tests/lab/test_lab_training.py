"""The training worker: one run at a time, on a copy, stoppable after any batch."""

from __future__ import annotations

import base64
import functools

import numpy as np
import pytest
from lab_helpers import wait_for

from glassnet import MLP
from glassnet.lab import sources, training
from glassnet.lab.training import Trainer, TrainingBusyError, TrainingConfig


@pytest.fixture
def trainer(data_dir):
    worker = Trainer(functools.partial(sources.load_training_data, data_dir=data_dir))
    yield worker
    worker.stop()
    worker.join(10)


def test_stop_takes_effect_after_the_current_batch_not_at_the_epoch_end(trainer):
    config = TrainingConfig(hidden=(16,), epochs=3, samples=10_000, batch_size=4)
    run = trainer.start(config)
    first = wait_for(lambda: next((m for m in run.messages if m["type"] == "batch"), None))
    assert trainer.stop() is True
    trainer.join(5)
    assert run.status == "stopped" and run.model is not None
    kinds = [m["type"] for m in run.messages]
    assert "epoch" not in kinds  # stopped inside the first epoch of 2,250 batches
    assert first["step"] < 2250
    assert run.messages[-1]["type"] == "end" and "stopped" in run.messages[-1]["message"]
    assert trainer.stop() is False  # nothing left to stop


def test_one_run_at_a_time(trainer):
    trainer.start(TrainingConfig(epochs=20, samples=10_000))
    with pytest.raises(TrainingBusyError, match="already in progress"):
        trainer.start(TrainingConfig(epochs=1))
    trainer.stop()
    trainer.join(5)
    run = trainer.start(TrainingConfig(hidden=(4,), epochs=1, samples=200))  # free again
    trainer.join(10)
    assert run.status == "done"


def test_continuing_trains_a_copy_and_leaves_the_model_alone(trainer):
    current = MLP([784, 8, 10], activation="sigmoid", seed=3)
    weights = current.get_weights()
    run = trainer.start(TrainingConfig(hidden=None, epochs=1, samples=500), current=current)
    trainer.join(10)
    assert run.status == "done" and run.model is not current
    np.testing.assert_array_equal(current.get_weights(), weights)
    assert not np.array_equal(run.model.get_weights(), weights)


def test_a_failure_is_reported_as_a_message(data_dir):
    def broken(name):
        raise OSError(f"disk on fire while reading {name}\n  - /a folder\n  - another")

    worker = Trainer(broken)
    run = worker.start(TrainingConfig())
    worker.join(5)
    assert run.status == "failed" and run.model is None
    assert run.messages[-1] == {
        "type": "end",
        "status": "failed",
        "message": "Training failed: disk on fire while reading mnist",  # one line, no dump
    }


def test_divergence_is_reported_with_its_likely_cause():
    def unscaled(name):  # inputs far too large: the sums overflow and the loss becomes NaN
        X = np.full((200, 784), 1e30, np.float32)
        return sources.TrainingData(X, np.arange(200) % 10, [str(i) for i in range(10)])

    worker = Trainer(unscaled)
    run = worker.start(TrainingConfig(hidden=(8,), activation="relu", samples=200))
    worker.join(10)
    assert run.status == "failed" and run.model is None
    assert "diverged" in run.messages[-1]["message"]
    assert "learning rate" in run.messages[-1]["message"]


def test_the_missing_mnist_training_split_falls_back_to_the_test_split(data_dir):
    data = sources.load_training_data("mnist", data_dir=data_dir)
    assert data.X.shape == (10_000, 784) and data.X.dtype == np.float32
    assert "test images" in data.note
    assert data.class_names == [str(i) for i in range(10)]


def test_weight_pictures_are_the_first_layer_weights_in_int8(lab_model):
    frame = training.weight_pictures(lab_model)
    assert frame["shown"] == frame["neurons"] == 16 and frame["n_inputs"] == 784
    W = lab_model.layers[0].W.value
    for j in (0, 7, 15):
        levels = np.frombuffer(base64.b64decode(frame["levels"][j]), np.int8)
        approx = levels / 127 * frame["scale"][j]
        np.testing.assert_allclose(approx, W[:, j], atol=frame["scale"][j] / 127)
