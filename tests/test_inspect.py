import numpy as np
import pytest

import glassnet as gn


@pytest.fixture
def model():
    return gn.MLP([4, 3, 2], activation="sigmoid", seed=0)


def test_trace_shows_every_neurons_numbers_computed_by_hand(model):
    x = np.array([0.5, -1.0, 2.0, 0.0], dtype=np.float32)
    trace = model.trace(x)
    W0, b0 = model.parameter("dense_0.W").value, model.parameter("dense_0.b").value
    W1, b1 = model.parameter("dense_1.W").value, model.parameter("dense_1.b").value
    z0 = x @ W0 + b0
    a0 = 1 / (1 + np.exp(-z0))
    z1 = a0 @ W1 + b1
    p = np.exp(z1 - z1.max()) / np.exp(z1 - z1.max()).sum()
    hidden, output = trace.layers
    assert (hidden.name, hidden.activation, output.activation) == ("dense_0", "sigmoid", "softmax")
    np.testing.assert_allclose(hidden.z, z0, rtol=1e-6)
    np.testing.assert_allclose(hidden.a, a0, rtol=1e-6)
    np.testing.assert_allclose(output.inputs, a0, rtol=1e-6)
    np.testing.assert_allclose(output.z, z1, rtol=1e-5)
    np.testing.assert_allclose(trace.output, p, rtol=1e-5)
    steps = trace.softmax
    np.testing.assert_allclose(steps.exponentials / steps.total, steps.probabilities, rtol=1e-6)
    assert trace.prediction == int(p.argmax()) == model.predict(x[None])[0]


def test_trace_uses_the_same_numbers_as_prediction(mnist_test):
    X, _ = mnist_test
    model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    for x in X[:5]:
        assert np.array_equal(model.trace(x).output, model.predict_proba(x[None])[0])


def test_neuron_is_a_view_into_the_weights(model):
    neuron = model.neuron(0, 2)
    assert neuron.weights.shape == (4,) and neuron.activation == "sigmoid"
    model.parameter("dense_0.W").value[1, 2] = 7.0
    assert neuron.weights[1] == 7.0
    assert model.neuron("dense_1", 1).activation == "softmax"


def test_neuron_with_an_input_explains_its_arithmetic(model):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    neuron = model.neuron(0, 1, x)
    w = model.parameter("dense_0.W").value[:, 1]
    b = model.parameter("dense_0.b").value[1]
    assert neuron.z == pytest.approx(float(x @ w + b), rel=1e-5)
    assert neuron.a == pytest.approx(1 / (1 + np.exp(-neuron.z)), rel=1e-5)
    text = neuron.formula()
    assert f"{neuron.z:.6g}" in text and "sigmoid" in text and f"{w[3]:.4g}×4" in text


def test_trace_to_dict_is_json_ready(model):
    import json

    data = json.loads(json.dumps(model.trace(np.ones(4)).to_dict()))
    assert [layer["name"] for layer in data["layers"]] == ["dense_0", "dense_1"]
    assert abs(sum(data["softmax"]["probabilities"]) - 1) < 1e-6


def test_unknown_layer_or_neuron_is_explained(model):
    with pytest.raises(IndexError, match=r"0 to 2\), got index=3"):
        model.neuron(0, 3)
    with pytest.raises(IndexError, match="0 is the first hidden layer"):
        model.neuron(5, 0)
    with pytest.raises(KeyError, match="dense_0"):
        model.neuron("dense_7", 0)
