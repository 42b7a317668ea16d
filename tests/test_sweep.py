"""Sweeps (issue 16): grids, ``glassnet sweep`` on joblib processes and on a real Dask cluster,
and the scikit-learn estimators in GridSearchCV through joblib's Dask backend.

The Dask tests start a ``dask.distributed.LocalCluster`` of two worker processes on loopback.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
pytest.importorskip("joblib")

from cli_runs import invoke as run  # noqa: E402
from digit_data import mnist_folder  # noqa: E402
from glassnet.distributed import expand_grid, parse_grid  # noqa: E402


def test_a_grid_is_parsed_into_typed_values_and_every_combination():
    grid = parse_grid(["learning_rate=1e-3,1e-2", "hidden=16,64", "activation=relu"])
    assert grid == {"learning_rate": [1e-3, 1e-2], "hidden": [16, 64], "activation": ["relu"]}
    combinations = expand_grid(grid)
    assert len(combinations) == 4
    assert combinations[0] == {"learning_rate": 1e-3, "hidden": 16, "activation": "relu"}
    assert combinations[1]["hidden"] == 64  # the last setting changes fastest


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "at least one grid"),
        (["learning_rate"], "NAME=VALUE,VALUE"),
        (["=1,2"], "NAME=VALUE,VALUE"),
        (["hidden=16,"], "empty value"),
        (["hidden=16", "hidden=32"], "twice"),
    ],
)
def test_a_bad_grid_is_one_clear_error(specs, message):
    with pytest.raises(ValueError, match=message):
        parse_grid(specs)


@pytest.fixture(scope="module")
def base_config(mnist_dir, tmp_path_factory) -> Path:
    """A TOML base config training on an MNIST folder made of the real test set."""
    root = mnist_folder(mnist_dir, tmp_path_factory.mktemp("sweep-data"), 1500, 9500)
    config = root / "base.toml"
    config.write_text(
        f'data = "mnist"\ndata_dir = "{root}"\nepochs = 1\nactivation = "relu"\nbatch_size = 64\n'
    )
    return config


GRID = ["--grid", "learning_rate=1e-4,1e-2", "--grid", "hidden=16"]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (["--grid", "learning_rate"], "NAME=VALUE,VALUE"),
        (["--grid", "colour=red"], "unknown settings ['colour']"),
        (["--grid", "out=a,b"], "cannot vary ['out']"),
        (["--grid", "validation_split=0,0.1"], "--validation-split must be > 0"),
        ([], "at least one grid"),
    ],
)
def test_glassnet_sweep_rejects_a_bad_grid_in_one_line(base_config, tmp_path, grid, message):
    code, stdout, stderr = run("sweep", str(base_config), *grid, "--out", str(tmp_path / "s"))
    assert code == 1
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert message in stderr
    assert "Traceback" not in stdout + stderr


def read_summary(folder: Path) -> list[dict[str, str]]:
    with open(folder / "summary.csv", newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def local_sweep(base_config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweeps") / "local"
    code, _, stderr = run("sweep", str(base_config), *GRID, "--jobs", "2", "--out", str(out))
    assert code == 0, stderr
    return out


def test_glassnet_sweep_runs_every_combination_ranked_by_validation_score(local_sweep):
    rows = read_summary(local_sweep)
    assert len(rows) == 2
    scores = [float(row["val_accuracy"]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    # An epoch at lr=1e-4 barely moves the weights: lr=1e-2 wins.
    assert float(rows[0]["learning_rate"]) == 1e-2
    for row in rows:
        run_dir = Path(row["run"])
        assert run_dir.parent == local_sweep
        assert (run_dir / "model.glassnet").exists()
        config = json.loads((run_dir / "config.json").read_text())
        assert config["learning_rate"] == float(row["learning_rate"])
    assert (local_sweep / "summary.png").exists()
    assert json.loads((local_sweep / "summary.json").read_text())[0]["run"] == rows[0]["run"]


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster


@pytest.mark.slow
def test_glassnet_sweep_on_a_dask_scheduler_equals_the_local_run(
    dask_cluster, base_config, local_sweep, tmp_path
):
    out = tmp_path / "dask"
    code, stdout, stderr = run(
        "sweep",
        str(base_config),
        *GRID,
        "--scheduler",
        dask_cluster.scheduler_address,
        "--out",
        str(out),
    )
    assert code == 0, stderr
    assert dask_cluster.scheduler_address in stdout
    on_dask, local = read_summary(out), read_summary(local_sweep)
    assert [r["learning_rate"] for r in on_dask] == [r["learning_rate"] for r in local]
    assert [r["val_accuracy"] for r in on_dask] == [r["val_accuracy"] for r in local]


@pytest.mark.slow  # the client waits out its connection timeout
def test_glassnet_sweep_names_an_unreachable_scheduler(base_config, tmp_path):
    pytest.importorskip("distributed")
    code, _, stderr = run(
        "sweep", str(base_config), *GRID, "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)
    )
    assert code == 1
    assert stderr.startswith("error: No Dask scheduler answered at tcp://127.0.0.1:9")


@pytest.mark.slow
def test_grid_search_of_the_sklearn_estimators_on_dask_equals_the_local_run(
    dask_cluster, mnist_test
):
    pytest.importorskip("sklearn")
    import joblib
    from distributed import Client, get_task_stream
    from sklearn.model_selection import GridSearchCV

    from glassnet.sklearn import MLPClassifier

    X, y = mnist_test[0][:600], mnist_test[1][:600]
    grid = {"hidden_layer_sizes": [(8,), (32,)], "learning_rate": [1e-4, 1e-2]}

    def search() -> GridSearchCV:
        estimator = MLPClassifier(batch_size=32, max_iter=4, random_state=0)
        return GridSearchCV(estimator, grid, cv=2, n_jobs=-1)

    with joblib.parallel_config(backend="sequential"):
        local = search().fit(X, y)
    with Client(dask_cluster) as client, joblib.parallel_config(backend="dask"):
        with get_task_stream(client) as tasks:
            on_dask = search().fit(X, y)
    # The fits really ran on the cluster's worker processes (2 folds × 4 candidates, batched).
    workers = {task["worker"] for task in tasks.data}
    assert tasks.data and workers <= set(dask_cluster.scheduler.workers)
    assert (
        on_dask.best_params_
        == local.best_params_
        == {
            "hidden_layer_sizes": (32,),
            "learning_rate": 1e-2,
        }
    )
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
