import re

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_layer_gradients

F64 = np.float64


def away_from_zero(shape, seed=0):
    """Inputs with |x| ≥ 0.1, so finite differences never cross the kink of ReLU or Step."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 2.0, size=shape)
    return x * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_gradients_match_finite_differences(use_bias):
    layer = gn.Dense(5, 3, use_bias=use_bias, dtype=F64, rng=0)
    errors = check_layer_gradients(layer, (4, 5))
    assert set(errors) == ({"x", "W", "b"} if use_bias else {"x", "W"})
    assert max(errors.values()) < 1e-6


def test_dense_large_layer_checked_along_random_directions():
    layer = gn.Dense(60, 50, dtype=F64, rng=1)  # 3,000 weights: the directional check
    assert max(check_layer_gradients(layer, (8, 60)).values()) < 1e-6


@pytest.mark.parametrize(
    "activation",
    [gn.Sigmoid(), gn.Tanh(), gn.ReLU(), gn.LeakyReLU(0.1), gn.Softmax(), gn.Identity()],
    ids=lambda a: type(a).__name__,
)
def test_activation_gradients_match_finite_differences(activation):
    errors = check_layer_gradients(activation, (4, 6), inputs=away_from_zero((4, 6)))
    assert errors["x"] < 1e-6


def test_step_gradient_is_zero_which_is_why_it_cannot_be_trained_by_backprop():
    step = gn.Step(threshold=0.5)
    z = np.array([[0.2, 0.5, 0.9]])
    np.testing.assert_array_equal(step.forward(z), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(step.backward(np.ones_like(z)), np.zeros_like(z))
    # and that zero gradient agrees with finite differences away from the threshold
    assert check_layer_gradients(step, (3, 4), inputs=away_from_zero((3, 4)) + 0.5)["x"] == 0.0


def test_dropout_gradient_with_a_fixed_mask():
    layer = gn.Dropout(0.4)
    errors = check_layer_gradients(layer, (6, 10), training=True)
    assert errors["x"] < 1e-6


def test_dropout_is_inverted_and_off_at_inference():
    layer = gn.Dropout(0.25, rng=0)
    x = np.ones((2000, 50), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(y.mean() - 1.0) < 0.02  # the expected value is kept
    assert abs((y == 0).mean() - 0.25) < 0.01
    assert layer.forward(x, training=False) is x


def test_activation_values_by_hand():
    z = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_allclose(gn.Sigmoid().forward(z), 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(gn.Tanh().forward(z), np.tanh(z))
    np.testing.assert_array_equal(gn.ReLU().forward(z), [[0.0, 0.0, 2.0]])
    np.testing.assert_allclose(gn.LeakyReLU(0.1).forward(z), [[-0.1, 0.0, 2.0]])
    p = gn.Softmax().forward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(p[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())


def test_sigmoid_and_softmax_do_not_overflow_on_huge_inputs():
    z = np.array([[-1e4, 0.0, 1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = gn.Sigmoid().forward(z)
        p = gn.Softmax().forward(z)
    np.testing.assert_array_equal(a, [[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(p, [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    "layer",
    [
        gn.Dense(4, 3, rng=0),
        gn.Sigmoid(),
        gn.Tanh(),
        gn.ReLU(),
        gn.LeakyReLU(),
        gn.Softmax(),
        gn.Step(),
        gn.Dropout(0.5),
    ],
    ids=lambda la: type(la).__name__,
)
def test_float32_is_kept_forward_and_backward(layer):
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    layer.input_grad = True
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    for p in layer.parameters():
        assert p.value.dtype == p.grad.dtype == np.float32


def test_dense_names_the_layer_and_shapes_on_wrong_input_width():
    layer = gn.Dense(784, 16, name="dense_0")
    with pytest.raises(
        gn.ShapeError,
        match=r"Dense 'dense_0' \(784 → 16\) expects \(batch, 784\), got \(32, 100\)\.$",
    ):
        layer.forward(np.zeros((32, 100), np.float32))
    with pytest.raises(ValueError, match=r"got \(32, 28, 28\)\. Did you forget to flatten\?"):
        layer.forward(np.zeros((32, 28, 28), np.float32))


def test_dense_casts_other_inputs_to_its_own_dtype():
    # float64 (or integer) inputs must not turn a float32 layer's output, or the x kept for
    # dL/dW, into float64: the result equals feeding the float32 cast.
    layer = gn.Dense(4, 3, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 4))
    for given in (x, np.round(x * 10).astype(np.int64)):
        y = layer.forward(given)
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y, layer.forward(given.astype(np.float32)))
        layer.forward(given)
        layer.backward(np.ones_like(y))
        assert layer.W.grad.dtype == np.float32
        expected = given.astype(np.float32).T @ np.ones((5, 3), np.float32)
        np.testing.assert_allclose(layer.W.grad, expected, rtol=1e-6)


def test_dense_backward_before_forward_names_the_layer():
    layer = gn.Dense(4, 3, name="dense_7")
    with pytest.raises(
        RuntimeError, match=r"^Dense 'dense_7' .*backward\(\) called before forward"
    ):
        layer.backward(np.ones((2, 3), np.float32))


def test_dense_skips_the_input_gradient_it_was_told_not_to_compute():
    # Sequential sets input_grad = False on the first layer: backward fills W.grad and b.grad
    # and returns None instead of a (batch, n_inputs) product nobody reads.
    layer = gn.Dense(4, 3, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    grad_z = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    layer.forward(x)
    layer.input_grad = False
    assert layer.backward(grad_z) is None
    np.testing.assert_allclose(layer.W.grad, x.T @ grad_z, rtol=1e-5)
    np.testing.assert_allclose(layer.b.grad, grad_z.sum(axis=0), rtol=1e-5)
    layer.input_grad = True
    np.testing.assert_allclose(layer.backward(grad_z), grad_z @ layer.W.value.T, rtol=1e-5)


def test_dense_repr_says_its_sizes_and_a_missing_bias():
    assert repr(gn.Dense(3, 2)) == "Dense(3 → 2)"
    assert repr(gn.Dense(3, 2, use_bias=False)) == "Dense(3 → 2, no bias)"


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ((0, 3), "n_inputs must be a whole number >= 1, got n_inputs=0."),
        ((2.5, 3), "n_inputs must be a whole number >= 1, got n_inputs=2.5."),
        ((3, 0), "n_neurons must be a whole number >= 1, got n_neurons=0."),
    ],
)
def test_dense_sizes_are_checked_by_name(sizes, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        gn.Dense(*sizes)


def test_dense_output_shape_says_how_to_chain_layers():
    message = f"Dense 'dense_1' (4 → 3) expects 4 inputs, but the layer before it gives 5. {CHAIN}"
    with pytest.raises(gn.ShapeError, match=f"^{re.escape(message)}$"):
        gn.Dense(4, 3, name="dense_1").output_shape((5,))


CHAIN = "Make each layer's n_inputs equal the previous layer's n_neurons."


@pytest.mark.parametrize(
    ("input_shape", "name", "message"),
    [
        ((4,), None, f"Dense (5 → 2) expects 5 inputs, but the layer before it gives 4. {CHAIN}"),
        (
            (4,),
            "d",
            f"Dense 'd' (5 → 2) expects 5 inputs, but the layer before it gives 4. {CHAIN}",
        ),
        (
            (2, 2),
            "d",
            "Dense 'd' (5 → 2) expects (batch, 5), got (2, 2). Did you forget to flatten?",
        ),
        ((), None, "Dense (5 → 2) expects (batch, 5), got ()."),
    ],
)
def test_dense_shape_after_gives_the_message_of_output_shape_from_the_config(
    input_shape, name, message
):
    # What the model-file validator says about a file's sizes, before any layer is built.
    with pytest.raises(gn.ShapeError, match=f"^{re.escape(message)}$"):
        gn.Dense.shape_after({"n_inputs": 5, "n_neurons": 2}, input_shape, name)
    assert gn.Dense.shape_after({"n_inputs": 5, "n_neurons": 2}, (5,), name) == (2,)


def test_dense_initialises_in_its_own_dtype_from_its_seed():
    # A float64 layer draws float64 weights (not float32 ones widened), bias included, and
    # the seed fixes both draws.
    layer = gn.Dense(5, 3, weight_init="glorot_uniform", bias_init=0.1, dtype=np.float64, rng=0)
    expected = gn.initializers.get("glorot_uniform")((5, 3), np.random.default_rng(0), np.float64)
    np.testing.assert_array_equal(layer.W.value, expected)
    assert not np.array_equal(layer.W.value, layer.W.value.astype(np.float32))
    assert np.all(layer.b.value == 0.1)  # 0.1 in float64, not float32's 0.100000001...
    drawn = [gn.Dense(5, 3, bias_init="he_normal", rng=7).b.value for _ in range(2)]
    np.testing.assert_array_equal(drawn[0], drawn[1])
    assert np.all(drawn[0] != 0)


def _uniform_with_limit(w: np.ndarray, limit: float) -> bool:
    """U(−limit, limit): inside the bounds, reaching them, centred, std limit/√3 (60,000 draws).

    Both bounds matter (issue 18): an upper bound alone passes for a too-narrow range or zeros.
    """
    return bool(
        abs(w).max() <= limit
        and w.max() > 0.99 * limit
        and w.min() < -0.99 * limit
        and abs(w.mean()) < 0.01 * limit
        and abs(w.std() - limit / np.sqrt(3)) < 0.01 * limit / np.sqrt(3)
    )


def _normal_with_std(w: np.ndarray, std: float) -> bool:
    """N(0, std²): centred, the std within 1 % (its standard error is 0.3 % for 60,000 draws)."""
    return bool(abs(w.mean()) < 0.02 * std and abs(w.std() - std) < 0.01 * std)


@pytest.mark.parametrize(
    "name, shape, check",
    [
        ("glorot_uniform", (300, 200), lambda w: _uniform_with_limit(w, np.sqrt(6 / 500))),
        ("he_uniform", (300, 200), lambda w: _uniform_with_limit(w, np.sqrt(6 / 300))),
        ("glorot_normal", (300, 200), lambda w: _normal_with_std(w, np.sqrt(2 / 500))),
        ("he_normal", (300, 200), lambda w: _normal_with_std(w, np.sqrt(2 / 300))),
        ("zeros", (3, 2), lambda w: not w.any()),
        (0.25, (3, 2), lambda w: (w == 0.25).all()),
    ],
)
def test_initializers_follow_their_formulas(name, shape, check):
    w = gn.initializers.get(name)(shape, np.random.default_rng(0), np.float32)
    assert w.shape == shape and w.dtype == np.float32
    assert check(w)


def test_initialisation_is_seeded():
    a = gn.Dense(10, 5, rng=42).W.value
    b = gn.Dense(10, 5, rng=42).W.value
    c = gn.Dense(10, 5, rng=43).W.value
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="Expected one of .*'sigmoid'"):
        gn.activations.get("sigmoidd")
    with pytest.raises(ValueError, match="he_normal"):
        gn.initializers.get("kaiming")
