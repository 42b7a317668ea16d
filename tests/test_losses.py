import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_loss_gradient

RNG = np.random.default_rng(0)


def test_softmax_cross_entropy_gradient_with_integer_and_one_hot_labels():
    logits = RNG.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    one_hot = np.eye(4)[labels]
    loss = gn.SoftmaxCrossEntropy()
    assert check_loss_gradient(loss, logits, labels) < 1e-6
    assert check_loss_gradient(loss, logits, one_hot) < 1e-6
    assert loss.value(logits, labels) == pytest.approx(loss.value(logits, one_hot), rel=1e-12)
    np.testing.assert_allclose(loss.gradient(logits, labels), loss.gradient(logits, one_hot))


def test_softmax_cross_entropy_by_hand():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    labels = np.array([2, 0])
    p0 = np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()
    expected = (-np.log(p0[2]) - np.log(1 / 3)) / 2
    value, grad = gn.SoftmaxCrossEntropy().value_and_gradient(logits, labels)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, np.array([p0 - [0, 0, 1], [1 / 3 - 1, 1 / 3, 1 / 3]]) / 2)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = gn.SoftmaxCrossEntropy().value_and_gradient(logits, np.array([1, 1]))
    assert value == pytest.approx(1000.0)  # (2000 + 0) / 2
    assert np.isfinite(grad).all()


def test_binary_cross_entropy_from_logits():
    logits = RNG.standard_normal((6, 1)) * 3
    labels = np.array([0, 1, 1, 0, 1, 0])
    loss = gn.BinaryCrossEntropy()
    assert check_loss_gradient(loss, logits, labels) < 1e-6
    p = 1 / (1 + np.exp(-logits[:, 0]))
    expected = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert loss.value(logits, labels) == pytest.approx(expected, rel=1e-10)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert gn.BinaryCrossEntropy().value(np.array([[800.0], [-800.0]]), np.array([0, 1])) == (
            pytest.approx(800.0)
        )


def test_mean_squared_error():
    pred = RNG.standard_normal((5, 2))
    target = RNG.standard_normal((5, 2))
    loss = gn.MeanSquaredError()
    assert check_loss_gradient(loss, pred, target) < 1e-6
    assert loss.value(pred, target) == pytest.approx(np.mean((pred - target) ** 2), rel=1e-12)
    # a (batch,) target against one output column
    assert loss.value(pred[:, :1], target[:, 0]) == pytest.approx(
        np.mean((pred[:, 0] - target[:, 0]) ** 2)
    )


def test_labels_out_of_range_or_not_integers_are_rejected():
    loss = gn.SoftmaxCrossEntropy()
    with pytest.raises(gn.DataError, match=r"in \[0, 2\].*labels from 0 to 3"):
        loss.value(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(gn.DataError, match="integers"):
        loss.value(np.zeros((2, 3)), np.array([0.5, 1.0]))


@pytest.mark.parametrize(
    "loss", [gn.MeanSquaredError(), gn.BinaryCrossEntropy(), gn.SoftmaxCrossEntropy()], ids=repr
)
def test_target_shape_mismatch_is_explained(loss):
    name = type(loss).__name__
    with pytest.raises(
        gn.ShapeError, match=rf"^{name} expects targets of shape \(4, 2\).*got \(4, 3\)"
    ):
        loss.value(np.zeros((4, 2)), np.zeros((4, 3)))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_negative_class_ids_are_rejected(dtype):
    with pytest.raises(gn.DataError, match=r"in \[0, 2\].*labels from -1 to 1"):
        gn.SoftmaxCrossEntropy().value(np.zeros((3, 3)), np.array([0, -1, 1], dtype))


def test_a_broken_gradient_is_caught_by_the_harness():
    class WrongMSE(gn.MeanSquaredError):
        def value_and_gradient(self, pred, target):
            value, grad = super().value_and_gradient(pred, target)
            return value, grad * 1.01

    with pytest.raises(AssertionError, match="Gradient of WrongMSE is wrong"):
        check_loss_gradient(WrongMSE(), RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2)))


def test_rows_far_apart_in_one_batch_stay_exact():
    """The batch-wide shift falls back to per-row shifts when a row would underflow."""
    logits = np.array([[0.0, 1.0], [-200.0, -199.0], [300.0, 301.0]], dtype=np.float32)
    value, grad = gn.SoftmaxCrossEntropy().value_and_gradient(logits, np.array([1, 1, 1]))
    expected_p = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    assert value == pytest.approx(-np.log(expected_p[1]), rel=1e-6)
    np.testing.assert_allclose(grad * 3, np.tile(expected_p - [0, 1], (3, 1)), rtol=1e-5)
    np.testing.assert_allclose(
        gn.Softmax().function(logits), np.tile(expected_p, (3, 1)), rtol=1e-6
    )


def _soft_rows(rng, batch, classes):
    y = rng.random((batch, classes)) + 0.05
    return y / y.sum(axis=1, keepdims=True)


# loss → the target forms it accepts, each made from (rng, batch, outputs) (issue 18)
TARGET_FORMS = {
    gn.SoftmaxCrossEntropy: {
        "class ids": lambda rng, n, k: rng.integers(0, k, n),
        "one-hot": lambda rng, n, k: np.eye(k)[rng.integers(0, k, n)],
        "soft probabilities": _soft_rows,
        "weighted rows": lambda rng, n, k: _soft_rows(rng, n, k) * rng.uniform(0.5, 2, (n, 1)),
    },
    gn.BinaryCrossEntropy: {
        "0/1 labels": lambda rng, n, k: rng.integers(0, 2, (n, k)),
        "soft probabilities": lambda rng, n, k: rng.random((n, k)),
        "one column as (batch,)": lambda rng, n, k: rng.integers(0, 2, n),
    },
    gn.MeanSquaredError: {
        "real targets": lambda rng, n, k: rng.standard_normal((n, k)),
        "one column as (batch,)": lambda rng, n, k: rng.standard_normal(n),
    },
}
LOSS_CASES = [(cls, form) for cls, forms in TARGET_FORMS.items() for form in forms]


@pytest.mark.parametrize(
    "loss_class, form", LOSS_CASES, ids=[f"{c.__name__}-{f}" for c, f in LOSS_CASES]
)
def test_every_target_form_matches_finite_differences_with_one_reused_instance(loss_class, form):
    """One loss instance through several batch sizes and output counts, each form checked."""
    make_target = TARGET_FORMS[loss_class][form]
    loss = loss_class()
    rng = np.random.default_rng(18)
    one_column = form.endswith("(batch,)")
    for batch, outputs in [(5, 4), (5, 3), (1, 6), (1, 2), (7, 2), (5, 4)]:
        outputs = 1 if one_column else outputs
        pred = rng.standard_normal((batch, outputs)) * 2
        target = make_target(rng, batch, outputs)
        assert check_loss_gradient(loss, pred, target) < 1e-6, (batch, outputs)
        # the value is the mean loss the docstring states, computed independently
        y = target if target.ndim == 2 else target[:, None]
        if loss_class is gn.SoftmaxCrossEntropy:
            if target.ndim == 1:
                y = np.eye(outputs)[target]
            log_p = pred - np.log(np.exp(pred).sum(axis=1, keepdims=True))
            expected = -(y * log_p).sum() / batch
        elif loss_class is gn.BinaryCrossEntropy:
            s = 1 / (1 + np.exp(-pred))
            expected = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
        else:
            expected = np.mean((pred - y) ** 2)
        assert loss.value(pred, target) == pytest.approx(expected, rel=1e-10), (batch, outputs)


def test_soft_targets_value_does_not_depend_on_the_softmax_shift():
    """Rows far apart switch exp_shifted to per-row shifts; the value must not move (issue 18)."""
    loss = gn.SoftmaxCrossEntropy()
    rng = np.random.default_rng(3)
    pred = rng.standard_normal((4, 3))
    target = _soft_rows(rng, 4, 3) * 2.0
    far = pred.copy()
    far[0] += 500.0  # forces per-row shifts; every other row keeps its softmax
    expected_rest = loss.value(pred[1:], target[1:]) * 3
    got_rest = loss.value(far, target) * 4 - loss.value(far[:1], target[:1])
    assert got_rest == pytest.approx(expected_rest, rel=1e-9)
