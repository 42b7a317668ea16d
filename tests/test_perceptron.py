import itertools

import numpy as np

import glassnet as gn

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def test_perceptron_learns_and_and_or():
    for y in ([0, 0, 0, 1], [0, 1, 1, 1]):
        perceptron = gn.Perceptron(2).fit(X, y)
        assert perceptron.converged_
        assert np.array_equal(perceptron.predict(X), y)
        assert perceptron.errors_[-1] == 0


def test_perceptron_rule_by_hand_on_and():
    p = gn.Perceptron(2)
    p.fit(X, [0, 0, 0, 1], epochs=1)
    # epoch 1: (0,0): 0>0 false → ŷ=0 ok; (0,1) ok; (1,0) ok; (1,1): ŷ=0, y=1 → w=[1,1], b=1
    np.testing.assert_array_equal(p.weights, [1.0, 1.0])
    assert p.bias == 1.0 and p.errors_ == [1]


def test_perceptron_never_converges_on_xor():
    y = np.array([0, 1, 1, 0])
    perceptron = gn.Perceptron(2).fit(X, y, epochs=1000)
    assert not perceptron.converged_ and min(perceptron.errors_) > 0
    # and no threshold unit can do better than 3 of 4, whatever its weights (grid search):
    grid = np.linspace(-2, 2, 41)
    best = max(
        np.mean(((X @ [w1, w2] + b) > 0).astype(int) == y)
        for w1, w2, b in itertools.product(grid, grid, grid)
    )
    assert best == 0.75


def test_the_perceptron_is_an_ordinary_inspectable_model():
    perceptron = gn.Perceptron(2).fit(X, [0, 1, 1, 1])
    trace = perceptron.model.trace([1.0, 0.0])
    assert trace.layers[0].activation == "step" and trace.output[0] == 1.0


def test_an_mlp_with_a_hidden_layer_solves_xor():
    model = gn.MLP([2, 4, 1], activation="sigmoid", seed=1)
    model.fit(X, [0, 1, 1, 0], epochs=2000, batch_size=4, optimizer="sgd", learning_rate=2.0)
    assert np.array_equal(model.predict(X), [0, 1, 1, 0])
