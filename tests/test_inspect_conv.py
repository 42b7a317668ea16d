"""Inspecting convolutional networks (issue 11): feature maps and one conv unit's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import inspect


def _model():
    layers = [
        gn.Augment(max_shift=2, horizontal_flip=True),
        gn.Conv2D(2, 3, 3, stride=2, padding=1, rng=0),
        gn.ReLU(),
        gn.MaxPool2D(2),
        gn.Flatten(),
        gn.Dense(12, 4, rng=1),
    ]
    return gn.Sequential(layers, input_shape=(2, 9, 8), output="softmax")


def _x():
    return np.random.default_rng(5).standard_normal((2, 9, 8)).astype(np.float32)


def test_a_trace_gives_every_layers_feature_maps_and_skips_augmentation():
    trace = _model().trace(_x())
    assert [(m.name, m.output.shape) for m in trace.maps] == [
        ("conv2d_0", (3, 5, 4)),
        ("relu_0", (3, 5, 4)),
        ("maxpool2d_0", (3, 2, 2)),
        ("flatten_0", (12,)),
        ("dense_0", (4,)),
    ]
    np.testing.assert_array_equal(trace.maps[1].output, np.maximum(trace.maps[0].output, 0))
    assert [layer.name for layer in trace.layers] == ["dense_0"]
    assert trace.output.shape == (4,) and np.isclose(trace.output.sum(), 1)


@pytest.mark.parametrize(("f", "i", "j"), [(0, 0, 0), (2, 4, 3), (1, 2, 1)])
def test_a_conv_unit_is_the_dot_product_of_its_kernel_and_receptive_field(f, i, j):
    model, x = _model(), _x()
    unit = inspect.conv_unit(model, "conv2d_0", f, i, j, x)
    # written out by hand: padding 1, stride 2 → the window starts at (2i − 1, 2j − 1)
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    window = padded[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3]
    np.testing.assert_allclose(unit.window, window, rtol=1e-6)
    assert unit.rows == range(2 * i - 1, 2 * i + 2) and unit.columns == range(2 * j - 1, 2 * j + 2)
    conv = model.layers[1]
    W = conv.W.value.reshape(3, 3, 2, 3)  # (kh, kw, C, F)
    np.testing.assert_array_equal(unit.kernel, W[..., f].transpose(2, 0, 1))
    expected = float((unit.kernel * window).sum() + conv.b.value[f])
    assert unit.z == pytest.approx(expected, rel=1e-5, abs=1e-6)
    maps = model.trace(x).maps
    assert unit.z == pytest.approx(float(maps[0].output[f, i, j]), rel=1e-6)
    assert unit.activation == "relu" and unit.a == max(unit.z, 0.0)
    assert f"filter {f} at ({i}, {j})" in unit.formula()


def test_a_conv_unit_out_of_range_names_the_valid_positions():
    with pytest.raises(IndexError, match=r"positions \(0, 0\) to \(4, 3\)"):
        inspect.conv_unit(_model(), 0, 0, 5, 0, _x())
    with pytest.raises(KeyError, match="no Conv2D layer named 'dense_0'|No Conv2D layer"):
        inspect.conv_unit(_model(), "dense_0", 0, 0, 0, _x())
