import numpy as np
import pytest

from glassnet import metrics


def test_classification_metrics_by_hand():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, y_pred), [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    )
    scores = metrics.precision_recall_f1(y_true, y_pred)
    precision = np.array([1 / 2, 2 / 3, 1 / 1])
    recall = np.array([1 / 2, 2 / 2, 1 / 2])
    f1 = 2 * precision * recall / (precision + recall)
    assert scores["precision"] == pytest.approx(precision.mean())
    assert scores["recall"] == pytest.approx(recall.mean())
    assert scores["f1"] == pytest.approx(f1.mean())
    np.testing.assert_array_equal(scores["per_class"]["support"], [2, 2, 2])


def test_a_class_never_predicted_scores_zero_not_nan():
    scores = metrics.precision_recall_f1([0, 1, 1], [1, 1, 1])
    assert scores["per_class"]["precision"][0] == 0.0
    assert np.isfinite(scores["f1"])


def test_regression_metrics_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 2.0, 2.0, 4.0])
    assert metrics.mean_squared_error(y, pred) == pytest.approx((0.25 + 1.0) / 4)
    assert metrics.mean_absolute_error(y, pred) == pytest.approx(1.5 / 4)
    assert metrics.r2_score(y, pred) == pytest.approx(1 - 1.25 / 5.0)
    assert metrics.r2_score(y, y) == 1.0


def test_column_and_vector_shapes_are_reconciled_not_broadcast():
    y = np.arange(5.0)
    assert metrics.mean_squared_error(y[:, None], y) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        metrics.mean_squared_error(np.zeros(5), np.zeros(4))
