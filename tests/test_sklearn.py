"""glassnet.sklearn (issue 7): scikit-learn's estimator checks, Pipeline and GridSearchCV,
partial_fit, pickling, and accuracy parity with scikit-learn's own MLPClassifier on real MNIST.

No estimator check is expected to fail. The networks follow X's dtype as scikit-learn's MLP does
(float32 in → float32, anything else → float64), so ``check_methods_subset_invariance`` passes with
the defaults. Two checks skip themselves:

- ``check_array_api_input`` skips itself unless the environment variable ``SCIPY_ARRAY_API=1`` is
  set; the estimators compute with NumPy only and do not claim Array API support.
- ``check_decision_proba_consistency`` skips itself: the classifier has no ``decision_function``.
"""

from __future__ import annotations

import gzip
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6", reason="glassnet.sklearn needs scikit-learn>=1.6")

from sklearn import neural_network  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402  (a scikit-learn dependency)

import glassnet as gn  # noqa: E402
from glassnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
# Short trainings in these tests stop at max_iter on purpose; test_reaching_max_iter_warns checks
# the warning itself.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

MNIST_DIR = Path(os.environ.get("GLASSNET_SHARED", REPO_ROOT.parent / "shared")) / "data" / "mnist"


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Run BLAS on one thread: as fast for these small networks, reproducible whatever the core
    count, and no busy-waiting BLAS threads when other work shares the machine (measured: the
    MNIST comparison took 2 s per fit on one thread, up to 57 s on two contended ones)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8×8 digits (1,797 real handwritten digits), split 1,347 / 450."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


# ---------------------------------------------------------------------- scikit-learn's own suite


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_passes_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------- packaging


def test_import_glassnet_does_not_import_scikit_learn():
    code = (
        "import sys, glassnet; print('sklearn' in sys.modules, 'glassnet.sklearn' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------- composition


def test_pipeline_with_standard_scaler_learns_digits(digits):
    X_train, X_test, y_train, y_test = digits
    mlp = MLPClassifier((32,), learning_rate=0.01, batch_size=32, max_iter=20, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)])
    pipe.fit(X_train, y_train)

    assert pipe.score(X_test, y_test) > 0.93
    # The pipeline feeds the network the scaled inputs.
    scaled = pipe["scale"].transform(X_test)
    np.testing.assert_array_equal(pipe.predict(X_test), pipe["mlp"].predict(scaled))
    assert isinstance(pipe["mlp"].model_, gn.Sequential)
    assert pipe["mlp"].model_.n_inputs == 64 and pipe["mlp"].model_.n_outputs == 10


def test_grid_search_over_hidden_sizes_and_learning_rate(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier(batch_size=32, max_iter=10, random_state=0)),
        ]
    )
    grid = {"mlp__hidden_layer_sizes": [(8,), (32,)], "mlp__learning_rate": [1e-4, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=3)
    search.fit(X_train, y_train)

    assert len(search.cv_results_["params"]) == 4
    # Ten epochs at lr=1e-4 barely move the weights, and 8 neurons are a bottleneck.
    assert search.best_params_ == {"mlp__hidden_layer_sizes": (32,), "mlp__learning_rate": 1e-2}
    assert search.best_estimator_["mlp"].hidden_layer_sizes == (32,)
    assert search.score(X_test, y_test) > 0.93


# ---------------------------------------------------------------------- the estimator contract


def test_params_round_trip_and_clone_gives_an_unfitted_copy(digits):
    clf = MLPClassifier((16, 8), "tanh", optimizer="sgd", learning_rate=0.05, random_state=3)
    assert clf.get_params()["hidden_layer_sizes"] == (16, 8)
    assert clf.set_params(max_iter=5) is clf and clf.max_iter == 5

    X_train, _, y_train, _ = digits
    clf.fit(X_train / 16, y_train)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "model_")
    with pytest.raises(NotFittedError):
        copy.predict(X_train)


def test_fit_is_reproducible_with_random_state(digits):
    X_train, _, y_train, _ = digits
    X_train = X_train / 16
    weights = []
    for random_state in (7, 7, np.random.RandomState(7), 8):
        clf = MLPClassifier((16,), max_iter=3, random_state=random_state)
        weights.append(clf.fit(X_train, y_train).model_.get_weights())
    np.testing.assert_array_equal(weights[0], weights[1])
    np.testing.assert_array_equal(weights[0], weights[2])  # a RandomState seeded alike
    assert not np.array_equal(weights[0], weights[3])


def test_string_labels_map_to_output_neurons_in_classes_order():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-2, 1, (40, 2)), rng.normal(2, 1, (40, 2))])
    y = np.array(["dog"] * 40 + ["cat"] * 40)
    clf = MLPClassifier((8,), learning_rate=0.01, random_state=0).fit(X, y)

    np.testing.assert_array_equal(clf.classes_, ["cat", "dog"])
    assert clf.predict([[2.0, 2.0], [-2.0, -2.0]]).tolist() == ["cat", "dog"]
    probabilities = clf.predict_proba([[2.0, 2.0]])
    assert probabilities.shape == (1, 2) and probabilities[0, 0] > 0.9  # column 0 is "cat"


def test_one_class_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(np.ones((5, 2)), ["a"] * 5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must hold whole numbers"),
        ({"batch_size": 0}, "batch_size must be 'auto' or a whole number"),
        ({"max_iter": 2.5}, "max_iter must be a whole number"),
        ({"dtype": "int32"}, r"dtype must be None \(follow X\), float32 or float64"),
        ({"optimizer": "lbfgs"}, "Unknown optimizer 'lbfgs'"),
        ({"early_stopping": True, "validation_fraction": 1.5}, "validation_fraction must be"),
    ],
)
def test_bad_hyperparameters_are_reported_at_fit(params, message):
    clf = MLPClassifier(**params)  # scikit-learn's rule: __init__ only stores them
    with pytest.raises(ValueError, match=message):
        clf.fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_weight_decay_reaches_the_glassnet_optimizer():
    clf = MLPClassifier((4,), optimizer="sgd", weight_decay=0.01, momentum=0.5, max_iter=1)
    clf.fit(np.eye(4), [0, 1, 0, 1])
    optimizer = clf.model_.optimizer
    assert isinstance(optimizer, gn.SGD)
    assert (optimizer.weight_decay, optimizer.momentum, optimizer.learning_rate) == (
        0.01,
        0.5,
        1e-3,
    )


# ---------------------------------------------------------------------- training behaviour


def test_stops_when_the_training_loss_stops_improving():
    X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    reg = MLPRegressor((16,), learning_rate=0.01, max_iter=1000, tol=1e-2, random_state=0)
    reg.fit(X / X.std(), y / y.std())
    assert reg.n_iter_ < 1000
    assert reg.history_.stopped_early
    assert len(reg.loss_curve_) == reg.n_iter_


def test_reaching_max_iter_warns_about_convergence():
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        MLPClassifier((4,), max_iter=2).fit(np.eye(4), [0, 1, 0, 1])


def test_early_stopping_keeps_the_best_validation_epoch(digits):
    X_train, _, y_train, _ = digits
    clf = MLPClassifier(
        (32,),
        learning_rate=0.01,
        batch_size=32,
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X_train / 16, y_train)

    val_loss = clf.history_["val_loss"]
    assert clf.history_.stopped_early and clf.n_iter_ < 200
    # Stopped three epochs after the best one, whose weights it kept.
    assert int(np.argmin(val_loss)) == clf.n_iter_ - 4
    assert "val_accuracy" in clf.history_.history


def test_partial_fit_trains_one_epoch_per_call_on_streamed_batches(digits):
    X_train, X_test, y_train, y_test = digits
    X_train, X_test = X_train / 16, X_test / 16
    clf = MLPClassifier((32,), learning_rate=0.01, batch_size=32, random_state=0)
    with pytest.raises(ValueError, match="needs classes="):
        clf.partial_fit(X_train[:100], y_train[:100])

    chunks = np.array_split(np.arange(len(X_train)), 5)
    clf.partial_fit(X_train[chunks[0]], y_train[chunks[0]], classes=np.arange(10))
    first = clf.score(X_test, y_test)
    for _ in range(3):
        for rows in chunks:
            clf.partial_fit(X_train[rows], y_train[rows])
    assert clf.n_iter_ == 16 and len(clf.loss_curve_) == 16
    assert clf.score(X_test, y_test) > max(first, 0.9)

    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X_train[:5], [0, 1, 2, 3, 10])
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X_train[:5], y_train[:5], classes=np.arange(11))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X_train[:5, :10], y_train[:5])


def test_pickled_estimator_predicts_the_same_and_keeps_learning(digits):
    # A Sequential's parameters are views into one packed buffer that pickle does not keep;
    # the estimator rebuilds its network so that the copy's optimizer still moves its weights.
    X_train, X_test, y_train, _ = digits
    X_train, X_test = X_train / 16, X_test / 16
    clf = MLPClassifier((16,), learning_rate=0.01, random_state=0)
    clf.partial_fit(X_train, y_train, classes=np.arange(10))
    copy = pickle.loads(pickle.dumps(clf))

    np.testing.assert_array_equal(copy.predict_proba(X_test), clf.predict_proba(X_test))
    assert copy.model_.optimizer.iterations == clf.model_.optimizer.iterations
    before = copy.model_.get_weights()
    copy.partial_fit(X_train, y_train)
    clf.partial_fit(X_train, y_train)
    assert not np.array_equal(copy.model_.get_weights(), before)
    np.testing.assert_array_equal(copy.model_.get_weights(), clf.model_.get_weights())


def test_regressor_predicts_in_the_shape_and_precision_of_its_inputs():
    X, y = make_regression(n_samples=100, n_features=4, n_targets=3, random_state=0)
    X, y = X / X.std(), y / y.std()
    params = {"hidden_layer_sizes": (16,), "learning_rate": 0.01, "random_state": 0}
    one = MLPRegressor(**params).fit(X, y[:, 0])
    column = MLPRegressor(**params).fit(X, y[:, :1])
    three = MLPRegressor(**params).fit(X, y)

    assert one.predict(X).shape == (100,)
    assert column.predict(X).shape == (100, 1)
    assert three.predict(X).shape == (100, 3) and three.n_outputs_ == 3
    assert three.score(X, y) > 0.9
    assert one.predict(X).dtype == np.float64
    assert one.predict(X.astype(np.float32)).dtype == np.float32
    assert one.model_.dtype == np.float64  # the network follows X, as scikit-learn's MLP does
    assert MLPRegressor(**params).fit(X.astype(np.float32), y).model_.dtype == np.float32


def test_dataframe_column_names_are_remembered_and_checked():
    pd = pytest.importorskip("pandas", reason="feature_names_in_ needs a pandas DataFrame")
    X = pd.DataFrame({"height": [1.0, 2.0, 3.0, 4.0], "weight": [4.0, 3.0, 2.0, 1.0]})
    clf = MLPClassifier((4,), max_iter=5).fit(X, [0, 1, 0, 1])
    np.testing.assert_array_equal(clf.feature_names_in_, ["height", "weight"])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.rename(columns={"weight": "age"}))


# ---------------------------------------------------------------------- parity on real data


def _read_idx_gz(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.mark.slow
def test_mnist_accuracy_within_one_point_of_scikit_learn_mlp():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"The real MNIST test set is not at {MNIST_DIR} (set GLASSNET_SHARED).")
    images = _read_idx_gz(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    labels = _read_idx_gz(MNIST_DIR / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    X = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
    X_train, y_train, X_test, y_test = X[:8000], labels[:8000], X[8000:], labels[8000:]

    # The same network and training for both: 784-64-10 ReLU, Adam at 1e-3, batches of 64,
    # 20 full epochs (no early or tolerance stopping), no regularisation. A single run's test
    # accuracy varies by about ±0.4 points with the seed, so each library's mean over three seeds
    # is compared.
    shared = {"hidden_layer_sizes": (64,), "activation": "relu", "batch_size": 64, "max_iter": 20}
    shared |= {"tol": 0.0, "n_iter_no_change": 20}
    ours, theirs = [], []
    for seed in range(3):
        glassnet_mlp = MLPClassifier(
            **shared, optimizer="adam", learning_rate=1e-3, random_state=seed
        )
        sklearn_mlp = neural_network.MLPClassifier(
            **shared, solver="adam", learning_rate_init=1e-3, alpha=0.0, random_state=seed
        )
        ours.append(glassnet_mlp.fit(X_train, y_train).score(X_test, y_test))
        theirs.append(sklearn_mlp.fit(X_train, y_train).score(X_test, y_test))
        assert glassnet_mlp.n_iter_ == sklearn_mlp.n_iter_ == 20

    print(f"\nMNIST 8,000/2,000: glassnet {ours}, scikit-learn {theirs}")
    assert min(ours) > 0.94 and min(theirs) > 0.94
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01
