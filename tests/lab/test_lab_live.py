"""The live view while training (issue 13): snapshots of the network being trained, at a bounded
rate, that the page's input is run through, and gradient health in the progress messages."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
from lab_helpers import drawing_of, packed, wait_for

from glassnet.lab import sources
from glassnet.lab.training import SNAPSHOTS_PER_SECOND, Trainer, TrainingConfig


@pytest.fixture
def trainer(data_dir):
    worker = Trainer(functools.partial(sources.load_training_data, data_dir=data_dir))
    yield worker
    worker.stop()
    worker.join(10)


def test_progress_carries_gradient_health_and_snapshots_at_a_bounded_rate(trainer):
    began = time.monotonic()
    run = trainer.start(TrainingConfig(hidden=(16,), epochs=2, samples=2000, batch_size=16))
    trainer.join(60)
    elapsed = time.monotonic() - began
    assert run.status == "done"
    batches = [m for m in run.messages if m["type"] == "batch"]
    epochs = [m for m in run.messages if m["type"] == "epoch"]
    snapshots = [m for m in run.messages if m["type"] == "snapshot"]
    # each batch message: every layer's mean gradient norm since the previous message
    assert all(set(m["grad_norm"]) == {"dense_0", "dense_1"} for m in batches)
    assert all(0 < v < 1e3 for m in batches for v in m["grad_norm"].values())
    for m in epochs:
        assert (
            set(m["health"]["grad_norm"])
            == set(m["health"]["update_ratio"])
            == {
                "dense_0",
                "dense_1",
            }
        )
        assert all(0 < v < 1 for v in m["health"]["update_ratio"].values())
    # snapshots: numbered 1, 2, ...; one before training, one per epoch end, and in between at
    # most SNAPSHOTS_PER_SECOND (however fast the batches go)
    assert [m["frame"] for m in snapshots] == list(range(1, len(snapshots) + 1))
    assert len(snapshots) <= 1 + len(epochs) + SNAPSHOTS_PER_SECOND * elapsed + 1
    assert snapshots[-1]["step"] == epochs[-1]["step"]
    frame, model = run.snapshot
    assert frame == len(snapshots)
    # the last snapshot is a copy of the trained network (taken at the last epoch's end)
    assert model is not run.model
    np.testing.assert_array_equal(model.get_weights(), run.model.get_weights())
    assert model.class_names == run.model.class_names
    assert model.preprocessing == run.model.preprocessing


def test_the_drawing_goes_through_the_newest_snapshot_while_training_runs(client, digit):
    body = {"image": packed(drawing_of(digit))}
    refused = client.post("/api/train/predict", json=body)
    assert refused.status_code == 409 and "start one" in refused.json()["error"]
    settings = {"hidden": [8], "epochs": 50, "samples": 10_000, "batch_size": 1}
    assert client.post("/api/train", json=settings).status_code == 202
    run = client.app.state.lab.trainer.run
    wait_for(lambda: run.snapshot is not None and run.snapshot[0] >= 2)
    first = client.post("/api/train/predict", json=body).json()
    wait_for(lambda: run.snapshot[0] >= first["live"]["frame"] + 2)
    second = client.post("/api/train/predict", json=body).json()
    # the view keeps updating: a later snapshot, other weights, another output
    assert second["live"]["frame"] > first["live"]["frame"]
    assert second["live"]["step"] > first["live"]["step"]
    assert second["output"] != first["output"]
    assert second["model"]["sizes"] == [784, 8, 10]
    assert second["model"]["links"] != first["model"]["links"]  # connections of the new weights
    assert client.post("/api/train/stop", json={}).status_code == 202
    client.app.state.lab.trainer.join(10)
    # once stopped, the snapshot stays: the answer is exactly that network's on the input
    frame, model = run.snapshot
    last = client.post("/api/train/predict", json=body).json()
    assert last["live"] == {
        "run": run.id,
        "frame": frame,
        "step": last["live"]["step"],
        "status": "stopped",
    }
    x = np.array(last["input"], np.float32)
    np.testing.assert_allclose(last["output"], model.predict_proba(x[None])[0], rtol=1e-6)
    trace = model.trace(x)
    np.testing.assert_allclose(last["layers"][0]["a"], trace.layers[0].a, rtol=1e-6)
    # the page's own model is untouched (a stopped run is not adopted unasked)
    served = client.post("/api/predict", json=body).json()
    assert served["model_version"] == 1 and served["output"] != last["output"]


def test_an_input_the_trained_network_cannot_take_is_a_422(client):
    assert (
        client.post("/api/train", json={"hidden": [4], "epochs": 1, "samples": 200}).status_code
        == 202
    )
    run = client.app.state.lab.trainer.run
    client.app.state.lab.trainer.join(30)
    assert run.snapshot is not None
    answer = client.post("/api/train/predict", json={"row": {"size": 3}})
    assert answer.status_code == 422 and "not trained on a table" in answer.json()["error"]
    answer = client.post("/api/train/predict", json={"input": [0.5, 0.5]})
    assert answer.status_code == 422 and "784 input values" in answer.json()["error"]
