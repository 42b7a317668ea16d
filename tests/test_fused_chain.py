"""The big-network compiled step (issue 12, wide): `glassnet.train.fused.ChainStep`.

Its matrix products are the Dense layers' own NumPy calls and its elementwise passes the
compiled layer path's formulas, so its weights must be that path's (``fit(kernel=None)`` with
every part on numba) bit for bit, and the NumPy path's to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from fit_resume import stop_and_resume
from glassnet import kernels
from glassnet.train import fused
from glassnet.train.cartography import LearningMap

pytestmark = pytest.mark.skipif(not kernels.numba_installed(), reason="numba is not installed")

# 784·96 + 96·48 + 48·10 = 80,352 multiply-adds a sample: over FUSED_MAX_MACS, a chain
SIZES = [784, 96, 48, 10]


class SeeStep(gn.Callback):
    """Records which step fit took."""

    def on_train_begin(self, logs):
        run = self.model.current_fit
        self.fused, self.chain = run.fused, run.chain
        self.why = fused.chain_blocker(self.model, run, "numba")


def fit(model, data, path, cls=gn.Adam, options=None, epochs=2, callbacks=(), **more):
    """``path``: "chain" (fit's kernel="numba"), "layers" (every part on numba, fit's kernel=None:
    the compiled layer-by-layer path) or "numpy"."""
    X, y = data
    kernel = "numpy" if path == "numpy" else "numba"
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            layer.kernel = kernel
    loss = gn.SoftmaxCrossEntropy()
    loss.kernel = kernel
    optimizer = cls(model.parameters(), kernel=kernel, **(options or {}))
    seen = SeeStep()
    history = model.fit(
        X, y, epochs=epochs, batch_size=32, optimizer=optimizer, loss=loss, seed=1,
        kernel="numba" if path == "chain" else None, callbacks=[seen, *callbacks], **more,
    )  # fmt: skip
    return model, history, seen


CONFIGS = [
    ("relu", gn.Adam, {"learning_rate": 1e-3}),
    ("sigmoid", gn.SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("tanh", gn.AdamW, {"learning_rate": 1e-3}),
    # an optimizer the one-call step has no kernel for: ChainStep calls its step()
    ("relu", gn.RMSprop, {"learning_rate": 1e-3, "clip_norm": 1.0, "weight_decay": 1e-4}),
]


@pytest.mark.parametrize("activation, cls, options", CONFIGS)
def test_chain_step_is_the_compiled_layer_path_bit_for_bit(activation, cls, options, mnist_test):
    data = mnist_test[0][:650], mnist_test[1][:650]  # 20 batches of 32 and a last one of 10
    runs = {}
    for path in ("chain", "layers"):
        model = gn.MLP(SIZES, activation=activation, seed=0)
        runs[path] = fit(model, data, path, cls, options)
    (chain, chain_history, seen), (layers, layers_history, ref_seen) = runs["chain"], runs["layers"]
    assert seen.chain is not None and seen.fused is None and seen.why is None
    assert ref_seen.chain is None and ref_seen.fused is None
    assert np.array_equal(chain.get_weights(), layers.get_weights())
    assert np.array_equal(chain._grads, layers._grads)  # the last batch's gradient in .grad
    assert chain_history.history == layers_history.history
    assert chain.optimizer.iterations == layers.optimizer.iterations == 42


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chain_step_trains_the_network_the_numpy_path_trains(dtype, mnist_test):
    data = mnist_test[0][:640].astype(dtype), mnist_test[1][:640]
    chain, _, seen = fit(gn.MLP(SIZES, activation="sigmoid", seed=0, dtype=dtype), data, "chain")
    ref = fit(gn.MLP(SIZES, activation="sigmoid", seed=0, dtype=dtype), data, "numpy")[0]
    assert seen.chain is not None and chain.get_weights().dtype == dtype
    # the paths differ in rounding only (NumPy's SIMD tanh and exp against the C library's in
    # the sigmoid and the loss), grown over 40 steps
    tolerance = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(chain.get_weights(), ref.get_weights(), rtol=0, atol=tolerance)


def test_chain_step_handles_no_bias_no_activation_and_a_last_activation(mnist_test):
    data = mnist_test[0][:320], mnist_test[1][:320]
    weights = {}
    for path in ("chain", "layers"):
        layers = [
            gn.Dense(784, 96, use_bias=False, rng=0), gn.Tanh(),
            gn.Dense(96, 32, rng=1),  # no activation between two Dense layers
            gn.Dense(32, 10, rng=2), gn.Identity(),
        ]  # fmt: skip
        model = gn.Sequential(layers, output="softmax")
        weights[path], _, seen = fit(model, data, path, epochs=1)
        if path == "chain":
            assert seen.chain is not None
    assert np.array_equal(weights["chain"].get_weights(), weights["layers"].get_weights())


def test_unshuffled_batches_and_a_learning_map_take_the_chain_step(mnist_test):
    data = mnist_test[0][:320], mnist_test[1][:320]
    maps, weights = {"chain": LearningMap(), "layers": LearningMap()}, {}
    for path in ("chain", "layers"):
        model = gn.MLP(SIZES, activation="relu", seed=0)
        weights[path], _, seen = fit(
            model, data, path, epochs=2, shuffle=False, callbacks=[maps[path]]
        )
        assert (seen.chain is not None) == (path == "chain")
    assert np.array_equal(weights["chain"].get_weights(), weights["layers"].get_weights())
    chain, layers = maps["chain"].statistics(), maps["layers"].statistics()
    assert np.array_equal(chain.confidence, layers.confidence)
    assert chain.confidence.std() > 0.01  # a map of real numbers


def test_a_fit_stopped_mid_epoch_resumes_the_chain_step_exactly(mnist_test):
    X, y = mnist_test[0][:640], mnist_test[1][:640]
    seen = SeeStep()
    whole, resumed, state = stop_and_resume(
        lambda: gn.MLP(SIZES, activation="relu", seed=0), X, y, 7, seen
    )
    assert seen.chain is not None and state.batch == 8
    assert np.array_equal(resumed.get_weights(), whole.get_weights())


def test_chain_step_diverges_as_the_numpy_step_does(mnist_test):
    X, y = mnist_test[0][:320], mnist_test[1][:320]
    messages = []
    for kernel in ("numpy", "numba"):
        model = gn.MLP(SIZES, activation="sigmoid", seed=0)
        start = model.get_weights()
        seen = SeeStep()
        with np.errstate(all="ignore"), pytest.raises(gn.TrainingDivergedError) as raised:
            model.fit(X, y, epochs=3, optimizer="sgd", learning_rate=1e37, seed=0,
                      kernel=kernel, callbacks=[seen])  # fmt: skip
        assert (seen.chain is not None) == (kernel == "numba")
        assert np.array_equal(model.get_weights(), start), kernel
        messages.append(str(raised.value))
    assert "diverged" in messages[0] and messages[0] == messages[1]


def test_fit_takes_the_chain_step_only_where_it_computes_the_textbook_step(mnist_test):
    X, y = mnist_test[0][:128], mnist_test[1][:128]

    def step(build=lambda: gn.MLP(SIZES, seed=0), labels=y, **options):
        model, seen = build(), SeeStep()
        model.fit(X, labels, epochs=1, callbacks=[seen], **{"kernel": "auto", **options})
        return "fused" if seen.fused else "chain" if seen.chain else "layers"

    assert step() == "chain"
    assert step(kernel=None) == "layers"  # the default: layer by layer, as by hand
    assert step(kernel="numpy") == "layers"
    assert step(build=lambda: gn.MLP([784, 16, 10], seed=0)) == "fused"  # small: one call
    assert step(build=lambda: gn.MLP([784, 16, 10], seed=0), optimizer="rmsprop") == "layers"
    assert step(sample_weight=np.linspace(0.5, 1.5, len(X))) == "layers"
    assert step(labels=np.eye(10, dtype=np.float32)[y]) == "layers"  # one-hot, not class ids
    dropout = [gn.Dense(784, 96), gn.ReLU(), gn.Dropout(0.2), gn.Dense(96, 10)]
    assert step(build=lambda: gn.Sequential(dropout, output="softmax")) == "layers"
    twice = [gn.Dense(784, 96), gn.ReLU(), gn.Tanh(), gn.Dense(96, 10)]  # two in a row
    assert step(build=lambda: gn.Sequential(twice, output="softmax")) == "layers"
    mine = gn.MLP(SIZES, seed=0)  # an optimizer given to fit keeps its own kernel
    assert step(build=lambda: mine, optimizer=gn.SGD(mine.parameters(), kernel="numpy")) == "layers"


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_kernels_are_the_layer_kernels_bit_for_bit(kind, dtype):
    # bias + activation and the derivative in place against the NumPy bias add followed by
    # the layer's training forward and backward on numba (the layer path's numbers)
    rng = np.random.default_rng(0)
    code = getattr(kernels.compiled_forward(), kind.upper())
    elementwise = kernels.compiled_elementwise()
    z, b = rng.standard_normal((7, 13)).astype(dtype) * 3, rng.standard_normal(13).astype(dtype)
    z[0, :3] = [0.0, -0.0, 30.0]
    layer = gn.activations.get(kind)
    layer.kernel = "numba"
    for bias in (b, np.zeros(0, dtype)):
        expected = layer.forward(z + b if bias.size else z.copy(), training=True)
        got = z.copy()
        elementwise.bias_activation(got, bias, code)
        if kind == "tanh":  # the bias alone: ChainStep applies NumPy's tanh, as the layer
            np.tanh(got, out=got)
        assert got.tobytes() == expected.tobytes()  # bits, signed zeros included
        grad = rng.standard_normal(z.shape).astype(dtype)
        expected_grad = layer.backward(grad)
        elementwise.activation_backward(got.reshape(-1), grad.reshape(-1), code)
        assert grad.tobytes() == expected_grad.tobytes()
