"""Per-sample shapes, the one input-check template, and names given by layers (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.parameter import Parameter


def test_input_shape_comes_from_the_first_layer_that_knows_it():
    model = gn.Sequential([gn.ReLU(), gn.Dense(6, 3), gn.Tanh(), gn.Dense(3, 2)], output="softmax")
    assert model.input_shape == (6,) and model.output_shape == (2,)
    assert (model.n_inputs, model.n_outputs) == (6, 2)


def test_an_explicit_input_shape_is_used_and_checked():
    model = gn.Sequential([gn.ReLU(), gn.Dropout(0.2)], input_shape=(2, 3))
    assert model.input_shape == model.output_shape == (2, 3) and model.n_inputs == 6
    with pytest.raises(ValueError, match=r"input_shape must be a tuple of positive sizes"):
        gn.Sequential([gn.Dense(2, 2)], input_shape=(0, 2))
    with pytest.raises(ValueError, match="cannot tell the input's shape"):
        gn.Sequential([gn.ReLU()])


def test_output_shape_is_pure_and_names_the_layer():
    layer = gn.Dense(784, 16, name="dense_0")
    before = layer.W.value.copy()
    assert layer.output_shape((784,)) == (16,)
    np.testing.assert_array_equal(layer.W.value, before)
    with pytest.raises(gn.ShapeError, match=r"^Dense 'dense_0' \(784 → 16\) expects 784 inputs"):
        layer.output_shape((100,))
    with pytest.raises(
        gn.ShapeError,
        match=r"^Dense 'dense_0' \(784 → 16\) expects \(batch, 784\), got \(28, 28\)\. "
        r"Did you forget to flatten\?$",
    ):
        layer.output_shape((28, 28))
    assert gn.ReLU().output_shape((3, 4, 5)) == (3, 4, 5)


def test_a_model_checks_that_shapes_chain_when_built():
    with pytest.raises(gn.ShapeError, match=r"Dense 'dense_1' \(5 → 2\) expects 5 inputs"):
        gn.Sequential([gn.Dense(3, 4), gn.ReLU(), gn.Dense(5, 2)])
    with pytest.raises(gn.ShapeError, match=r"Dense 'dense_0' \(12 → 2\) expects \(batch, 12\)"):
        gn.Sequential([gn.Dense(12, 2)], input_shape=(3, 4))


def test_the_first_layers_skip_the_input_gradient_up_to_the_first_with_parameters():
    model = gn.Sequential([gn.Dropout(0.1), gn.Dense(4, 3), gn.ReLU(), gn.Dense(3, 2)])
    assert [layer.input_grad for layer in model.layers] == [False, False, True, True]


class ThreeParameters(gn.Layer):
    """A test layer with three parameters: y = (x @ W + b) * gamma."""

    def __init__(self, n=3, name=None):
        super().__init__(name)
        rng = np.random.default_rng(0)
        self.W = Parameter(rng.standard_normal((n, n)).astype(np.float32))
        self.b = Parameter(np.zeros(n, np.float32))
        self.gamma = Parameter(np.ones(n, np.float32))
        self.input_shape_ = (n,)

    @property
    def input_shape(self):
        return self.input_shape_

    @property
    def dtype(self):
        return np.dtype(np.float32)

    def named_parameters(self):
        return {"W": self.W, "b": self.b, "gamma": self.gamma}


def test_layers_name_their_own_parameters_and_no_name_is_lost():
    # Regression (issue 10): names came from zip(params, ("W", "b")), which gave a third
    # parameter the name "" and let named_parameters() merge two parameters silently.
    model = gn.Sequential([ThreeParameters(name="three"), gn.Dense(3, 2)])
    assert list(model.named_parameters()) == [
        "three.W",
        "three.b",
        "three.gamma",
        "dense_0.W",
        "dense_0.b",
    ]
    assert len(model.named_parameters()) == len(model.parameters())


class SharedName(ThreeParameters):
    def named_parameters(self):
        return {"W": self.W, "b": self.b}

    def named_buffers(self):
        return {}

    def parameters(self):  # a layer whose lists disagree with its names
        return [self.W, self.b, self.gamma]


def test_two_parameters_with_one_name_are_an_error_not_a_silent_merge():
    model = gn.Sequential([SharedName(name="odd"), gn.Dense(3, 2)])
    model.parameters()[2].name = "odd.W"
    with pytest.raises(ValueError, match=r"Two parameters are named 'odd\.W'"):
        model.named_parameters()


def test_model_input_check_uses_per_sample_shapes():
    model = gn.Sequential([gn.ReLU(), gn.Dense(6, 2)], input_shape=(6,))
    with pytest.raises(gn.ShapeError, match="flatten"):
        model.predict(np.zeros((4, 2, 3)))
    images = gn.Sequential([gn.ReLU(), gn.Dropout(0.1)], input_shape=(1, 2, 3))
    assert images.predict(np.zeros((5, 1, 2, 3))).shape == (5, 1, 2, 3)
    assert images.predict(np.zeros((1, 2, 3))).shape == (1, 1, 2, 3)  # one sample
    with pytest.raises(gn.ShapeError, match=r"Reshape with X\.reshape\(-1, 1, 2, 3\)"):
        images.predict(np.zeros((5, 6)))
