"""GradientHealth (issue 13): vanishing gradients made visible, on real MNIST digits."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn


def _first_layer_grad_norm(activation, X, y):
    model = gn.MLP([784] + [32] * 5 + [10], activation=activation, seed=0)  # 6 Dense layers
    health = gn.GradientHealth()
    model.fit(
        X,
        y,
        epochs=2,
        batch_size=64,
        optimizer="sgd",
        learning_rate=0.05,
        callbacks=[health],
        seed=0,
    )
    assert health.layers == [f"dense_{i}" for i in range(6)]
    assert all(len(health.grad_norm[name]) == 2 for name in health.layers)
    return health


def test_deep_sigmoid_gradients_vanish_where_relu_ones_do_not(mnist_test):
    X, y = mnist_test
    X, y = X[:1000], y[:1000]
    sigmoid = _first_layer_grad_norm("sigmoid", X, y)
    relu = _first_layer_grad_norm("relu", X, y)
    first_sigmoid, first_relu = sigmoid.grad_norm["dense_0"][0], relu.grad_norm["dense_0"][0]
    assert first_sigmoid < first_relu / 20
    # in the sigmoid net the norm shrinks on the way back: first layer far below the last
    assert sigmoid.grad_norm["dense_0"][0] < sigmoid.grad_norm["dense_5"][0] / 10


def test_update_ratio_is_the_relative_size_of_each_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    model = gn.MLP([3, 4, 2], seed=0)
    health = gn.GradientHealth()
    before = model.parameter("dense_0.W").value.copy(), model.parameter("dense_0.b").value.copy()
    # one batch per epoch, plain SGD: Δθ = −lr·g, so the ratio is lr·‖g‖/‖θ‖
    model.fit(
        X,
        X[:, 0] > 0,
        epochs=1,
        batch_size=64,
        optimizer="sgd",
        learning_rate=0.1,
        callbacks=[health],
    )
    weight_norm = np.sqrt(sum(float((v.astype(np.float64) ** 2).sum()) for v in before))
    expected = 0.1 * health.grad_norm["dense_0"][0] / weight_norm
    assert health.update_ratio["dense_0"][0] == pytest.approx(expected, rel=1e-4)
    assert health.to_dict()["layers"] == ["dense_0", "dense_1"]


def test_plot_draws_one_line_per_layer():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from glassnet.plot import plot_gradient_health

    data = {
        "layers": ["dense_0", "dense_1"],
        "grad_norm": {"dense_0": [1e-4, 2e-4], "dense_1": [0.1, 0.2]},
        "update_ratio": {"dense_0": [1e-5, 1e-5], "dense_1": [1e-3, 1e-3]},
    }
    fig, ax = plt.subplots()
    plot_gradient_health(ax, data)
    assert [line.get_label() for line in ax.get_lines()] == ["dense_0", "dense_1"]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="grad_norm"):
        plot_gradient_health(ax, data, "speed")
    plt.close(fig)
