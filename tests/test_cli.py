"""The command line, on real data: MNIST digits from ../shared and Fashion-MNIST from Debian."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

from cli_runs import invoke as run  # noqa: E402
from digit_data import mnist_folder  # noqa: E402
from glassnet.cli import app  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def digits_dir(mnist_dir, tmp_path_factory) -> Path:
    """An MNIST folder made of the real test set: 8,000 digits to train on, 2,000 to test."""
    return mnist_folder(mnist_dir, tmp_path_factory.mktemp("data"), 8000, 8000)


@pytest.fixture(scope="module")
def digit_run(digits_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "digits"
    code, stdout, _ = run(
        "--json", "train", "mnist", "--data-dir", str(digits_dir), "--out", str(out)
    )
    assert code == 0
    done = json_lines(stdout)[-1]
    assert done["event"] == "done" and done["architecture"] == "784-16-16-10"
    return out


def test_train_writes_a_run_directory_and_reaches_90_percent(digit_run):
    names = {p.name for p in digit_run.iterdir()}
    assert {
        "model.glassnet",
        "config.json",
        "history.json",
        "history.csv",
        "metrics.json",
        "curves.png",
        "confusion.png",
        "weights.png",
        "activations.png",
    } <= names
    metrics = json.loads((digit_run / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.90
    assert np.array(metrics["confusion_matrix"]).sum() == 2000
    history = json.loads((digit_run / "history.json").read_text())
    assert len(history["loss"]) == 10 and history["loss"][-1] < history["loss"][0]
    config = json.loads((digit_run / "config.json").read_text())
    assert config["activation"] == "sigmoid" and config["epochs"] == 10


@needs_fashion
def test_default_training_reaches_84_percent_on_fashion_mnist(tmp_path):
    code, stdout, _ = run("--json", "train", "fashion-mnist", "--out", str(tmp_path / "run"))
    assert code == 0
    done = json_lines(stdout)[-1]
    assert done["test"]["accuracy"] >= 0.84, done


def test_evaluate_reports_the_same_accuracy(digit_run, digits_dir):
    code, stdout, _ = run(
        "--json", "evaluate", str(digit_run), "mnist", "--data-dir", str(digits_dir)
    )
    assert code == 0
    result = json_lines(stdout)[0]
    metrics = json.loads((digit_run / "metrics.json").read_text())
    assert result["accuracy"] == pytest.approx(metrics["accuracy"])
    assert len(result["per_class"]["f1"]) == 10 and result["samples"] == 2000


def test_predict_an_image_file_and_an_npy_array(digit_run, mnist_test, tmp_path):
    from PIL import Image

    X, y = mnist_test
    digit = (X[9000].reshape(28, 28) * 255).astype(np.uint8)
    big = Image.fromarray(255 - digit).resize((140, 140))  # dark ink on white, larger
    big.save(tmp_path / "digit.png")
    np.save(tmp_path / "digits.npy", X[9000:9003])
    code, stdout, _ = run(
        "--json",
        "predict",
        str(digit_run),
        str(tmp_path / "digit.png"),
        str(tmp_path / "digits.npy"),
    )
    assert code == 0
    results = json_lines(stdout)
    assert len(results) == 4
    assert all(0 <= r["probability"] <= 1 and len(r["top"]) == 3 for r in results)
    from glassnet import io

    model = io.load(digit_run / "model.glassnet")
    assert [r["class"] for r in results[1:]] == model.predict(X[9000:9003]).tolist()
    code, stdout, _ = run("predict", str(digit_run), str(tmp_path / "digits.npy"))
    assert code == 0 and stdout.count("digits.npy[") == 3


def test_inspect_shows_a_neurons_arithmetic(digit_run, mnist_test, tmp_path):
    np.save(tmp_path / "x.npy", mnist_test[0][:1])
    code, stdout, _ = run(
        "inspect",
        str(digit_run),
        "--layer",
        "0",
        "--neuron",
        "3",
        "--input",
        str(tmp_path / "x.npy"),
    )
    assert code == 0
    assert "dense_0 neuron 3 (sigmoid)" in stdout and "z = Σ wᵢ·xᵢ + b" in stdout
    assert "784 incoming weights" in stdout
    code, stdout, _ = run("inspect", str(digit_run))
    assert code == 0 and "Total parameters: 13,002" in stdout


def test_plot_redraws_a_run(digit_run):
    from PIL import Image

    for name in ("curves.png", "confusion.png", "weights.png", "activations.png"):
        (digit_run / name).unlink()
    code, stdout, _ = run("plot", str(digit_run))
    assert code == 0
    for name in ("curves.png", "confusion.png", "weights.png", "activations.png"):
        image = np.asarray(Image.open(digit_run / name).convert("L"), dtype=np.float64)
        assert image.shape[0] > 200 and image.shape[1] > 300
        assert image.var() > 100, f"{name} looks blank"


def test_train_a_csv_table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["a,b,c,answer"]
    lines += [f"{a:.4f},{b:.4f},{c:.4f},{t}" for (a, b, c), t in zip(X, labels, strict=True)]
    (tmp_path / "table.csv").write_text("\n".join(lines) + "\n")
    code, stdout, _ = run(
        "--json",
        "train",
        str(tmp_path / "table.csv"),
        "--target",
        "answer",
        "--activation",
        "relu",
        "--epochs",
        "30",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 0
    assert json_lines(stdout)[-1]["test"]["accuracy"] >= 0.9
    (tmp_path / "rows.csv").write_text("a,b,c\n2,2,0\n-2,-2,0\n")
    code, stdout, _ = run("--json", "predict", str(tmp_path / "r"), str(tmp_path / "rows.csv"))
    assert [r["name"] for r in json_lines(stdout)] == ["yes", "no"]


def test_config_file_is_read_and_flags_override_it(digits_dir, tmp_path):
    (tmp_path / "c.toml").write_text('[train]\nepochs = 1\nhidden = "8"\nactivation = "tanh"\n')
    code, stdout, _ = run(
        "--json",
        "train",
        "mnist",
        "--data-dir",
        str(digits_dir),
        "--config",
        str(tmp_path / "c.toml"),
        "--hidden",
        "12",
        "--limit",
        "1000",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 0
    done = json_lines(stdout)[-1]
    assert done["epochs"] == 1 and done["architecture"] == "784-12-10"


USER_MISTAKES = {
    "missing file": (["train", "nothing-here.csv"], "No data set or file named"),
    "bad architecture": (["train", "mnist", "--arch", "784-x-10"], "--arch must be"),
    "architecture does not fit the data": (
        ["train", "mnist", "--arch", "100-16-10"],
        "must start with 784",
    ),
    "csv without target": (["train", "{csv}"], "name the column to predict with --target"),
    "unknown activation": (
        ["train", "mnist", "--activation", "swish"],
        "--activation must be one of ['leaky_relu', 'relu', 'sigmoid', 'tanh'], got 'swish'",
    ),
    "model file missing": (["evaluate", "nope.glassnet", "mnist"], "No model file"),
}


@pytest.mark.parametrize("case", sorted(USER_MISTAKES))
def test_user_mistakes_give_one_clear_line_and_exit_1(case, digits_dir, tmp_path):
    args, message = USER_MISTAKES[case]
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    args = [a.replace("{csv}", str(tmp_path / "t.csv")) for a in args]
    code, stdout, stderr = (
        run(*args, "--data-dir", str(digits_dir)) if args[0] == "train" else (run(*args))
    )
    assert code == 1
    assert stderr.startswith("error: ") and message in stderr and "Traceback" not in stderr


def test_unknown_option_is_a_usage_error():
    code, _, stderr = run("train", "--no-such-option")
    assert code == 2 and "No such option" in stderr


def test_debug_shows_the_traceback():
    result = CliRunner().invoke(app, ["--debug", "train", "nothing-here.csv"])
    assert result.exit_code != 0 and result.exception is not None
    assert "No data set or file named" in str(result.exception)


def test_the_installed_command_runs_in_a_subprocess(digit_run, tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    script = Path(sys.executable).parent / "glassnet"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "glassnet.cli"]
    done = subprocess.run(
        [*command, "inspect", str(digit_run)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and "784-16-16-10" in done.stdout
    done = subprocess.run(
        [*command, "evaluate", str(tmp_path / "none"), "mnist"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1 and done.stderr.startswith("error: No model file")


def test_download_from_a_local_server_fails_cleanly(tmp_path, mnist_dir):
    """glassnet download against a real HTTP server on 127.0.0.1 that has only some files."""
    import functools
    import http.server
    import shutil
    import threading

    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(mnist_dir / "t10k-images-idx3-ubyte.gz", served)
    (served / "train-images-idx3-ubyte.gz").write_bytes(b"not the real file")  # bad checksum
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        target = tmp_path / "cache"
        code, _, stderr = run("download", "mnist", "--data-dir", str(target), "--mirror", url)
    finally:
        server.shutdown()
    # pooch logs "Downloading data from ..." lines first; then our one error message
    error = stderr[stderr.index("error: ") :]
    assert code == 1 and "Traceback" not in stderr
    assert "train-images-idx3-ubyte.gz" in error and "hash" in error
    leftovers = [p for p in target.rglob("*") if p.is_file()] if target.exists() else []
    assert all(p.name.startswith("t10k") for p in leftovers)  # no partial or unverified file


def test_glassnet_lab_serves_the_page(digit_run):
    """`glassnet lab MODEL --port 0` starts a real server; the page and the model answer."""
    import re
    import signal
    import time
    import urllib.request

    command = [
        sys.executable,
        "-m",
        "glassnet.cli",
        "lab",
        str(digit_run),
        "--port",
        "0",
        "--model-dir",
        str(digit_run),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "api/model", timeout=5) as response:
                    model = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with urllib.request.urlopen(url, timeout=5) as response:
            assert b"<canvas" in response.read()
        assert model["sizes"] == [784, 16, 16, 10] and model["trained"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 0  # Ctrl-C is a clean stop, not a crash (issue 18)
