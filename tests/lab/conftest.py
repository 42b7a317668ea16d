"""Fixtures for the lab: a small trained network, an app around it, and drawings of real digits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

pytest.importorskip("starlette", reason="the lab needs: pip install 'glassnet[lab]'")

from starlette.testclient import TestClient  # noqa: E402

from glassnet.lab import server  # noqa: E402

BASE_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="session")
def data_dir(mnist_dir) -> Path:
    """The folder holding ``mnist/`` (the real MNIST test set), for `glassnet.datasets.load`."""
    return mnist_dir.parent


@pytest.fixture(scope="session")
def lab_model(mnist_test) -> gn.Sequential:
    """784-16-16-10 sigmoid trained briefly on 8,000 real MNIST test digits (about 92 %)."""
    X, y = mnist_test
    model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    model.fit(X[:8000], y[:8000], epochs=5, batch_size=32, learning_rate=0.005, seed=0)
    model.class_names = [str(i) for i in range(10)]
    model.preprocessing = {  # as `glassnet train` records it for MNIST
        "kind": "image",
        "image_size": [28, 28],
        "color": "grayscale",
        "scale": 1 / 255,
        "mnist_centering": True,
    }
    return model


@pytest.fixture
def model_dir(tmp_path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def app(lab_model, model_dir, data_dir):
    return server.create_app(lab_model, model_dir, model_name="test model", data_dir=data_dir)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def digit(mnist_test) -> np.ndarray:
    """A real MNIST test digit (index 8026, a 3, not trained on) as 0–255 levels (28, 28)."""
    X, _ = mnist_test
    return np.round(X[8026] * 255).astype(np.uint8).reshape(28, 28)
