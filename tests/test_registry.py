"""Every registered layer type through the same checks (issue 10).

A new layer type registers itself and adds one entry to EXAMPLES; it then gets float64 finite
differences, `output_shape` against the real output, dtype preservation, the config round trip
and the model-file round trip for free. A registered type without an example fails the suite.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import LAYER_TYPES, build_layer
from glassnet.testing import check_layer_gradients

# type name → (a factory taking a dtype, the per-sample input shape, training mode for the check)
EXAMPLES = {
    "Dense": (lambda dtype: gn.Dense(5, 3, dtype=dtype, rng=0), (5,), False),
    "Dropout": (lambda dtype: gn.Dropout(0.3, rng=0), (4, 3), True),
    "Step": (lambda dtype: gn.Step(threshold=0.25), (6,), False),
    "Sigmoid": (lambda dtype: gn.Sigmoid(), (2, 3), False),
    "Tanh": (lambda dtype: gn.Tanh(), (6,), False),
    "ReLU": (lambda dtype: gn.ReLU(), (3, 2), False),
    "LeakyReLU": (lambda dtype: gn.LeakyReLU(alpha=0.1), (6,), False),
    "Softmax": (lambda dtype: gn.Softmax(), (4,), False),
    "Identity": (lambda dtype: gn.Identity(), (2, 2), False),
}
BATCH = 4
# glassnet's own layer types (tests and the README register layers of their own)
BUILT_IN = sorted(
    name for name, cls in LAYER_TYPES.items() if cls.__module__.startswith("glassnet.")
)


def _inputs(shape, dtype, seed=0):
    x = np.random.default_rng(seed).standard_normal((BATCH, *shape))
    # away from the kinks of ReLU, LeakyReLU and the step, where no derivative exists
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    x = np.where(np.abs(x - 0.25) < 0.05, 0.6, x)
    return x.astype(dtype)


def test_every_registered_layer_type_has_an_example():
    assert sorted(EXAMPLES) == BUILT_IN


@pytest.fixture(params=BUILT_IN)
def type_name(request):
    return request.param


def test_gradients_match_finite_differences_in_float64(type_name):
    make, shape, training = EXAMPLES[type_name]
    layer = make(np.float64)
    errors = check_layer_gradients(
        layer, (BATCH, *shape), training=training, inputs=_inputs(shape, np.float64)
    )
    assert set(errors) == {"x", *layer.named_parameters()}
    assert all(error < 1e-6 for error in errors.values())


def test_output_shape_is_the_shape_forward_gives(type_name):
    make, shape, training = EXAMPLES[type_name]
    layer = make(np.float32)
    y = layer.forward(_inputs(shape, np.float32), training=training)
    assert (BATCH, *layer.output_shape(shape)) == y.shape


def test_float32_is_kept_through_forward_and_backward(type_name):
    make, shape, training = EXAMPLES[type_name]
    layer = make(np.float32)
    y = layer.forward(_inputs(shape, np.float32), training=training)
    layer.input_grad = True
    grad_x = layer.backward(np.ones_like(y))
    assert y.dtype == grad_x.dtype == np.float32
    for p in layer.parameters():
        assert p.value.dtype == p.grad.dtype == np.float32


def test_config_round_trip_rebuilds_the_same_layer(type_name):
    make, shape, _ = EXAMPLES[type_name]
    layer = make(np.float32)
    spec = {"type": type_name, "name": "copy", "config": layer.get_config()}
    rebuilt = build_layer(spec, np.float32)
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()
    for (name, p), q in zip(layer.named_parameters().items(), rebuilt.parameters(), strict=True):
        assert q.shape == p.shape, name
        q.value[...] = p.value
    x = _inputs(shape, np.float32)
    np.testing.assert_array_equal(rebuilt.forward(x), layer.forward(x))


def test_model_file_round_trip_is_bit_identical(type_name, tmp_path):
    make, shape, _ = EXAMPLES[type_name]
    layers = [make(np.float32)]
    if not layers[0].parameters():  # a model needs something to learn; it comes first
        n = int(np.prod(shape))
        layers = [gn.Dense(n, n, rng=1), layers[0]]
        shape = (n,)
    model = gn.Sequential(layers, input_shape=shape, seed=0)
    path = tmp_path / "model.glassnet"
    gn.save(model, path)
    loaded = gn.load(path)
    assert loaded.get_config() == model.get_config()
    x = _inputs(shape, np.float32, seed=3)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_array_equal(loaded.get_weights(), model.get_weights())


def test_backward_overwrites_gradients_instead_of_adding_to_them(type_name):
    """Two backward passes on different batches: each .grad is the second batch's (issue 18).

    A backward that does `grad += ...` passes every single-pass finite-difference check; it only
    shows once gradients from an earlier batch are still in place.
    """
    make, shape, training = EXAMPLES[type_name]
    x1, x2 = _inputs(shape, np.float64, seed=1), _inputs(shape, np.float64, seed=2)
    rng = np.random.default_rng(7)

    def grads_after(layer, x, upstream):
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng(11)  # the same dropout mask in both layers
        layer.forward(x, training=training)
        layer.input_grad = True
        grad_x = layer.backward(upstream)
        return grad_x, {name: p.grad.copy() for name, p in layer.named_parameters().items()}

    twice, fresh = make(np.float64), make(np.float64)
    out_shape = (BATCH, *twice.output_shape(shape))
    g1, g2 = rng.standard_normal(out_shape), rng.standard_normal(out_shape)
    grads_after(twice, x1, g1)
    grad_x, second = grads_after(twice, x2, g2)
    expected_x, expected = grads_after(fresh, x2, g2)
    np.testing.assert_allclose(grad_x, expected_x, rtol=1e-12, atol=1e-12)
    assert set(second) == set(expected)
    for name in expected:
        np.testing.assert_allclose(second[name], expected[name], rtol=1e-12, atol=0, err_msg=name)
