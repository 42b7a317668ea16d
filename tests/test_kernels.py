"""The compiled kernels (issue 12) against their NumPy references, on both paths.

numba is installed by ``make test`` (the ``fast`` extra is in ``all``); without it the numba
half of each test is skipped and the NumPy half still runs.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import glassnet as gn
from fit_resume import stop_and_resume
from glassnet import kernels
from glassnet.parameter import Parameter, pack_parameters
from glassnet.train import fused
from glassnet.train.cartography import LearningMap

needs_numba = pytest.mark.skipif(not kernels.numba_installed(), reason="numba is not installed")
PATHS = ["numpy", pytest.param("numba", marks=needs_numba)]

# Every rule and option the compiled updates implement.
CONFIGS = [
    (gn.SGD, {"learning_rate": 0.1}),
    (gn.SGD, {"learning_rate": 0.1, "weight_decay": 0.01}),
    (gn.SGD, {"learning_rate": 0.1, "momentum": 0.9}),
    (gn.SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (gn.Adam, {"learning_rate": 0.01}),
    (gn.Adam, {"learning_rate": 0.01, "weight_decay": 0.01}),
    (gn.AdamW, {"learning_rate": 0.01}),
    (gn.AdamW, {"learning_rate": 0.01, "weight_decay": 0.0}),
    (gn.RMSprop, {"learning_rate": 0.01}),
    (gn.RMSprop, {"learning_rate": 0.01, "weight_decay": 0.1}),
]
CONFIG_IDS = [
    "sgd",
    "sgd-decay",
    "momentum",
    "nesterov-decay",
    "adam",
    "adam-l2",
    "adamw",
    "adamw-no-decay",
    "rmsprop",
    "rmsprop-decay",
]


def packed_parameters(n: int, dtype, seed: int = 0) -> list[Parameter]:
    """Two parameters packed into one buffer of n + 15 numbers, as in a Sequential."""
    rng = np.random.default_rng(seed)
    params = [
        Parameter(rng.standard_normal(n).astype(dtype), "a"),
        Parameter(rng.standard_normal((3, 5)).astype(dtype), "b"),
    ]
    pack_parameters(params, np.dtype(dtype))
    return params


def train_steps(cls, options, kernel, n, dtype, steps=3, clip_norm=None):
    """Weights and gradients after ``steps`` updates with the same random gradients."""
    params = packed_parameters(n, dtype)
    optimizer = cls(params, kernel=kernel, clip_norm=clip_norm, **options)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        for p in params:
            p.grad[...] = rng.standard_normal(p.shape)
        optimizer.step()
    return [p.value.copy() for p in params], [p.grad.copy() for p in params], optimizer


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, options", CONFIGS, ids=CONFIG_IDS)
def test_compiled_updates_are_bit_identical_to_numpy(cls, options, dtype):
    # 1,000 numbers take the serial loop; 200,000 the parallel one (over PARALLEL_MIN_SIZE),
    # in float32 only: each dtype of a parallel loop is one more (slow) numba compilation.
    for n in (1000, 200_000) if dtype == np.float32 else (1000,):
        reference, _, numpy_opt = train_steps(cls, options, "numpy", n, dtype)
        compiled, _, numba_opt = train_steps(cls, options, "numba", n, dtype)
        assert numba_opt.kernel == "numba" and numpy_opt.kernel == "numpy"
        for a, b in zip(reference, compiled, strict=True):
            assert b.dtype == dtype
            assert np.array_equal(a, b), (cls.__name__, options, n)
        for key, value in numba_opt.state["*"].items():
            if not key.startswith("scratch"):
                assert np.array_equal(value, numpy_opt.state["*"][key]), key


@needs_numba
@pytest.mark.parametrize("cls, options", CONFIGS[::3], ids=CONFIG_IDS[::3])
@pytest.mark.parametrize("n", [1000, 200_000])
def test_compiled_clipping_matches_numpy_within_rounding(cls, options, n):
    # The compiled norm adds in float64 and in another order than NumPy's float32 dot product,
    # so the scale factor may differ in its last bits: a stated tolerance, not bit-identity
    # (RMSprop's g/√s amplifies that difference where s is tiny, hence the absolute 1e-5).
    reference, ref_grads, _ = train_steps(cls, options, "numpy", n, np.float32, clip_norm=0.5)
    compiled, grads, _ = train_steps(cls, options, "numba", n, np.float32, clip_norm=0.5)
    for a, b in zip(reference + ref_grads, compiled + grads, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    norm = np.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    assert norm == pytest.approx(0.5, rel=1e-5)  # the clipped gradient is kept, as on NumPy


@needs_numba
def test_compiled_norm_matches_float64_numpy():
    update = kernels.compiled_updates()
    g = np.random.default_rng(0).standard_normal(300_000).astype(np.float32)
    exact = float(np.sum(g.astype(np.float64) ** 2))
    assert update.sum_of_squares(g) == pytest.approx(exact, rel=1e-12)  # parallel
    assert update.sum_of_squares(g[:1000]) == pytest.approx(
        float(np.sum(g[:1000].astype(np.float64) ** 2)), rel=1e-12
    )


@needs_numba
def test_a_worker_thread_takes_the_serial_loop_with_the_same_result(monkeypatch):
    # the parallel loop is off by default (see kernels/updates.py); switch it on for this test
    monkeypatch.setattr(kernels.compiled_updates(), "PARALLEL_MIN_SIZE", 1 << 17)
    reference, _, _ = train_steps(gn.Adam, {}, "numba", 200_000, np.float32)
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(w=train_steps(gn.Adam, {}, "numba", 200_000, np.float32))
    )
    worker.start()
    worker.join()
    assert kernels.compiled_updates().use_parallel(200_000)
    for a, b in zip(reference, result["w"][0], strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("kernel", PATHS)
def test_adam_l2_weight_decay_matches_the_textbook(kernel):
    # g' = g + λw enters both moments; this caught the NumPy path squaring a scratch buffer.
    lr, decay, beta1, beta2, eps = 0.01, 0.1, 0.9, 0.999, 1e-8
    gradients = np.random.default_rng(0).standard_normal((5, 4))
    w = Parameter(np.linspace(-1.0, 1.0, 4), "w")
    optimizer = gn.Adam([w], learning_rate=lr, weight_decay=decay, kernel=kernel)
    expected, m, v = w.value.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(gradients, start=1):
        w.grad[:] = g
        optimizer.step()
        g = g + decay * expected
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        expected = expected - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    np.testing.assert_allclose(w.value, expected, rtol=1e-10)


@pytest.mark.parametrize("kernel", PATHS)
def test_closed_form_steps_on_each_path(kernel):
    w = Parameter(np.array([1.0, -2.0]), "w")
    optimizer = gn.SGD([w], learning_rate=0.1, momentum=0.9, kernel=kernel)
    for _ in range(3):
        w.grad[:] = (0.5, -1.0)
        optimizer.step()
    np.testing.assert_allclose(w.value, [0.7195, -1.439], rtol=1e-12)


def test_unpacked_float16_parameters_fall_back_to_numpy():
    w = Parameter(np.array([1.0, -2.0], dtype=np.float16), "w")
    optimizer = gn.SGD([w], learning_rate=0.5, kernel="auto")
    w.grad[:] = 1.0
    optimizer.step()
    assert w.value.dtype == np.float16 and w.value.tolist() == [0.5, -2.5]


def test_the_kernel_argument_is_checked(monkeypatch):
    w = [Parameter(np.zeros(2), "w")]
    with pytest.raises(ValueError, match=r"kernel must be one of \('auto', 'numpy', 'numba'\)"):
        gn.Adam(w, kernel="cuda")
    assert gn.Adam(w, kernel="numpy").kernel == "numpy"
    expected = "numba" if kernels.numba_installed() else "numpy"
    assert gn.Adam(w).kernel == expected
    # Without numba (simulated here: the real check asks the import system), "numba" is an
    # error that says what to install, and "auto" quietly takes NumPy.
    monkeypatch.setattr(kernels, "numba_installed", lambda: False)
    with pytest.raises(kernels.KernelUnavailableError, match=r"pip install glassnet\[fast\]"):
        gn.SGD(w, kernel="numba")
    assert gn.SGD(w).kernel == "numpy"


@pytest.mark.parametrize("kernel", PATHS)
def test_training_is_deterministic_on_each_path(kernel, mnist_test):
    X, y = mnist_test[0][:2000], mnist_test[1][:2000]

    def train():
        model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
        optimizer = gn.SGD(model.parameters(), learning_rate=0.1, momentum=0.9, kernel=kernel)
        model.fit(X, y, epochs=2, batch_size=32, optimizer=optimizer, seed=1)
        return model.get_weights()

    first, second = train(), train()
    assert np.array_equal(first, second)


@needs_numba
def test_both_paths_train_the_same_network(mnist_test):
    X, y = mnist_test[0][:2000], mnist_test[1][:2000]
    weights = {}
    for kernel in ("numpy", "numba"):
        model = gn.MLP([784, 32, 10], activation="relu", seed=0)
        optimizer = gn.Adam(model.parameters(), learning_rate=1e-3, kernel=kernel)
        # the layers and loss on NumPy in both runs: only the optimizer's path differs
        model.fit(X, y, epochs=1, batch_size=64, optimizer=optimizer, seed=1, kernel="numpy")
        weights[kernel] = model.get_weights()
    assert np.array_equal(weights["numpy"], weights["numba"])


@needs_numba
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_fit_on_each_path_learns_the_same_network(activation, mnist_test):
    # The fused softmax and sigmoid use exp and tanh, which NumPy's SIMD code and the C library
    # round differently: the paths agree to float32 rounding, grown over 60 steps.
    X, y = mnist_test[0][:2000], mnist_test[1][:2000]
    models = {}
    for kernel in ("numpy", "numba"):
        model = models[kernel] = gn.MLP([784, 32, 16, 10], activation=activation, seed=0)
        lr = 0.5 if activation == "sigmoid" else 0.1
        model.fit(X, y, epochs=1, batch_size=32, learning_rate=lr, optimizer="sgd", seed=1,
                  kernel=kernel)  # fmt: skip
        assert model.optimizer.kernel == kernel
        assert model.layers[1].kernel == kernel and model.loss.kernel == kernel
    np.testing.assert_allclose(
        models["numba"].get_weights(), models["numpy"].get_weights(), rtol=1e-3, atol=1e-4
    )
    scores = [m.evaluate(X, y)["accuracy"] for m in models.values()]
    assert scores[0] > 0.25 and abs(scores[0] - scores[1]) < 0.01  # chance: 0.1


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_activations_match_numpy(dtype):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((64, 33)) * 4).astype(dtype)
    grad = rng.standard_normal((64, 33)).astype(dtype)
    for cls in (gn.Sigmoid, gn.Tanh, gn.ReLU):
        reference, fused = cls(), cls()
        reference.kernel, fused.kernel = "numpy", "numba"
        a_ref, a = reference.forward(z, training=True), fused.forward(z, training=True)
        assert a.dtype == dtype and a.shape == z.shape
        # tanh rounds differently in NumPy and the C library: a few units in the last place
        # (absolute, for sigmoid's ½·tanh + ½ near 0)
        eps = float(np.finfo(dtype).eps)
        np.testing.assert_allclose(a, a_ref, rtol=4 * eps, atol=eps)
        fused._a = a_ref  # the same cached output: the derivatives are plain IEEE arithmetic
        assert np.array_equal(fused.backward(grad), reference.backward(grad)), cls.__name__
    # a non-contiguous input takes the NumPy path
    relu = gn.ReLU()
    relu.kernel = "numba"
    relu.forward(z[:, ::2])
    assert np.array_equal(relu.backward(grad[:, ::2]), grad[:, ::2] * (z[:, ::2] > 0))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_softmax_cross_entropy_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((32, 10)) * 3).astype(dtype)
    z[0] += 90.0  # a row far above the rest: NumPy shifts per row there, the kernel always does
    target = rng.integers(0, 10, 32)
    reference, fused = gn.SoftmaxCrossEntropy(), gn.SoftmaxCrossEntropy()
    reference.kernel, fused.kernel = "numpy", "numba"
    loss_ref, grad_ref = reference.value_and_gradient(z, target)
    loss, grad = fused.value_and_gradient(z, target)
    assert grad.dtype == dtype and grad.shape == z.shape
    tolerance = 8 * float(np.finfo(dtype).eps)
    assert loss == pytest.approx(loss_ref, rel=tolerance)
    np.testing.assert_allclose(grad, grad_ref, rtol=tolerance, atol=tolerance / 32)
    with pytest.raises(gn.DataError, match="in \\[0, 9\\]"):
        fused.value_and_gradient(z, target + 1)  # labels are still checked


def test_import_glassnet_does_not_import_numba():
    code = "import sys, glassnet; print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@needs_numba
def test_fused_loss_overflows_to_inf_as_numpy_does():
    # The rows' losses add in float32 on both paths, so a run whose loss passes float32's
    # largest number is seen to diverge on both (fit and Stepper check for a non-finite loss).
    z = np.zeros((32, 10), dtype=np.float32)
    z[:, 0] = 3e37  # every row's true class (9) lies 3e37 below its max: 32 × 3e37 > 3.4e38
    target = np.full(32, 9)
    for kernel in ("numpy", "numba"):
        loss_fn = gn.SoftmaxCrossEntropy()
        loss_fn.kernel = kernel
        with np.errstate(over="ignore"):
            assert loss_fn.value_and_gradient(z, target)[0] == np.inf, kernel


# ---------------------------------------------------------------------------------- the
# compiled training step (kernels/training.py, train/fused.py): one call per mini-batch


class SeeStep(gn.Callback):
    """Records which step the fit took (the compiled one or None) and the batch logs."""

    def on_train_begin(self, logs):
        run = self.model.current_fit
        self.fused = run.fused
        self.blocker = fused.blocker(self.model, run, "numba")

    def on_batch_end(self, batch, logs):
        self.last_logs = dict(logs)


STEP_CONFIGS = [
    ("sigmoid", gn.SGD, {"learning_rate": 0.1, "momentum": 0.9}),
    (
        "tanh",
        gn.SGD,
        {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ),
    ("relu", gn.SGD, {"learning_rate": 0.05}),
    ("relu", gn.Adam, {"learning_rate": 1e-3}),
    ("sigmoid", gn.Adam, {"learning_rate": 1e-3, "weight_decay": 1e-3}),
    ("tanh", gn.AdamW, {"learning_rate": 1e-3}),
]


def fit_seed_network(kernel, activation, cls, options, data, dtype=np.float32, epochs=1):
    X, y = data
    model = gn.MLP([784, 16, 16, 10], activation=activation, seed=0, dtype=dtype)
    optimizer = cls(model.parameters(), kernel=kernel, **options)
    seen = SeeStep()
    history = model.fit(
        X.astype(dtype), y, epochs=epochs, batch_size=32, optimizer=optimizer, seed=1,
        kernel=kernel, callbacks=[seen],
    )  # fmt: skip
    return model, history, seen


@needs_numba
@pytest.mark.parametrize("activation, cls, options", STEP_CONFIGS)
def test_compiled_step_trains_the_network_the_numpy_path_trains(
    activation, cls, options, mnist_test
):
    # 63 steps on 2,000 real digits. The paths differ only in rounding (BLAS's blocked sums in
    # another order, the C library's tanh and exp against NumPy's SIMD ones), grown over the
    # steps: float32 weights agree within 1e-4, the logged loss within 1e-5.
    data = mnist_test[0][:2000], mnist_test[1][:2000]
    ref, ref_history, ref_seen = fit_seed_network("numpy", activation, cls, options, data)
    model, history, seen = fit_seed_network("numba", activation, cls, options, data)
    assert ref_seen.fused is None and seen.fused is not None and seen.blocker is None
    np.testing.assert_allclose(model.get_weights(), ref.get_weights(), rtol=1e-4, atol=1e-4)
    # the last batch's gradient is in .grad on both paths, as GradientHealth reads it
    np.testing.assert_allclose(model._grads, ref._grads, rtol=1e-3, atol=1e-5)
    assert history.history["loss"][0] == pytest.approx(ref_history.history["loss"][0], rel=1e-5)
    assert history.history["accuracy"] == ref_history.history["accuracy"]
    assert seen.last_logs == pytest.approx(ref_seen.last_logs, rel=1e-5)
    assert model.optimizer.iterations == ref.optimizer.iterations == 63
    for key, value in model.optimizer.state["*"].items():  # the same optimizer state, by name
        if not key.startswith("scratch"):
            np.testing.assert_allclose(value, ref.optimizer.state["*"][key], rtol=1e-3, atol=1e-5)


@pytest.mark.slow  # on an empty numba cache, compiling the float64 step takes ~14 s under load
@needs_numba
def test_compiled_step_in_float64_is_the_numpy_step_to_rounding(mnist_test):
    data = mnist_test[0][:640], mnist_test[1][:640]
    config = ("sigmoid", gn.SGD, {"learning_rate": 0.1, "momentum": 0.9})
    ref = fit_seed_network("numpy", *config, data, dtype=np.float64)[0]
    model, _, seen = fit_seed_network("numba", *config, data, dtype=np.float64)
    assert seen.fused is not None and model.get_weights().dtype == np.float64
    np.testing.assert_allclose(model.get_weights(), ref.get_weights(), rtol=1e-12, atol=1e-12)


@needs_numba
def test_compiled_step_is_bit_identical_run_to_run_and_takes_unshuffled_batches(mnist_test):
    data = mnist_test[0][:1000], mnist_test[1][:1000]
    config = ("relu", gn.Adam, {"learning_rate": 1e-3})
    first = fit_seed_network("numba", *config, data, epochs=2)[0].get_weights()
    second = fit_seed_network("numba", *config, data, epochs=2)[0].get_weights()
    assert np.array_equal(first, second)
    # unshuffled batches (slices of X) take the same compiled step
    X, y = data
    model = gn.MLP([784, 16, 10], activation="relu", seed=0)
    seen = SeeStep()
    model.fit(X, y, epochs=1, shuffle=False, optimizer="sgd", kernel="auto", callbacks=[seen])
    ref = gn.MLP([784, 16, 10], activation="relu", seed=0)
    ref.fit(X, y, epochs=1, shuffle=False, optimizer="sgd", kernel="numpy")
    assert seen.fused is not None
    np.testing.assert_allclose(model.get_weights(), ref.get_weights(), rtol=1e-4, atol=1e-5)


@needs_numba
def test_compiled_step_diverges_as_the_numpy_step_does(mnist_test):
    # an absurd rate: the weights overflow, the loss turns inf at the same batch on both paths,
    # and fit restores the weights of the last finite epoch (here the initial ones)
    X, y = mnist_test[0][:640], mnist_test[1][:640]
    messages = []
    for kernel in ("numpy", "numba"):
        model = gn.MLP([784, 16, 10], activation="sigmoid", seed=0)
        start = model.get_weights()
        with np.errstate(all="ignore"), pytest.raises(gn.TrainingDivergedError) as raised:
            model.fit(X, y, epochs=3, optimizer="sgd", learning_rate=1e37, seed=0, kernel=kernel)
        assert np.array_equal(model.get_weights(), start), kernel
        messages.append(str(raised.value))
    assert "diverged" in messages[0] and messages[0] == messages[1]


@needs_numba
def test_fit_takes_the_compiled_step_only_where_it_computes_the_textbook_step(mnist_test):
    X, y = mnist_test[0][:256], mnist_test[1][:256]

    def blocked(build=lambda: gn.MLP([784, 16, 10], activation="sigmoid", seed=0), labels=y, **fit):
        model, seen = build(), SeeStep()
        options = {"epochs": 1, "optimizer": "sgd", "kernel": "auto", **fit}
        model.fit(X, labels, callbacks=[seen, *options.pop("callbacks", [])], **options)
        assert (seen.fused is None) == (seen.blocker is not None or options["kernel"] != "auto")
        return seen.fused is None

    assert not blocked()
    assert not blocked(optimizer="adam") and not blocked(optimizer="adamw")
    # per-epoch callbacks, a validation split and the logs of every batch do not need it off
    early = gn.EarlyStopping(patience=1)
    assert not blocked(validation_split=0.25, callbacks=[early, gn.GradientHealth()])
    assert blocked(kernel=None)  # the default: the textbook step layer by layer, as by hand
    assert blocked(kernel="numpy")
    assert blocked(optimizer="rmsprop")
    assert blocked(sample_weight=np.linspace(0.5, 1.5, len(X)))
    assert not blocked(callbacks=[LearningMap()])  # it reads the compiled step's logits
    assert blocked(build=lambda: gn.MLP([784, 512, 10], seed=0))  # too big to gain
    dropout = [gn.Dense(784, 16), gn.ReLU(), gn.Dropout(0.2), gn.Dense(16, 10)]
    assert blocked(build=lambda: gn.Sequential(dropout, output="softmax"))
    clipped = gn.MLP([784, 16, 10], seed=0)
    assert blocked(build=lambda: clipped, optimizer=gn.SGD(clipped.parameters(), clip_norm=1.0))
    mine = gn.MLP([784, 16, 10], seed=0)  # an optimizer given to fit keeps its own kernel
    assert blocked(build=lambda: mine, optimizer=gn.SGD(mine.parameters(), kernel="numpy"))
    assert blocked(labels=np.eye(10, dtype=np.float32)[y])  # one-hot rows, not class ids


@needs_numba
def test_a_learning_map_sees_the_compiled_steps_logits_as_the_numpy_steps(mnist_test):
    # the map does not change the training: with it the compiled step is still taken, the
    # weights are those of a fit without it, and the map matches the NumPy step's map
    X, y = mnist_test[0][:1000], mnist_test[1][:1000]
    maps, trained = {}, {}
    for kernel in ("numpy", "auto", "auto-no-map"):
        model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
        maps[kernel] = LearningMap()
        callbacks = [] if kernel == "auto-no-map" else [maps[kernel]]
        path = kernel.removesuffix("-no-map")
        model.fit(X, y, epochs=3, optimizer="sgd", seed=0, kernel=path, callbacks=callbacks)
        trained[kernel] = model.get_weights()
    assert np.array_equal(trained["auto"], trained["auto-no-map"])
    assert not np.array_equal(trained["auto"], trained["numpy"])  # the compiled step ran
    compiled, reference = maps["auto"].statistics(), maps["numpy"].statistics()
    np.testing.assert_allclose(compiled.confidence, reference.confidence, rtol=0, atol=1e-4)
    np.testing.assert_allclose(compiled.variability, reference.variability, rtol=0, atol=1e-4)
    assert compiled.confidence.std() > 0.01  # a map of real numbers, not of a constant


@needs_numba
def test_a_fit_stopped_mid_epoch_resumes_the_compiled_step_exactly(mnist_test):
    X, y = mnist_test[0][:1000], mnist_test[1][:1000]
    seen = SeeStep()
    whole, resumed, state = stop_and_resume(
        lambda: gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0), X, y, 10, seen
    )
    assert seen.fused is not None and state.batch == 11
    assert np.array_equal(resumed.get_weights(), whole.get_weights())


@needs_numba
def test_compiled_step_handles_a_layer_without_bias_and_identity_activations(mnist_test):
    X, y = mnist_test[0][:640], mnist_test[1][:640]
    weights, seen = {}, SeeStep()
    for kernel in ("numpy", "numba"):
        layers = [gn.Dense(784, 16, use_bias=False, rng=0), gn.Identity(), gn.ReLU()]
        model = gn.Sequential([*layers, gn.Dense(16, 10, rng=1)], output="softmax")
        model.fit(X, y, epochs=1, optimizer="sgd", seed=0, kernel=kernel, callbacks=[seen])
        weights[kernel] = model.get_weights()
    assert seen.fused is not None and weights["numba"].size == 784 * 16 + 16 * 10 + 10
    np.testing.assert_allclose(weights["numba"], weights["numpy"], rtol=1e-4, atol=1e-5)
