"""How well a CNN learns real digits (issue 11), sized to run in CI.

cnn2 (conv 32 3×3, pool, conv 64 3×3, pool, dense 128, 10) on the shared MNIST test set split
8,000/2,000: two epochs of Adam 1e-3 in batches of 32 reach 98.3% on the 2,000 held-out digits
(98.4% after four epochs); the issue's 98.5% needs more epochs than CI time allows, so the
assertion is 97.5% (room for other BLAS builds and thread counts). The Fashion-MNIST target
(91.5% after 10 epochs on 60,000 images) is a benchmark figure: `python benchmarks/cnn.py
--epochs 10`.
"""

from __future__ import annotations

import pytest

import glassnet as gn


@pytest.mark.slow
def test_cnn2_learns_mnist_digits_to_97_5_percent(mnist_test):
    X, y = mnist_test
    images = X.reshape(-1, 1, 28, 28)
    model = gn.CNN((1, 28, 28), [32, 64], dense=[128], n_classes=10, seed=0)
    model.fit(images[:8000], y[:8000], epochs=2, batch_size=32, learning_rate=1e-3, seed=0)
    scores = model.evaluate(images[8000:], y[8000:])
    # 98.3% with one BLAS thread; other thread counts round differently, hence the margin
    assert scores["accuracy"] >= 0.975
