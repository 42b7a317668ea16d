"""The rough edges of issue 17 in the CLI, each as a class: wrong results said, bad input refused.

Tables are real (scikit-learn's diabetes table) or small made-up ones whose answer is known;
digits are the real MNIST test set from ../shared.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")

import glassnet as gn  # noqa: E402
from cli_runs import invoke as run  # noqa: E402
from digit_data import mnist_folder  # noqa: E402
from glassnet import datasets  # noqa: E402


def done(stdout: str) -> dict:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")][-1]


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory) -> Path:
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    frame = sklearn_datasets.load_diabetes(as_frame=True).frame
    path = tmp_path_factory.mktemp("tables") / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def _ridge_r2(path: Path) -> float:
    """scikit-learn's Ridge on glassnet's own seeded 80/20 split of the same table."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    table = datasets.load_csv(path, target="target")
    X_train, X_test, y_train, y_test = datasets.train_test_split(table.X, table.y, seed=0)
    return float(linear_model.Ridge().fit(X_train, y_train).score(X_test, y_test))


def test_regression_defaults_beat_ridge_on_the_diabetes_table(diabetes_csv, tmp_path):
    code, stdout, _ = run(
        "--json", "train", str(diabetes_csv), "--target", "target", "--out", str(tmp_path / "r")
    )
    assert code == 0
    ridge = _ridge_r2(diabetes_csv)
    assert ridge > 0.3
    assert done(stdout)["test"]["r2"] >= ridge
    # The target scaling is recorded and the model predicts in the target's units.
    model = gn.io.load(tmp_path / "r" / "model.glassnet")
    scaling = model.preprocessing["target_scaling"]
    assert scaling["folded"] and 100 < scaling["mean"] < 200
    table = datasets.load_csv(diabetes_csv, target="target")
    assert 100 < float(datasets.predict(model, table.X[:50]).mean()) < 200


def test_regression_learns_a_nonlinear_relation_in_large_units(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (1500, 2))
    price = 1e6 * (x[:, 0] ** 2 + np.sin(2 * x[:, 1])) + 5e6  # prices in the millions
    lines = ["size,age,price"] + [
        f"{a:.5f},{b:.5f},{p:.2f}" for (a, b), p in zip(x, price, strict=True)
    ]
    (tmp_path / "houses.csv").write_text("\n".join(lines) + "\n")
    code, stdout, _ = run(
        "--json", "train", str(tmp_path / "houses.csv"), "--target", "price",
        "--activation", "relu", "--epochs", "60", "--out", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 0
    assert done(stdout)["test"]["r2"] > 0.9


@pytest.fixture(scope="module")
def city_csv(tmp_path_factory) -> Path:
    """A table with a text column: the answer depends on the city, not only the numbers."""
    rng = np.random.default_rng(2)
    n = 600
    size = rng.uniform(20, 120, n)
    city = rng.choice(["Lyon", "Paris", "Nice"], n)
    bonus = {"Lyon": 0.0, "Paris": 3000.0, "Nice": 1500.0}
    price = size * 50 + np.array([bonus[c] for c in city]) + rng.normal(0, 50, n)
    path = tmp_path_factory.mktemp("tables") / "flats.csv"
    rows = [f"{s:.1f},{c},{p:.0f},x" for s, c, p in zip(size, city, price, strict=True)]
    path.write_text("size,city,price,note\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def city_run(city_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "flats"
    code, stdout, stderr = run(
        "--json", "train", str(city_csv), "--target", "price", "--features", "size,city",
        "--activation", "relu", "--epochs", "40", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert done(stdout)["test"]["r2"] > 0.95
    return out


def test_text_columns_are_one_hot_encoded_and_recorded(city_run):
    prep = gn.io.load(city_run / "model.glassnet").preprocessing
    assert prep["columns"] == ["size", "city"]
    assert prep["categories"] == {"city": ["Lyon", "Nice", "Paris"]}
    assert prep["feature_names"] == ["size", "city=Lyon", "city=Nice", "city=Paris"]
    config = json.loads((city_run / "config.json").read_text())
    assert config["features"] == "size,city"


def test_python_cli_and_raw_rows_agree(city_run, tmp_path):
    model = gn.io.load(city_run / "model.glassnet")
    rows = [{"size": 50, "city": "Paris"}, {"size": 50, "city": "Lyon"}]
    python = datasets.predict(model, rows)
    assert python[0] - python[1] == pytest.approx(3000, rel=0.15)  # the city's bonus, in euros
    (tmp_path / "rows.csv").write_text("city,size\nParis,50\nLyon,50\n")  # any column order
    code, stdout, _ = run("--json", "predict", str(city_run), str(tmp_path / "rows.csv"))
    assert code == 0
    cli = [json.loads(line)["value"] for line in stdout.splitlines()]
    np.testing.assert_allclose(cli, python, rtol=1e-5)
    with pytest.raises(datasets.DatasetError, match="never saw"):
        datasets.predict(model, [{"size": 50, "city": "Rome"}])


def test_evaluate_a_table_uses_the_models_own_recipe(city_run, city_csv):
    code, stdout, _ = run("--json", "evaluate", str(city_run), str(city_csv))
    assert code == 0
    assert done(stdout)["r2"] > 0.95


@pytest.fixture(scope="module")
def digits_dir(mnist_dir, tmp_path_factory) -> Path:
    return mnist_folder(mnist_dir, tmp_path_factory.mktemp("data"), 3000, 9000)


@pytest.mark.parametrize(("rate", "warned"), [(50.0, True), (None, False)])
def test_a_run_that_gets_worse_is_said_naming_the_learning_rate(digits_dir, tmp_path, rate, warned):
    args = ["--json", "train", "mnist", "--data-dir", str(digits_dir), "--epochs", "2"]
    args += ["--out", str(tmp_path / "r")] + (["--learning-rate", str(rate)] if rate else [])
    code, stdout, _ = run(*args)
    assert code == 0
    summary = done(stdout)
    assert ("warning" in summary) is warned
    if warned:
        assert "learning rate 50" in summary["warning"]
        assert "warning" in json.loads((tmp_path / "r" / "config.json").read_text())


def test_config_records_what_ran(digits_dir, tmp_path):
    code, _, _ = run(
        "train", "mnist", "--data-dir", str(digits_dir), "--epochs", "1", "--optimizer", "adam",
        "--out", str(tmp_path / "r"), "--limit", "500",
    )  # fmt: skip
    assert code == 0
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["optimizer"] == "adam" and config["learning_rate"] == pytest.approx(1e-3)
    assert config["epochs"] == 1 and config["interrupted"] is False
    for did_not_apply in ("momentum", "target", "image_size", "color", "out"):
        assert did_not_apply not in config


MISTAKES = {
    "limit 0": (["--limit", "0"], "--limit must be a whole number at least 1, got 0"),
    "negative limit": (["--limit", "-5"], "--limit must be"),
    "negative patience": (["--early-stopping", "-1"], "--early-stopping must be"),
    "negative seed": (["--seed", "-1"], "--seed must be a whole number from 0"),
    "zero epochs": (["--epochs", "0"], "--epochs must be"),
    "zero batch": (["--batch-size", "0"], "--batch-size must be"),
    "learning rate 0": (["--learning-rate", "0"], "--learning-rate must be a number above 0"),
    "split 1": (["--validation-split", "1"], "--validation-split must be"),
    "empty arch": (["--arch", ""], "--arch must be"),
    "huge hidden layer": (["--hidden", "100000000"], "at most 100,000,000"),
    "zero hidden": (["--hidden", "16,0"], "--hidden sizes must be at least 1"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_invalid_numbers_are_refused_with_the_range_before_anything_is_written(
    case, digits_dir, tmp_path
):
    extra, message = MISTAKES[case]
    out = tmp_path / "r"
    code, _, stderr = run(
        "train", "mnist", "--data-dir", str(digits_dir), "--out", str(out), *extra
    )
    assert code == 1 and stderr.startswith("error: ") and message in stderr, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert not out.exists() and os.listdir(tmp_path) == []


def test_absurd_image_size_is_refused(tmp_path):
    folder = tmp_path / "pics" / "a"
    folder.mkdir(parents=True)
    code, _, stderr = run("train", str(tmp_path / "pics"), "--image-size", "100000x100000")
    assert code == 1 and "from 1 to 4096 pixels" in stderr


def test_other_commands_refuse_invalid_numbers(city_run, tmp_path):
    (tmp_path / "rows.csv").write_text("size,city\n50,Paris\n")
    code, _, stderr = run("predict", str(city_run), str(tmp_path / "rows.csv"), "--top-k", "0")
    assert code == 1 and "--top-k must be a whole number at least 1" in stderr
    code, _, stderr = run("inspect", str(city_run), "--layer", "7", "--neuron", "0")
    assert (
        code == 1 and "--layer must be a whole number from 0 to 2" in stderr and "got 7" in stderr
    )
    code, _, stderr = run("inspect", str(city_run), "--layer", "0", "--neuron", "-1")
    assert code == 1 and "--neuron must be a whole number" in stderr
    code, _, stderr = run("lab", str(city_run), "--port", "70000")
    assert code == 1 and "--port must be a whole number from 0 to 65,535" in stderr


def test_an_npy_header_claiming_a_trillion_values_is_refused_unread(city_run, tmp_path):
    path = tmp_path / "big.npy"
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(
            file, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}
        )
    code, _, stderr = run("predict", str(city_run), str(path))
    assert code == 1 and "claims 1e+12 values" in stderr
    path.write_bytes(b"\x93NUMPY garbage")
    code, _, stderr = run("predict", str(city_run), str(path))
    assert code == 1 and "not a valid .npy file" in stderr


def test_file_text_never_reaches_the_terminal_as_escapes_or_markup(tmp_path):
    (tmp_path / "t.csv").write_text("a,label\n1,\x1b[31m[bold]red\n2,\x1b[31m[bold]red\n")
    code, stdout, stderr = run("train", str(tmp_path / "t.csv"), "--target", "label")
    assert code == 1 and "holds one class only" in stderr
    assert "\x1b" not in stderr + stdout and "\\x1b" in stderr and "[bold]" in stderr


def test_single_class_data_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "t.csv").write_text("a,label\n1,x\n2,x\n3,x\n4,x\n5,x\n")
    out = tmp_path / "r"
    code, _, stderr = run("train", str(tmp_path / "t.csv"), "--target", "label", "--out", str(out))
    assert code == 1 and "one class only" in stderr
    assert sorted(os.listdir(tmp_path)) == ["t.csv"]


def test_unwritable_out_is_found_before_training(tmp_path, city_csv):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, stdout, stderr = run(
        "train", str(city_csv), "--target", "price", "--out", str(blocker / "run")
    )
    assert code == 1 and "Cannot write the run" in stderr and "epoch" not in stdout
    code, _, stderr = run("train", str(city_csv), "--target", "price", "--out", str(blocker))
    assert code == 1 and "already exists" in stderr


def test_a_failed_run_leaves_no_run_directory(tmp_path, city_csv):
    # A loss that does not fit the output fails after the run folder is claimed.
    out = tmp_path / "r"
    code, _, stderr = run(
        "train", str(city_csv), "--target", "price", "--loss", "cross_entropy", "--out", str(out)
    )
    assert code == 1 and "Traceback" not in stderr
    assert "SoftmaxCrossEntropy applies a softmax output" in stderr
    assert os.listdir(tmp_path) == []


def test_os_errors_are_sentences(tmp_path):
    code, _, stderr = run("evaluate", str(tmp_path), "mnist")
    assert (
        code == 1
        and stderr.startswith(f"error: No model file at {tmp_path}")
        and "[Errno" not in stderr
    )


@pytest.mark.slow
def test_ctrl_c_says_the_run_was_interrupted_and_after_which_epoch(digits_dir, tmp_path):
    out = tmp_path / "r"
    command = [sys.executable, "-m", "glassnet.cli", "--json", "train", "mnist"]
    command += ["--data-dir", str(digits_dir), "--epochs", "500", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:  # the first finished epoch
        if '"event": "epoch"' in line:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    summary = done(rest)
    assert summary["interrupted"] is True and 1 <= summary["epochs"] < 500
    config = json.loads((out / "config.json").read_text())
    assert config["interrupted"] is True and config["epochs"] == summary["epochs"]
    assert config["epochs_requested"] == 500


def test_evaluate_needs_only_the_test_files(digits_dir, mnist_dir, tmp_path):
    out = tmp_path / "r"
    args = ["train", "mnist", "--data-dir", str(digits_dir), "--epochs", "1", "--out", str(out)]
    assert run(*args)[0] == 0
    # ../shared/data/mnist holds the test files only: enough for evaluate, no download.
    code, stdout, stderr = run(
        "--json", "evaluate", str(out), "mnist", "--data-dir", str(mnist_dir)
    )
    assert code == 0, stderr
    assert done(stdout)["samples"] == 10000


def test_mnist_files_given_as_fashion_mnist_are_said(mnist_dir, tmp_path):
    args = ["train", "fashion-mnist", "--data-dir", str(mnist_dir), "--out", str(tmp_path / "r")]
    code, _, stderr = run(*args)
    assert code == 1 and "holds MNIST, not Fashion-MNIST" in stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(
    datasets.find("fashion-mnist") is None, reason="Fashion-MNIST is not on this machine"
)
def test_download_uses_what_is_on_disk_first():
    code, stdout, _ = run("--json", "download", "fashion-mnist")
    assert code == 0
    record = json.loads(stdout)
    assert record["found"] is True and record["folder"] == str(datasets.find("fashion-mnist"))


def test_an_image_folder_of_dark_ink_on_paper_is_inverted_by_every_tool(mnist_test, tmp_path):
    Image = pytest.importorskip("PIL.Image")  # noqa: N806
    X, y = mnist_test
    root = tmp_path / "scans"
    for digit in (0, 1):
        (root / f"d{digit}").mkdir(parents=True)
        for i in np.flatnonzero(y == digit)[:60]:
            paper = (255 - X[i].reshape(28, 28) * 255).astype(np.uint8)  # dark ink, white paper
            Image.fromarray(paper).save(root / f"d{digit}" / f"{i}.png")
    out = tmp_path / "r"
    code, stdout, _ = run(
        "--json", "train", str(root), "--image-size", "28x28", "--epochs", "15", "--out", str(out)
    )
    assert code == 0
    assert done(stdout)["test"]["accuracy"] >= 0.9
    model = gn.io.load(out / "model.glassnet")
    assert model.preprocessing["invert"] is True
    one = next((root / "d1").iterdir())
    code, stdout, _ = run("--json", "predict", str(out), str(one))
    assert json.loads(stdout)["name"] == "d1"
    paper = np.asarray(Image.open(one))
    assert datasets.predict(model, paper).tolist() == [1]


def test_a_fifo_as_data_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    code, _, stderr = run("train", str(fifo), "--target", "t", "--out", str(tmp_path / "r"))
    assert code == 1 and "not a regular file" in stderr
