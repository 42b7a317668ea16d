"""A folder of handwritten digits is prepared as MNIST by every tool (issue 17).

The digits are real (the shared MNIST test set), saved as PNG files the way users' scans and
photos come: some as MNIST has them, some off-centre on a larger page, some also dark ink on
white paper. A model trained on such a folder records ``"mnist_centering": true``, and
``glassnet predict``, ``glassnet evaluate`` and ``datasets.predict`` prepare new files by it.
"""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
Image = pytest.importorskip("PIL.Image")

import glassnet as gn  # noqa: E402
from cli_runs import invoke as run  # noqa: E402
from glassnet import datasets  # noqa: E402
from glassnet.cli.data import digit_folder  # noqa: E402

PER_CLASS = 100  # training folder: 1,000 digits
HELD_OUT = 40  # digits never in the folder, each saved in the three forms


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def as_found(digit: np.ndarray, form: int, rng: np.random.Generator) -> np.ndarray:
    """A 28×28 MNIST digit (uint8) as a user's file may hold it.

    form 0: as in MNIST; 1: off-centre on a black 40×48 page; 2: the same, dark ink on white.
    """
    if form == 0:
        return digit
    page = np.zeros((40, 48), np.uint8)
    top, left = rng.integers(0, 40 - 28 + 1), rng.integers(0, 48 - 28 + 1)
    page[top : top + 28, left : left + 28] = digit
    return page if form == 1 else 255 - page


def save(folder: Path, name: str, pixels: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def digit_files(mnist_test, tmp_path_factory) -> tuple[Path, list[Path], np.ndarray]:
    """``digits/0/ ... digits/9/`` (PER_CLASS each, forms mixed) and held-out files with labels."""
    X, y = mnist_test
    pixels = np.rint(X * 255).astype(np.uint8).reshape(-1, 28, 28)
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("digit-folders")
    for digit in range(10):
        for k, i in enumerate(np.flatnonzero(y[:8000] == digit)[:PER_CLASS]):
            save(root / "digits" / str(digit), str(i), as_found(pixels[i], k % 3, rng))
    held_out = np.arange(3000, 3000 + HELD_OUT)  # past the digits the folder takes (< 1,200)
    files = [
        save(root / "new", f"{i}-{form}", as_found(pixels[i], form, rng))
        for form in (0, 1, 2)
        for i in held_out
    ]
    return root / "digits", files, np.tile(y[held_out], 3)


@pytest.fixture(scope="module")
def digit_run(digit_files, tmp_path_factory) -> tuple[Path, dict]:
    root, _, _ = digit_files
    out = tmp_path_factory.mktemp("digit-runs") / "run"
    code, stdout, stderr = run("--json", "train", str(root), "--epochs", "8", "--out", str(out))
    assert code == 0, stderr
    return out, records(stdout)[-1]


@pytest.mark.slow
def test_a_digit_folder_trains_on_centred_digits_and_says_so(digit_run):
    out, summary = digit_run
    model = gn.io.load(out / "model.glassnet")
    assert model.preprocessing["mnist_centering"] is True
    assert model.preprocessing["image_size"] == [28, 28]
    assert model.preprocessing["invert"] is False  # inverted one by one, by mnist_preprocess
    config = json.loads((out / "config.json").read_text())
    assert config["digits"] is True and "image_size" not in config
    augment = model.layers[0]  # the default CNN for digits augments, without flips
    assert isinstance(augment, gn.Augment) and augment.get_config()["horizontal_flip"] is False
    assert summary["test"]["accuracy"] >= 0.9


@pytest.mark.slow
def test_predict_centres_off_centre_and_inverted_digit_files(digit_run, digit_files):
    out, _ = digit_run
    _, files, labels = digit_files
    code, stdout, stderr = run("--json", "predict", str(out), *map(str, files))
    assert code == 0, stderr
    predicted = np.array([r["class"] for r in records(stdout)])
    assert [r["input"] for r in records(stdout)] == list(map(str, files))
    # each form alone: unprepared, the pages (squashed, off-centre, white) would be misread
    for form, chunk in enumerate(np.split(predicted == labels, 3)):
        assert chunk.mean() >= 0.8, f"form {form}: {chunk.mean():.2f}"
    # Python on the same raw files gives the same classes (one recipe for every tool)
    model = gn.io.load(out / "model.glassnet")
    raw = [np.asarray(Image.open(path)) for path in files]
    assert datasets.predict(model, raw).tolist() == predicted.tolist()


@pytest.mark.slow
def test_evaluate_prepares_a_digit_folder_by_the_models_recipe(digit_run, digit_files):
    out, summary = digit_run
    root, _, _ = digit_files
    code, stdout, stderr = run("--json", "evaluate", str(out), str(root))
    assert code == 0, stderr
    scores = records(stdout)[-1]
    # the same 20% test split, prepared the same way as in training: the same score
    assert scores["samples"] == summary["test_samples"]
    assert scores["accuracy"] == pytest.approx(summary["test"]["accuracy"], abs=1e-12)


def test_the_digit_folder_rule(tmp_path):
    def folder(*names: str) -> Path:
        root = tmp_path / "-".join(names)
        for name in names:
            (root / name).mkdir(parents=True)
        return root

    gray = {"color": "grayscale", "digits": None}
    assert digit_folder(folder("0", "1", "7"), gray)
    assert not digit_folder(folder("3"), gray)  # one class is no digit classifier
    assert not digit_folder(folder("0", "cats"), gray)
    assert not digit_folder(folder("0", "10"), gray)  # 10 is not a digit
    assert not digit_folder(folder("4", "5"), {"color": "rgb", "digits": None})
    assert digit_folder(folder("d0", "d1"), {"color": "grayscale", "digits": True})
    assert not digit_folder(folder("8", "9"), {"color": "grayscale", "digits": False})


def test_digits_with_rgb_is_one_clear_error(tmp_path):
    for digit in (0, 1):
        save(tmp_path / "d" / str(digit), "a", np.full((8, 8), 255 * digit, np.uint8))
    code, _, stderr = run(
        "train", str(tmp_path / "d"), "--digits", "--color", "rgb", "--out", str(tmp_path / "r")
    )
    assert code == 1
    assert stderr.startswith("error: --digits") and "Traceback" not in stderr
    assert not (tmp_path / "r").exists()


def test_no_digits_keeps_the_folder_as_images(mnist_test, tmp_path):
    X, y = mnist_test
    for digit in (0, 1):
        for i in np.flatnonzero(y == digit)[:20]:
            pixels = np.rint(X[i] * 255).astype(np.uint8).reshape(28, 28)
            save(tmp_path / "d" / str(digit), str(i), pixels)
    out = tmp_path / "r"
    code, _, stderr = run(
        "--json", "train", str(tmp_path / "d"), "--no-digits", "--image-size", "28x28",
        "--arch", "784-8-1", "--epochs", "1", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert gn.io.load(out / "model.glassnet").preprocessing["mnist_centering"] is False
    assert json.loads((out / "config.json").read_text())["digits"] is False


def test_load_image_folder_digits_matches_the_one_image_recipe(mnist_test, tmp_path):
    X, y = mnist_test
    rng = np.random.default_rng(1)
    pixels = np.rint(X[:12] * 255).astype(np.uint8).reshape(-1, 28, 28)
    for i, digit in enumerate(pixels):
        save(tmp_path / "f" / str(y[i] % 2), str(i), as_found(digit, i % 3, rng))
    save(tmp_path / "f" / "0", "blank", np.full((30, 30), 200, np.uint8))  # no ink at all
    with pytest.warns(datasets.SkippedFileWarning, match=r"blank\.png: not a digit"):
        folder = datasets.load_image_folder(tmp_path / "f", digits=True)
    assert folder.X.shape == (12, 28, 28) and folder.X.dtype == np.float32
    recipe = {"kind": "image", "image_size": [28, 28], "mnist_centering": True}
    one_by_one = [datasets.prepare_images(recipe, datasets.load_image(p)) for p in folder.paths]
    np.testing.assert_array_equal(folder.flat(), np.concatenate(one_by_one))  # bit for bit
    with pytest.warns(datasets.SkippedFileWarning):
        nchw = datasets.load_image_folder(tmp_path / "f", digits=True, layout="nchw")
    np.testing.assert_array_equal(nchw.X[:, 0], folder.X)  # (n, 1, 28, 28) for a CNN
    with pytest.raises(datasets.DatasetError, match=r"blank\.png: expected a digit"):
        datasets.load_image_folder(tmp_path / "f", digits=True, on_error="raise")
    with pytest.raises(datasets.DatasetError, match="color='grayscale'"):
        datasets.load_image_folder(tmp_path / "f", digits=True, color="rgb")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # without digits=True the blank page is just an image
        assert len(datasets.load_image_folder(tmp_path / "f", size=(28, 28))) == 13


@pytest.mark.slow
def test_the_lab_centres_an_uploaded_digit_picture(digit_run, digit_files, tmp_path):
    pytest.importorskip("starlette", reason="the lab needs: pip install 'glassnet[lab]'")
    from starlette.testclient import TestClient  # noqa: PLC0415 - only with the lab extra

    from glassnet.lab import server  # noqa: PLC0415

    out, _ = digit_run
    _, files, _ = digit_files
    model = gn.io.load(out / "model.glassnet")
    pages = [np.asarray(Image.open(path)) for path in files[-10:]]  # dark ink, off-centre
    rows = datasets.prepare_images(model.preprocessing, pages)  # (10, 784)
    expected = model.predict_proba(rows.reshape(-1, 1, 28, 28))
    app = server.create_app(model, tmp_path / "models")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        for page, p in zip(pages, expected, strict=True):
            picture = {
                "width": page.shape[1],
                "height": page.shape[0],
                "channels": 1,
                "data": base64.b64encode(page.tobytes()).decode(),
            }
            answer = client.post("/api/predict", json={"picture": picture})
            assert answer.status_code == 200, answer.text
            np.testing.assert_allclose(answer.json()["output"], p, rtol=1e-5, atol=1e-7)
