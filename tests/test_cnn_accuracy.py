"""How well a CNN learns real digits (issue 11), sized to run in CI.

cnn2 (conv 32 3×3, pool, conv 64 3×3, pool, dense 128, 10) on the shared MNIST test set split
8,000/2,000: two epochs of Adam in batches of 32, the learning rate warming up to 2e-3 over 50
steps and then following a cosine down to 0, reach 98.6% on the 2,000 held-out digits (measured
with one BLAS thread, about 16 s). The Fashion-MNIST target (91.5% after 10 epochs on 60,000
images) is a benchmark figure: `python benchmarks/cnn.py --epochs 10`.
"""

from __future__ import annotations

import pytest

import glassnet as gn


@pytest.mark.slow
def test_cnn2_learns_mnist_digits_to_98_5_percent(mnist_test):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = mnist_test
    images = X.reshape(-1, 1, 28, 28)
    model = gn.CNN((1, 28, 28), [32, 64], dense=[128], n_classes=10, seed=0)
    schedule = gn.schedules.CosineDecay(2e-3, total=2 * 250, warmup=50)  # 250 batches an epoch
    optimizer = gn.Adam(model.parameters(), learning_rate=schedule)
    # one BLAS thread: the figure is the same on any machine, and these skinny products run
    # faster on one thread than on two
    with threadpoolctl.threadpool_limits(1):
        model.fit(images[:8000], y[:8000], epochs=2, batch_size=32, optimizer=optimizer, seed=0)
        scores = model.evaluate(images[8000:], y[8000:])
    assert scores["accuracy"] >= 0.985
