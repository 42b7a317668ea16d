"""Image folders, single images and MNIST-style preprocessing, on files made with Pillow."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from glassnet.datasets import (
    DatasetError,
    DatasetNotFoundError,
    SkippedFileWarning,
    load_image,
    load_image_folder,
    load_mnist,
    mnist_preprocess,
)

Image = pytest.importorskip("PIL.Image", reason="Pillow is in the glassnet[data] extra")
ImageDraw = pytest.importorskip("PIL.ImageDraw")


@pytest.fixture
def pets(tmp_path):
    """cats/ (3 files: PNG RGB, JPEG L, PNG RGBA) and dogs/ (2 good, 1 corrupt, 1 text)."""
    root = tmp_path / "pets"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    (root / ".cache").mkdir()  # hidden folder: not a class
    Image.new("RGB", (40, 30), (255, 0, 0)).save(root / "cats" / "a.png")
    Image.new("L", (80, 120), 200).save(root / "cats" / "b.jpg", quality=95)
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(root / "cats" / "c.png")  # transparent
    Image.new("RGB", (64, 64), (0, 0, 255)).save(root / "dogs" / "d.jpeg")
    Image.new("L", (17, 33), 0).save(root / "dogs" / "e.png")
    (root / "dogs" / "x.png").write_bytes(np.random.default_rng(0).bytes(500))
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: ignored silently
    return root


def test_folder_warns_once_per_unreadable_file_and_loads_the_rest(pets):
    with pytest.warns(SkippedFileWarning) as record:
        folder = load_image_folder(pets, size=(16, 24))
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert str(pets / "dogs" / "notes.txt") in messages[0]
    assert str(pets / "dogs" / "x.png") in messages[1]
    assert all("not a readable image" in m for m in messages)

    assert folder.class_names == ("cats", "dogs")
    assert folder.X.shape == (5, 16, 24) and folder.X.dtype == np.float32
    assert folder.y.tolist() == [0, 0, 0, 1, 1] and folder.y.dtype == np.int64
    assert [p.name for p in folder.paths] == ["a.png", "b.jpg", "c.png", "d.jpeg", "e.png"]
    assert 0.0 <= folder.X.min() and folder.X.max() <= 1.0
    # Grayscale values: red -> luma 76, JPEG grey 200, transparent -> white paper, black.
    np.testing.assert_allclose(
        folder.X[:, 8, 12], [76 / 255, 200 / 255, 1.0, 29 / 255, 0.0], atol=0.02
    )
    assert folder.flat().shape == (5, 16 * 24)
    assert np.shares_memory(folder.flat(), folder.X)


def test_folder_in_rgb(pets):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFileWarning)
        folder = load_image_folder(pets, size=(8, 8), color="rgb")
    assert folder.X.shape == (5, 8, 8, 3)
    np.testing.assert_allclose(folder.X[0, 4, 4], [1.0, 0.0, 0.0], atol=1e-6)  # the red PNG
    np.testing.assert_allclose(folder.X[3, 4, 4], [0.0, 0.0, 1.0], atol=0.02)  # the blue JPEG
    assert folder.flat().shape == (5, 192)


def test_folder_raise_names_the_first_bad_file(pets):
    with pytest.raises(DatasetError, match=r"notes\.txt.*on_error='warn'"):
        load_image_folder(pets, on_error="raise")
    (pets / "dogs" / "notes.txt").unlink()
    with pytest.raises(DatasetError, match=r"x\.png"):
        load_image_folder(pets, on_error="raise")


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no folder"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    Image.new("L", (5, 5)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DatasetError, match="one sub-folder per class"):
        load_image_folder(tmp_path / "flat")
    (tmp_path / "flat" / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"empty.*empty folder"):
        load_image_folder(tmp_path / "flat")
    (tmp_path / "flat" / "empty" / "bad.png").write_bytes(b"garbage")
    with (
        pytest.warns(SkippedFileWarning),
        pytest.raises(DatasetError, match=r"none in \['empty'\]"),
    ):
        load_image_folder(tmp_path / "flat")


def test_bad_arguments(tmp_path):
    for kwargs, pattern in [
        ({"size": (0, 5)}, "size"),
        ({"size": 28}, "size"),
        ({"size": (2.5, 3)}, "size"),
        ({"color": "cmyk"}, "color"),
        ({"on_error": "ignore"}, "on_error"),
    ]:
        with pytest.raises(DatasetError, match=pattern):
            load_image_folder(tmp_path, **kwargs)


def test_load_image_single_file(tmp_path):
    Image.new("RGB", (30, 20), (0, 255, 0)).save(tmp_path / "g.png")
    image = load_image(tmp_path / "g.png")
    assert image.shape == (20, 30) and image.dtype == np.float32
    np.testing.assert_allclose(image, 150 / 255, atol=1e-6)  # luma of pure green
    assert load_image(tmp_path / "g.png", size=(28, 28), color="rgb").shape == (28, 28, 3)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"bad\.png"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(DatasetNotFoundError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")


def test_missing_pillow_gives_install_hint(tmp_path, monkeypatch):
    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(ImportError, match=r"Pillow.*glassnet\[data\]"):
        load_image(tmp_path / "a.png")


# --------------------------------------------------------------------------- mnist_preprocess
def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def ink_box(image: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_off_centre_digit_is_centred_and_scaled():
    # A thick black "7" drawn in the top-left corner of a white 300 x 200 page.
    page = Image.new("L", (300, 200), 255)
    draw = ImageDraw.Draw(page)
    draw.line([(20, 15), (90, 15), (45, 110)], fill=0, width=9)
    digit = mnist_preprocess(np.asarray(page))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0.0 and digit.max() <= 1.0
    assert digit[0].max() == 0 and digit[:, 0].max() == 0  # white page became black
    row, col = centre_of_mass(digit)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    height, width = ink_box(digit)
    assert max(height, width) <= 20 and max(height, width) >= 19
    assert height > width  # aspect ratio kept: the 7 is taller than wide


def test_float_input_and_light_ink_on_dark_is_not_inverted():
    image = np.zeros((50, 50), dtype=np.float32)
    image[10:40, 20:26] = 1.0  # a bright "1" on black: already MNIST polarity
    digit = mnist_preprocess(image)
    assert ink_box(digit) == (20, 4)
    assert digit[14, 14] > 0.9


def test_real_mnist_digit_upscaled_and_inverted_comes_back(mnist_dir):
    original = load_mnist("test", data_dir=mnist_dir, download=False).images[:5]
    for digit in original:
        big = Image.fromarray(digit).resize((200, 200), Image.Resampling.BILINEAR)
        scanned = 255 - np.asarray(big)  # black ink on white paper, 200 x 200
        result = mnist_preprocess(scanned)
        correlation = np.corrcoef(result.ravel(), digit.ravel().astype(np.float32))[0, 1]
        assert correlation > 0.8


def test_preprocess_errors():
    with pytest.raises(DatasetError, match="no contrast"):
        mnist_preprocess(np.full((10, 10), 0.3))
    with pytest.raises(DatasetError, match=r"\[0, 1\]"):
        mnist_preprocess(np.full((10, 10), 3.0))
    with pytest.raises(DatasetError, match="dtype=int64"):
        mnist_preprocess(np.zeros((10, 10), dtype=np.int64))
    with pytest.raises(DatasetError, match="one at a time"):
        mnist_preprocess(np.zeros((2, 10, 10), dtype=np.uint8))
