"""Image data as (n, C, H, W) for convolutional networks, on request (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import datasets


def test_mnist_loads_channels_first_on_request(mnist_dir):
    flat = datasets.load_mnist("test", data_dir=mnist_dir, download=False)
    images = datasets.load_mnist("test", data_dir=mnist_dir, download=False, layout="nchw")
    assert flat.X.shape == (10000, 784)
    assert images.X.shape == (10000, 1, 28, 28) and images.X.dtype == np.float32
    np.testing.assert_array_equal(images.X.reshape(10000, -1), flat.X)


def test_an_unknown_layout_is_refused_naming_the_choices(mnist_dir):
    with pytest.raises(datasets.DatasetError, match="layout='flat'.*'nchw'"):
        datasets.load_mnist("test", data_dir=mnist_dir, download=False, layout="nhwc")


@pytest.mark.parametrize(("color", "channels"), [("grayscale", 1), ("rgb", 3)])
def test_image_folders_load_channels_first_on_request(tmp_path, color, channels):
    pytest.importorskip("PIL")
    from PIL import Image

    rng = np.random.default_rng(0)
    pictures = {}
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(tmp_path / name / "a.png")
        pictures[name] = pixels
    default = datasets.load_image_folder(tmp_path, size=(6, 5), color=color)
    nchw = datasets.load_image_folder(tmp_path, size=(6, 5), color=color, layout="nchw")
    assert nchw.X.shape == (2, channels, 6, 5) and nchw.X.flags.c_contiguous
    if channels == 3:
        np.testing.assert_array_equal(nchw.X, default.X.transpose(0, 3, 1, 2))
        np.testing.assert_allclose(nchw.X[0, 0], pictures["cats"][:, :, 0] / 255, rtol=1e-6)
    else:
        np.testing.assert_array_equal(nchw.X[:, 0], default.X)
    with pytest.raises(datasets.DatasetError, match="layout"):
        datasets.load_image_folder(tmp_path, size=(6, 5), layout="chw")
