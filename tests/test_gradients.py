"""explain_gradient (issue 13): the chain rule's numbers are backward's, and finite differences
agree, for every loss and every registered layer type, in float64."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import LAYER_TYPES

# type name → a layer to place between Dense(5, 4) and Dense(4, k), or None for Dense itself
# (then the model is Dense → Tanh → Dense). A new registered type needs an entry here.
MIDDLE = {
    "Dense": None,
    "Dropout": lambda: gn.Dropout(0.3, rng=0),
    "Step": lambda: gn.Step(threshold=0.25),
    "Sigmoid": gn.Sigmoid,
    "Tanh": gn.Tanh,
    "ReLU": gn.ReLU,
    "LeakyReLU": lambda: gn.LeakyReLU(alpha=0.1),
    "Softmax": gn.Softmax,
    "Identity": gn.Identity,
}
BUILT_IN = sorted(n for n, c in LAYER_TYPES.items() if c.__module__.startswith("glassnet."))
# output → (number of outputs, a label for one example)
OUTPUTS = {"softmax": (3, 2), "sigmoid": (1, 1), "identity": (2, [0.5, -1.5])}


def _model(type_name: str, output: str) -> gn.Sequential:
    k = OUTPUTS[output][0]
    rng = np.random.default_rng(1)
    make = MIDDLE[type_name]
    middle = gn.Tanh() if make is None else make()
    layers = [
        gn.Dense(5, 4, dtype=np.float64, rng=rng),
        middle,
        gn.Dense(4, k, dtype=np.float64, rng=rng),
    ]
    return gn.Sequential(layers, output=output)


def _x():
    x = np.random.default_rng(2).standard_normal(5)
    return np.where(np.abs(x) < 0.05, 0.3, x)  # away from the kinks


def _backward_grads(model, x, label):
    """The gradients of one plain Sequential.forward/backward, for comparison."""
    loss = model.resolve_loss(None)
    y = model.check_targets(np.asarray(label).reshape(1, *np.shape(label)), 1)
    out = model.forward(model.check_inputs(x[None]))
    model.backward(loss.gradient(out, y))
    return {name: p.grad.copy() for name, p in model.named_parameters().items()}


def test_every_registered_layer_type_has_a_model():
    assert sorted(MIDDLE) == BUILT_IN


@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("type_name", BUILT_IN)
def test_explained_gradients_are_backwards_and_match_finite_differences(type_name, output):
    model = _model(type_name, output)
    x, label = _x(), OUTPUTS[output][1]
    expected = _backward_grads(model, x, label)
    for name, param in model.named_parameters().items():
        for index in [
            tuple(int(i) for i in np.unravel_index(k, param.shape)) for k in (0, param.size - 1)
        ]:
            g = model.explain_gradient(name, index, x, label)
            assert g.value == expected[name][index]  # exactly backward's number
            assert g.value_float64 == g.value  # the model is float64 already
            assert abs(g.value - g.finite_difference) < 1e-6 * max(1.0, abs(g.value))
            holder = g.layers[-1]
            if name.endswith(".W"):
                assert g.value == pytest.approx(g.input_value * holder.delta[g.neuron], abs=1e-15)
            else:
                assert g.value == pytest.approx(holder.delta[g.neuron], abs=1e-15)
            text = g.formula()
            assert name in text and "finite difference" in text


@pytest.mark.parametrize("type_name", BUILT_IN)
def test_each_delta_is_the_slope_times_the_weighted_sum_from_above(type_name):
    model = _model(type_name, "softmax")
    g = model.explain_gradient("dense_0.W", (1, 2), _x(), 1)
    upper, lower = g.layers
    assert np.allclose(lower.upstream, upper.weights @ upper.delta, atol=1e-15)  # Σₖ Wⱼₖ δₖ
    if type_name == "Softmax":  # not elementwise: no single f′(z), said so in the text
        assert lower.slope is None and "Jacobian of softmax" in g.formula()
    else:
        assert np.allclose(lower.delta, lower.slope * lower.upstream, atol=1e-15)
        assert "δⱼ = f′(zⱼ)·Σₖ Wⱼₖ δₖ" in g.formula()


@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_output_error_is_p_minus_y_for_the_paired_loss(output):
    model = _model("Dense", output)
    k, label = OUTPUTS[output]
    g = model.explain_gradient("dense_1.b", 0, _x(), label)
    if output == "identity":
        expected = 2 * (g.output - np.asarray(label)) / k
    else:
        expected = (g.output - g.target) / (1 if output == "softmax" else k)
    assert np.allclose(g.output_error, expected, atol=1e-15)


def test_a_float32_model_is_checked_on_a_float64_copy(mnist_test):
    X, y = mnist_test
    model = gn.MLP([784, 16, 10], activation="sigmoid", seed=0)
    model.fit(X[:500], y[:500], epochs=1, seed=0)
    weights = model.get_weights()
    g = model.explain_gradient("dense_0.W", (400, 3), X[0], int(y[0]))
    assert model.parameter("dense_0.W").grad[400, 3] == np.float32(g.value)
    assert abs(g.value_float64 - g.finite_difference) < 1e-6
    assert abs(g.value - g.value_float64) < 1e-5
    assert model.parameter("dense_0.W").value.dtype == np.float32
    assert np.array_equal(model.get_weights(), weights)  # the weights are not touched
    assert f"label {y[0]}" in g.formula()


@pytest.mark.parametrize(
    "args, error, words",
    [
        (("dense_9.W", (0, 0), 1), KeyError, "No parameter named 'dense_9.W'"),
        (("dense_0.W", (5, 0), 1), IndexError, "shape (5, 4)"),
        (("dense_0.W", 3, 1), IndexError, "needs 2 whole numbers"),
        (("dense_0.b", (1.5,), 1), IndexError, "whole numbers"),
        (("dense_0.W", (0, 0), 3), gn.DataError, "Class labels must be in [0, 2]"),
    ],
)
def test_bad_requests_say_what_was_wrong(args, error, words):
    model = _model("Dense", "softmax")
    weights = model.get_weights()
    name, index, label = args
    with pytest.raises(error) as caught:
        model.explain_gradient(name, index, _x(), label)
    assert words in str(caught.value)
    assert np.array_equal(model.get_weights(), weights)


@gn.register
class ScaleShift(gn.Layer):
    """y = x·g + c per feature: a layer with parameters but no neurons (as BatchNorm's γ, β)."""

    input_rank = 1

    def __init__(self, n: int, dtype=np.float32, name=None):
        super().__init__(name)
        self.n, self._dtype = n, np.dtype(dtype)
        rng = np.random.default_rng(5)
        self.g = gn.Parameter(rng.uniform(0.5, 1.5, n).astype(self._dtype))
        self.c = gn.Parameter(rng.normal(0, 0.1, n).astype(self._dtype))

    @property
    def dtype(self):
        return self._dtype

    def forward(self, x, training=False):
        self._x = x
        return x * self.g.value + self.c.value

    def backward(self, grad_y):
        self.g.grad[...] = (grad_y * self._x).sum(axis=0)
        self.c.grad[...] = grad_y.sum(axis=0)
        return grad_y * self.g.value

    def named_parameters(self):
        return {"g": self.g, "c": self.c}

    @classmethod
    def state_shapes(cls, config, input_shape):
        return {"g": (config["n"],), "c": (config["n"],)}, {}

    def get_config(self):
        return {"n": self.n}


def test_a_layer_without_neurons_says_so_and_still_checks_out():
    rng = np.random.default_rng(1)
    layers = [
        gn.Dense(5, 4, dtype=np.float64, rng=rng),
        ScaleShift(4, dtype=np.float64),
        gn.Tanh(),
        gn.Dense(4, 3, dtype=np.float64, rng=rng),
    ]
    model = gn.Sequential(layers, output="softmax")
    expected = _backward_grads(model, _x(), 1)
    g = model.explain_gradient("scaleshift_0.g", (2,), _x(), 1)
    assert g.value == expected["scaleshift_0.g"][2]
    assert abs(g.value - g.finite_difference) < 1e-6
    assert g.neuron is None and "has no single-neuron formula" in g.formula()
    # a Dense weight below it: δ comes back through its backward, and the formula says so
    below = model.explain_gradient("dense_0.W", (1, 3), _x(), 1)
    assert below.value == expected["dense_0.W"][1, 3]
    assert abs(below.value - below.finite_difference) < 1e-6
    assert "δⱼ = f′(zⱼ)·∂L/∂aⱼ from scaleshift_0's backward" in below.formula()
    assert below.layers[1].upstream[3] * below.layers[1].slope[3] == below.layers[1].delta[3]
