import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.parameter import Parameter, pack_parameters


def run(optimizer_class, steps, gradient=(0.5, -1.0), **options):
    """Take `steps` steps from w = [1, -2] with a constant gradient; return w."""
    w = Parameter(np.array([1.0, -2.0]), "w")
    optimizer = optimizer_class([w], **options)
    for _ in range(steps):
        w.grad[:] = gradient
        optimizer.step()
    return w.value


@pytest.mark.parametrize(
    "cls, options, steps, expected",
    [
        (gn.SGD, {"learning_rate": 0.1}, 2, [0.9, -1.8]),
        (gn.SGD, {"learning_rate": 0.1, "momentum": 0.9}, 3, [0.7195, -1.439]),
        (gn.SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, 2, [0.7695, -1.539]),
        (gn.SGD, {"learning_rate": 0.1, "weight_decay": 0.1}, 2, [0.8806, -1.7612]),
        # With a constant gradient Adam's bias-corrected step is lr·sign(g) every time.
        (gn.Adam, {"learning_rate": 0.1}, 3, [0.7, -1.7]),
        (gn.AdamW, {"learning_rate": 0.1, "weight_decay": 0.1}, 1, [0.89, -1.88]),
        (
            gn.RMSprop,
            {"learning_rate": 0.01},
            1,
            [1 - 0.01 * 0.5 / math.sqrt(0.025), -2 + 0.01 * 1.0 / math.sqrt(0.1)],
        ),
    ],
    ids=["sgd", "momentum", "nesterov", "weight-decay", "adam", "adamw", "rmsprop"],
)
def test_optimizer_steps_match_hand_computed_values(cls, options, steps, expected):
    np.testing.assert_allclose(run(cls, steps, **options), expected, rtol=1e-6)


def textbook_adam(w, gradients, lr, beta1=0.9, beta2=0.999, eps=1e-8, decoupled=0.0):
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        w = w * (1 - lr * decoupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


@pytest.mark.parametrize("cls, decay", [(gn.Adam, 0.0), (gn.AdamW, 0.05)])
def test_adam_matches_the_textbook_formulas_with_changing_gradients(cls, decay):
    rng = np.random.default_rng(0)
    gradients = rng.standard_normal((5, 4))
    w = Parameter(rng.standard_normal(4), "w")
    start = w.value.copy()
    options = {"weight_decay": decay} if cls is gn.AdamW else {}
    optimizer = cls([w], learning_rate=0.01, **options)
    for g in gradients:
        w.grad[:] = g
        optimizer.step()
    np.testing.assert_allclose(
        w.value, textbook_adam(start, gradients, 0.01, decoupled=decay), rtol=1e-10
    )


def test_clipping_rescales_the_global_norm():
    a, b = Parameter(np.array([3.0]), "a"), Parameter(np.array([4.0]), "b")
    optimizer = gn.SGD([a, b], learning_rate=1.0, clip_norm=1.0)
    a.grad[:], b.grad[:] = 3.0, 4.0  # norm 5
    optimizer.step()
    np.testing.assert_allclose([a.value[0], b.value[0]], [3.0 - 0.6, 4.0 - 0.8])


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_packed_update_equals_per_parameter_update(name):
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (4,), (4, 2), (2,)]
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    separate = [Parameter(v.copy(), f"p{i}") for i, v in enumerate(values)]
    packed = [Parameter(v.copy(), f"p{i}") for i, v in enumerate(values)]
    pack_parameters(packed, np.float32)
    options = {"learning_rate": 0.05, **({"momentum": 0.9} if name == "sgd" else {})}
    opt_separate = gn.optimizers.get(name, separate, **options)
    opt_packed = gn.optimizers.get(name, packed, **options)
    assert len(opt_packed._targets) == 1 and len(opt_separate._targets) == 4
    for _ in range(4):
        for s, p in zip(separate, packed, strict=True):
            g = rng.standard_normal(s.shape).astype(np.float32)
            s.grad[...] = g
            p.grad[...] = g
        opt_separate.step()
        opt_packed.step()
    for s, p in zip(separate, packed, strict=True):
        assert np.array_equal(s.value, p.value)
        assert p.value.dtype == np.float32


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_updates_keep_float32_and_allocate_state_once(name):
    model = gn.MLP([4, 3, 2], seed=0)
    optimizer = gn.optimizers.get(name, model.parameters())
    for p in model.parameters():
        p.grad[...] = 1.0
    optimizer.step()
    buffers = {k: id(v) for k, v in optimizer.state["*"].items()}
    optimizer.step()
    assert {k: id(v) for k, v in optimizer.state["*"].items()} == buffers
    assert all(v.dtype == np.float32 for v in optimizer.state["*"].values())
    assert all(p.value.dtype == np.float32 for p in model.parameters())


def test_learning_rate_schedule_is_evaluated_per_step():
    w = Parameter(np.array([0.0]), "w")
    optimizer = gn.SGD([w], learning_rate=gn.schedules.StepDecay(1.0, factor=0.5, every=1))
    for _ in range(3):
        w.grad[:] = -1.0
        optimizer.step()
    assert w.value[0] == pytest.approx(1.0 + 0.5 + 0.25)


def test_schedules_by_hand():
    s = gn.schedules
    assert s.Constant(0.1)(50) == 0.1
    assert [s.StepDecay(1.0, 0.1, every=2)(t) for t in range(5)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01]
    )
    assert s.ExponentialDecay(1.0, 0.5, every=2)(3) == pytest.approx(0.5**1.5)
    cosine = s.CosineDecay(1.0, total=12, warmup=2, minimum=0.1)
    assert cosine(0) == pytest.approx(1 / 3) and cosine(1) == pytest.approx(2 / 3)
    assert cosine(2) == pytest.approx(1.0)
    assert cosine(7) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way: cos(π/2) = 0
    assert cosine(12) == pytest.approx(0.1) and cosine(100) == pytest.approx(0.1)


def test_optimizer_arguments_are_validated():
    w = [Parameter(np.zeros(2), "w")]
    with pytest.raises(ValueError, match="momentum"):
        gn.SGD(w, nesterov=True)
    with pytest.raises(TypeError, match="learning_rate"):
        gn.SGD(w, learning_rate="fast")
    with pytest.raises(ValueError, match="no parameters"):
        gn.Adam([])
    with pytest.raises(ValueError, match="Unknown optimizer 'adma'"):
        gn.optimizers.get("adma", w)


def test_state_dict_round_trip_resumes_identically():
    rng = np.random.default_rng(0)
    gradients = rng.standard_normal((6, 3))
    a, b = Parameter(np.ones(3), "w"), Parameter(np.ones(3), "w")
    opt_a = gn.Adam([a], learning_rate=0.1)
    for g in gradients[:3]:
        a.grad[:] = g
        opt_a.step()
    b.value[:] = a.value
    opt_b = gn.Adam([b], learning_rate=0.1)
    opt_b.load_state_dict(opt_a.state_dict())
    for g in gradients[3:]:
        a.grad[:] = g
        b.grad[:] = g
        opt_a.step()
        opt_b.step()
    assert np.array_equal(a.value, b.value)


def test_rmsprop_weight_decay_adds_lambda_w_to_the_gradient():
    # g' = 0.5 + 0.1·1 = 0.6; s = 0.1·0.36; w = 1 − 0.01·0.6/√0.036
    w = run(gn.RMSprop, 1, gradient=(0.5, -1.0), learning_rate=0.01, weight_decay=0.1)
    assert w[0] == pytest.approx(1 - 0.01 * 0.6 / math.sqrt(0.036), rel=1e-6)


# ------------------------------------------------ gaps found by mutation testing (issue 18)


def textbook_rmsprop(w, gradients, lr, rho=0.9, eps=1e-8, decay=0.0):
    s = np.zeros_like(w)
    for g in gradients:
        g = g + decay * w
        s = rho * s + (1 - rho) * g**2
        w = w - lr * g / (np.sqrt(s) + eps)
    return w


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_rmsprop_matches_the_textbook_formulas_with_changing_gradients(decay):
    """Several steps, so that the running average s (not only its first value) is checked."""
    rng = np.random.default_rng(1)
    gradients = rng.standard_normal((6, 4))
    w = Parameter(rng.standard_normal(4), "w")
    start = w.value.copy()
    optimizer = gn.RMSprop([w], learning_rate=0.01, rho=0.8, epsilon=1e-3, weight_decay=decay)
    for g in gradients:
        w.grad[:] = g
        optimizer.step()
    expected = textbook_rmsprop(start, gradients, 0.01, rho=0.8, eps=1e-3, decay=decay)
    np.testing.assert_allclose(w.value, expected, rtol=1e-10)


def test_adam_weight_decay_is_l2_added_to_the_gradient():
    """Adam's weight_decay adds λ·w to g before the moments (PyTorch's Adam), unlike AdamW."""
    rng = np.random.default_rng(2)
    gradients = rng.standard_normal((4, 3))
    w = Parameter(rng.standard_normal(3), "w")
    expected, lr, decay = w.value.copy(), 0.01, 0.3
    m, v = np.zeros(3), np.zeros(3)
    optimizer = gn.Adam([w], learning_rate=lr, weight_decay=decay)
    for t, g in enumerate(gradients, start=1):
        w.grad[:] = g
        optimizer.step()
        g = g + decay * expected
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        expected = expected - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(w.value, expected, rtol=1e-10)


def test_get_passes_the_options_on():
    w = [Parameter(np.zeros(2), "w")]
    optimizer = gn.optimizers.get("RMSprop", w, learning_rate=0.25, rho=0.5)
    assert type(optimizer) is gn.RMSprop
    assert (optimizer.learning_rate, optimizer.rho) == (0.25, 0.5)


def test_state_dict_holds_the_moments_not_the_scratch_buffers():
    w = Parameter(np.ones(3), "w")
    optimizer = gn.Adam([w], learning_rate=0.1)
    w.grad[:] = 1.0
    optimizer.step()
    assert sorted(optimizer.state_dict()["state"]["w"]) == ["m", "v"]


def test_load_state_dict_names_what_does_not_fit():
    w = Parameter(np.ones(3), "w")
    optimizer = gn.Adam([w], learning_rate=0.1)
    with pytest.raises(ValueError, match="names parameter 'x', which is not here"):
        optimizer.load_state_dict({"state": {"x": {}}, "iterations": 0})
    with pytest.raises(ValueError, match=r"state w\.m does not match its parameter"):
        optimizer.load_state_dict({"state": {"w": {"m": np.zeros(4)}}, "iterations": 0})
