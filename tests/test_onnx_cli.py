"""``glassnet export`` (ONNX and NumPy) and .onnx files in the commands that take a model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

pytest.importorskip("typer")

import glassnet as gn  # noqa: E402
from cli_runs import invoke as run  # noqa: E402

REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def model_file(mnist_test, tmp_path_factory) -> tuple[Path, gn.Sequential, np.ndarray]:
    X, y = mnist_test
    model = gn.MLP([784, 16, 10], activation="sigmoid", seed=0)
    model.fit(X[:1000], y[:1000], epochs=1, seed=0)
    model.class_names = [str(i) for i in range(10)]
    folder = tmp_path_factory.mktemp("model")
    path = folder / "digits.glassnet"
    gn.save(model, path, preprocessing={"kind": "image", "image_size": [28, 28]})
    np.save(folder / "digits.npy", X[-5:], allow_pickle=False)
    return path, model, X[-5:]


def test_export_onnx_then_predict_and_inspect_the_onnx_file(model_file, tmp_path):
    path, model, X = model_file
    out = tmp_path / "digits.onnx"
    code, stdout, stderr = run("export", str(path), "--format", "onnx", "--out", str(out))
    assert code == 0, stderr
    assert "Wrote" in stdout
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probabilities, _ = session.run(None, {"input": X})
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=1e-5)
    code, stdout, stderr = run("predict", str(out), str(path.parent / "digits.npy"))
    assert code == 0, stderr
    predicted = [line.split(": ")[1].split(" ")[0] for line in stdout.splitlines()]
    assert predicted == [str(c) for c in model.predict(X)]
    code, stdout, stderr = run("inspect", str(REFERENCE / "torch_mlp.onnx"))
    assert code == 0, stderr
    assert "dense_0" in stdout


def test_export_numpy_writes_a_script_that_predicts(model_file, tmp_path):
    path, model, X = model_file
    out = tmp_path / "numpy_model"
    code, _, stderr = run("export", str(path), "--format", "numpy", "--out", str(out))
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} >= {"model.py", "weights.npz"}
    done = subprocess.run(
        [sys.executable, str(out / "model.py"), str(path.parent / "digits.npy")],
        capture_output=True,
        text=True,
        check=True,
    )
    predicted = [line.split(": ")[1] for line in done.stdout.splitlines()]
    assert predicted == [str(c) for c in model.predict(X)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "tflite"], "--format must be one of onnx, numpy, got 'tflite'"),
        (["--out", "{tmp}/x.onnx", "--format", "onnx", "{tmp}/none.glassnet"], "No model file"),
    ],
)
def test_export_mistakes_are_one_error_line(model_file, tmp_path, args, message):
    path, _, _ = model_file
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    target = args.pop() if args[-1].endswith(".glassnet") else str(path)
    code, _, stderr = run("export", target, *args)
    assert code == 1
    assert stderr.startswith("error: ") and message in stderr and len(stderr.splitlines()) == 1


def test_a_damaged_onnx_file_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    code, _, stderr = run("predict", str(bad), str(bad))
    assert code == 1
    assert stderr.startswith("error: Cannot load") and len(stderr.splitlines()) == 1


def test_the_lab_opens_an_onnx_file():
    pytest.importorskip("starlette")
    from glassnet.lab import sources

    model = sources.load_model(REFERENCE / "torch_mlp.onnx")
    assert model.input_shape == (784,) and model.n_outputs == 10
