"""One-sample prediction's lean path (issue 12): NumPy and compiled, against the reference.

The reference is the layer code: ``softmax(model.forward(X))``. The NumPy lean path computes its
numbers bit for bit; the compiled one (`glassnet.kernels.forward`) to float rounding, and
`trace` shows exactly what either returned.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels
from glassnet.nn import activations

needs_numba = pytest.mark.skipif(not kernels.numba_installed(), reason="numba is not installed")
PATHS = ["numpy", pytest.param("numba", marks=needs_numba)]
# the compiled path's stated agreement with the reference, per probability
TOLERANCE = {np.float32: 1e-6, np.float64: 1e-13}


def seed_network(kernel, activation="sigmoid", dtype=np.float32, seed=0):
    model = gn.MLP([784, 16, 16, 10], activation, "softmax", seed=seed, dtype=dtype)
    model.kernel = kernel
    return model


def reference(model, X):
    return activations.Softmax().function(model.forward(X.astype(model.dtype)))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_compiled_prediction_matches_the_layer_code(activation, dtype, mnist_test):
    X = mnist_test[0][:20].astype(dtype)
    model = seed_network("numba", activation, dtype)
    for n in (1, 3, 20):
        p = model.predict_proba(X[:n])
        assert model._compiled_fits(n)  # the compiled path ran
        assert p.shape == (n, 10) and p.dtype == dtype and p.flags.c_contiguous
        np.testing.assert_allclose(p, reference(model, X[:n]), rtol=0, atol=TOLERANCE[dtype])
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=10 * TOLERANCE[dtype])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_numpy_lean_prediction_is_the_layer_code_bit_for_bit(activation, mnist_test):
    X = mnist_test[0][:5]
    model = seed_network("numpy", activation)
    assert np.array_equal(model.predict_proba(X[:1]), reference(model, X[:1]))
    assert np.array_equal(model.predict_proba(X), reference(model, X))


@pytest.mark.parametrize("kernel", PATHS)
def test_trace_shows_the_numbers_prediction_returned(kernel, mnist_test):
    model = seed_network(kernel)
    for x in mnist_test[0][:3]:
        trace = model.trace(x)
        assert np.array_equal(trace.output, model.predict_proba(x)[0])
        outputs, _ = model.forward_steps(x)
        assert [layer.name for layer in trace.layers] == ["dense_0", "dense_1", "dense_2"]
        assert np.array_equal(trace.layers[0].z, outputs[0][0])
        assert np.array_equal(trace.layers[0].a, outputs[1][0])
        assert np.array_equal(trace.layers[1].inputs, outputs[1][0])
        assert np.array_equal(trace.layers[2].z, outputs[4][0])
        # and the traced numbers are the textbook's: z = x·W + b, a = σ(z)
        W, b = model.parameter("dense_0.W").value, model.parameter("dense_0.b").value
        z = x.astype(np.float64) @ W + b
        np.testing.assert_allclose(trace.layers[0].z, z, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(trace.layers[0].a, 1 / (1 + np.exp(-z)), atol=1e-6)


@pytest.mark.parametrize("kernel", PATHS)
def test_prediction_is_deterministic_and_follows_weight_changes(kernel, mnist_test):
    X = mnist_test[0][:4]
    model = seed_network(kernel)
    first = model.predict_proba(X[:1])
    assert np.array_equal(model.predict_proba(X[:1]), first)
    assert np.array_equal(seed_network(kernel).predict_proba(X[:1]), first)
    # weights changed in place (as fit and set_weights do) and a copy with its own buffer
    model.set_weights(model.get_weights() * 1.5)
    changed = model.predict_proba(X[:1])
    assert not np.array_equal(changed, first)
    np.testing.assert_allclose(changed, reference(model, X[:1]), atol=1e-6)
    assert np.array_equal(copy.deepcopy(model).predict_proba(X[:1]), changed)
    model.fit(X, [0, 1, 2, 3], epochs=1, batch_size=4, learning_rate=0.5, seed=0)
    np.testing.assert_allclose(model.predict_proba(X[:1]), reference(model, X[:1]), atol=1e-6)


@needs_numba
def test_networks_the_kernel_does_not_cover_take_the_numpy_path(mnist_test):
    X = mnist_test[0][:64]
    # LeakyReLU is not compiled; nor is a batch past COMPILED_MAX_MACS (64 × 12,960 here)
    leaky = seed_network("numba", "leaky_relu")
    assert np.array_equal(leaky.predict_proba(X[:1]), reference(leaky, X[:1]))
    model = seed_network("numba")
    assert not model._compiled_fits(64)
    assert np.array_equal(model.predict_proba(X), reference(model, X))
    # a Dense layer without bias is compiled (z = x·W)
    layers = [gn.Dense(784, 8, use_bias=False, rng=0), gn.Tanh(), gn.Dense(8, 3, rng=1)]
    no_bias = gn.Sequential(layers, output="softmax", seed=0)
    no_bias.kernel = "numba"
    p = no_bias.predict_proba(X[:2])
    assert no_bias._compiled_fits(2)
    np.testing.assert_allclose(p, reference(no_bias, X[:2]), atol=1e-6)


def test_kernel_numba_without_numba_is_a_clear_error(monkeypatch, mnist_test):
    model = seed_network("numba")
    monkeypatch.setattr(kernels, "numba_installed", lambda: False)
    with pytest.raises(kernels.KernelUnavailableError, match=r"pip install glassnet\[fast\]"):
        model.predict_proba(mnist_test[0][:1])
    model.kernel = "auto"  # falls back to NumPy
    x = mnist_test[0][:1]
    assert np.array_equal(model.predict_proba(x), reference(model, x))


@needs_numba
def test_one_call_prediction_is_the_lean_path_bit_for_bit(mnist_test):
    """Regression test for issue 12: the one-call predict_proba (input check inside the
    compiled call) returns the numbers of the checked lean path and of trace, bit for bit."""
    model = seed_network("numba")
    X = np.ascontiguousarray(mnist_test[0][:3])
    assert model._one_call_proba(X[:1]) is None  # no plan yet: the first call builds it
    first = model.predict_proba(X[:1])
    assert np.array_equal(model._one_call_proba(X[:1]), first)
    for x in (X[:1], X, X[0]):  # a batch of one, of three, and one sample without a batch axis
        fast = model._one_call_proba(x)
        assert fast is not None
        checked = model.lean_proba(model.check_inputs(x))
        assert np.array_equal(fast, checked)
        assert np.array_equal(model.predict_proba(x), fast)
        assert np.array_equal(model.forward_steps(x)[1], fast)
    # what the one call does not take goes the checked way, with the same numbers
    assert model._one_call_proba(X[:, ::2]) is None  # wrong width: check_inputs explains
    assert model._one_call_proba(X.astype(np.float64)) is None  # converted by check_inputs
    assert np.array_equal(model.predict_proba(X.astype(np.float64)), model.predict_proba(X))
    assert model._one_call_proba(X.tolist()) is None


@pytest.mark.parametrize("kernel", PATHS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_bad_one_sample_input_gets_the_checked_error(kernel, bad, mnist_test):
    model = seed_network(kernel)
    x = mnist_test[0][:1].copy()  # (the fixture's array is shared: not written to)
    x[0, 100] = bad
    with pytest.raises(gn.DataError, match=r"X contains NaN or infinite values \(first at"):
        model.predict_proba(x)
    with pytest.raises(gn.ShapeError, match="expects 784 input features, got X with shape"):
        model.predict_proba(np.ascontiguousarray(mnist_test[0][:1, :700]))
    with pytest.raises(gn.DataError, match="X is empty"):
        model.predict_proba(x[:0])
