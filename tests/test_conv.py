"""Convolutional layers (issue 11): windows, Conv2D, pooling, BatchNorm, Augment and CNN files.

The registry-wide checks (tests/test_registry.py) run one example of each type; here several
stride/padding/kernel combinations and odd sizes go through float64 finite differences, and
hostile model files with conv configs are refused before anything is allocated.
"""

from __future__ import annotations

import io
import json
import tracemalloc

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import ModelFileError
from glassnet.nn.windows import Windows
from glassnet.testing import check_layer_gradients


def _inputs(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------- the shared windows


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"),
    [
        ((3, 3), (1, 1), (0, 0, 0, 0)),
        ((2, 3), (2, 1), (1, 0, 2, 1)),
        ((3, 3), (3, 2), (1, 1, 1, 1)),
    ],
)
def test_col2im_is_the_adjoint_of_im2col(kernel, stride, padding):
    # <im2col(x), g> = <x, col2im(g)> for all x, g: col2im is exactly backward of im2col
    windows = Windows(kernel, stride, padding)
    x = _inputs((2, 7, 6, 3))
    cols = windows.im2col(x).copy()
    g = _inputs(cols.shape, seed=1)
    back = windows.col2im(g, x.shape)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(cols, g), np.vdot(x, back), rtol=1e-12)


def test_window_buffers_are_reused_from_batch_to_batch():
    windows = Windows((3, 3), (1, 1), (1, 1, 1, 1))
    first = windows.im2col(_inputs((4, 5, 5, 2), dtype=np.float32))
    second = windows.im2col(_inputs((4, 5, 5, 2), seed=1, dtype=np.float32))
    assert np.shares_memory(first, second)  # the same buffer, overwritten
    smaller = windows.im2col(_inputs((2, 5, 5, 2), dtype=np.float32))
    assert smaller.shape[0] == 2
    assert np.shares_memory(smaller, first)  # a smaller batch uses the buffer's beginning


# ---------------------------------------------------------------------- gradients


CONV_CASES = [
    # C, F, kernel, stride, padding, (H, W)
    (1, 2, 3, 1, 0, (5, 5)),
    (2, 3, 3, 2, 1, (7, 6)),
    (3, 2, (2, 3), (2, 1), (1, 0), (6, 5)),
    (2, 2, 4, 1, "same", (5, 7)),
    (1, 3, 5, 1, "same", (5, 5)),
    (2, 2, 1, 3, 0, (7, 7)),
    (2, 2, 3, 2, (0, 1, 2, 0), (6, 6)),
]


@pytest.mark.parametrize(("c", "f", "kernel", "stride", "padding", "hw"), CONV_CASES)
def test_conv2d_gradients_match_finite_differences(c, f, kernel, stride, padding, hw):
    layer = gn.Conv2D(c, f, kernel, stride=stride, padding=padding, dtype=np.float64, rng=0)
    errors = check_layer_gradients(layer, (3, c, *hw), inputs=_inputs((3, c, *hw)))
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-6
    y = layer.forward(_inputs((3, c, *hw)))
    assert y.shape == (3, *layer.output_shape((c, *hw)))


def test_conv2d_without_bias_has_only_a_kernel():
    layer = gn.Conv2D(2, 3, 3, use_bias=False, dtype=np.float64, rng=0)
    assert layer.b is None and list(layer.named_parameters()) == ["W"]
    errors = check_layer_gradients(layer, (2, 2, 5, 4), inputs=_inputs((2, 2, 5, 4)))
    assert max(errors.values()) < 1e-6


@pytest.mark.parametrize(
    ("cls", "pool", "stride", "hw"),
    [
        (gn.MaxPool2D, 2, None, (5, 5)),
        (gn.MaxPool2D, 3, 2, (7, 6)),
        (gn.MaxPool2D, (2, 3), (1, 2), (5, 7)),
        (gn.AvgPool2D, 2, None, (5, 4)),
        (gn.AvgPool2D, 3, 1, (5, 5)),
    ],
)
def test_pooling_gradients_match_finite_differences(cls, pool, stride, hw):
    layer = cls(pool, stride=stride)
    # distinct values, so that no window has a tie for its maximum (no derivative there)
    x = np.random.default_rng(0).permutation(3 * 2 * hw[0] * hw[1]).reshape(3, 2, *hw) / 7.0
    errors = check_layer_gradients(layer, x.shape, inputs=x)
    assert errors["x"] < 1e-6


@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_match_finite_differences(shape, training):
    layer = gn.BatchNorm(shape[1], dtype=np.float64)
    layer.gamma.value[...] = np.linspace(0.5, 1.5, shape[1])
    layer.beta.value[...] = np.linspace(-1, 1, shape[1])
    layer.running_mean.value[...] = 0.3
    layer.running_var.value[...] = 2.0
    # NOTE: not the check's own seed: an upstream gradient affine in x (per feature) has a
    # zero input gradient through a batch normalisation, and the relative error is then noise
    x = _inputs(shape, seed=5) * 2 + 1
    errors = check_layer_gradients(layer, shape, training=training, inputs=x)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < 1e-6


def test_batchnorm_uses_batch_statistics_in_training_and_running_ones_at_inference():
    layer = gn.BatchNorm(3)
    x = _inputs((64, 3, 4, 4), dtype=np.float32) * 3 + 2
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3)
    np.testing.assert_allclose(layer.running_mean.value, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    expected = layer.forward(x) * np.sqrt(layer.running_var.value + 1e-5)[:, None, None]
    np.testing.assert_allclose(
        expected, x - layer.running_mean.value[:, None, None], rtol=1e-4, atol=1e-4
    )


# ---------------------------------------------------------------------- shapes and messages


def test_conv2d_names_the_fix_for_flat_images():
    layer = gn.Conv2D(1, 8, 3, name="conv2d_0")
    with pytest.raises(gn.ShapeError) as error:
        layer.forward(np.zeros((32, 784), np.float32))
    assert str(error.value) == (
        "Conv2D 'conv2d_0' (1→8, 3×3) expects (batch, 1, H, W), got (32, 784). "
        "Reshape with X.reshape(-1, 1, 28, 28)."
    )


def test_a_kernel_larger_than_the_input_is_a_shape_error():
    with pytest.raises(gn.ShapeError, match="larger than its padded input 4×4"):
        gn.Sequential([gn.Conv2D(1, 2, 5), gn.Flatten()], input_shape=(1, 4, 4))


def test_same_padding_keeps_height_and_width_and_needs_stride_one():
    assert gn.Conv2D(3, 4, 4, padding="same").output_shape((3, 9, 8)) == (4, 9, 8)
    with pytest.raises(ValueError, match="stride 1"):
        gn.Conv2D(3, 4, 3, stride=2, padding="same")


def test_conv_output_follows_the_floor_formula():
    # H_out = ⌊(H + 2p − k)/s⌋ + 1
    layer = gn.Conv2D(1, 1, 3, stride=2, padding=1)
    assert layer.output_shape((1, 28, 27)) == (1, 14, 14)
    assert gn.MaxPool2D(2).output_shape((4, 13, 13)) == (4, 6, 6)


def test_float32_stays_float32_through_a_cnn():
    model = gn.CNN((1, 12, 12), [4, 6], dense=[8], n_classes=3, batch_norm=True, seed=0)
    x = _inputs((5, 1, 12, 12), dtype=np.float32)
    assert model.forward(x, training=True).dtype == np.float32
    model.backward(np.ones((5, 3), np.float32))
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


# ---------------------------------------------------------------------- augmentation


def test_augment_is_the_identity_at_inference():
    layer = gn.Augment(max_shift=3, horizontal_flip=True, max_rotation=15, rng=0)
    x = _inputs((4, 1, 9, 9), dtype=np.float32)
    assert layer.forward(x) is x


def test_augment_flips_shifts_and_rotates_in_training_repeatably():
    x = np.zeros((64, 1, 7, 7), np.float32)
    x[:, 0, 3, 1] = 1.0  # one bright pixel left of the centre
    flipped = gn.Augment(max_shift=0, horizontal_flip=True, rng=0).forward(x, training=True)
    where = {tuple(np.argwhere(y[0])[0]) for y in flipped}
    assert where == {(3, 1), (3, 5)}  # the mirror image of column 1 is column 5
    a = gn.Augment(max_shift=2, max_rotation=10, rng=1).forward(x, training=True)
    b = gn.Augment(max_shift=2, max_rotation=10, rng=1).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(np.argwhere(y[0])[0]) for y in a if y.any()}) > 5
    rotated = gn.Augment(max_shift=0, max_rotation=90, rng=2).forward(x, training=True)
    # about the fixed centre (3, 3) the pixel stays 2 away (give or take the rounding)
    distances = np.hypot(*(np.argwhere(rotated[:, 0])[:, 1:] - 3).T)
    assert len(distances) > 48 and np.all(np.abs(distances - 2) < 0.6)
    assert len(set(np.round(distances * 100))) > 1  # some at slants: rotated, not only flipped


def test_augment_backward_is_the_adjoint_of_its_forward():
    layer = gn.Augment(max_shift=2, horizontal_flip=True, max_rotation=20, rng=3)
    x = _inputs((6, 2, 8, 8))
    y = layer.forward(x, training=True)
    g = _inputs(y.shape, seed=1)
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(x, layer.backward(g)), rtol=1e-12)


def test_fit_seeds_the_augmentation():
    x = _inputs((32, 1, 8, 8), dtype=np.float32)
    y = np.arange(32) % 2

    def train():
        model = gn.CNN((1, 8, 8), [3], dense=[], n_classes=2, augment=gn.Augment(2), seed=0)
        model.fit(x, y, epochs=2, batch_size=8, seed=5, verbose=0)
        return model.get_weights()

    np.testing.assert_array_equal(train(), train())


# ---------------------------------------------------------------------- model files


def _cnn():
    return gn.CNN((1, 10, 10), [3, 4], dense=[5], n_classes=3, batch_norm=True, seed=0)


def _file(edit=None):
    model = _cnn()
    raw = gn.io.encode(gn.io.parameter_tensors(model), gn.io.model_document(model))
    if edit is None:
        return raw
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    inner = json.loads(header["__metadata__"]["glassnet"])
    edit(inner["config"]["layers"])
    header["__metadata__"]["glassnet"] = json.dumps(inner)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + raw[8 + size :]


def _problem(data):
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as error:
            gn.load(io.BytesIO(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # refused from the arithmetic, nothing of the claimed size allocated
    return error.value.problem


def test_a_cnn_file_round_trips_with_its_batchnorm_buffers(tmp_path):
    model = _cnn()
    x = _inputs((6, 1, 10, 10), dtype=np.float32)
    model.fit(x, np.arange(6) % 3, epochs=1, batch_size=3, verbose=0)
    gn.save(model, tmp_path / "cnn.glassnet")
    loaded = gn.load(tmp_path / "cnn.glassnet")
    names = [b.name for b in loaded.buffers()]
    assert names == [f"batchnorm_{i}.running_{s}" for i in (0, 1) for s in ("mean", "var")]
    np.testing.assert_array_equal(loaded.get_weights(), model.get_weights())
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def _set(index, **options):
    return lambda layers: layers[index]["config"].update(options)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # an absurd kernel: 2³¹−1 square
        (_set(0, kernel_size=[2**31 - 1, 2**31 - 1]), "larger than its padded input"),
        # a kernel larger than the 10×10 input
        (_set(0, kernel_size=11), "larger than its padded input 10×10"),
        # beyond the declared bounds
        (_set(0, kernel_size=[3, 3, 3]), "kernel_size=[3, 3, 3]; expected an integer or a list"),
        (_set(0, stride=0), "stride=0; expected"),
        (_set(0, padding=-1), "padding=-1; expected"),
        (_set(3, pool_size=[1, 2**40]), "pool_size=[1, 1099511627776]; expected"),
        # shapes that do not chain: the second conv claims 5 input channels
        (_set(4, n_channels=5), "expects (batch, 5, H, W), got (3, 4, 4)"),
        # a BatchNorm of the wrong width
        (_set(1, n_features=7), "does not fit"),
        # padding so large the output would be absurd
        (_set(0, padding=2**31 - 2), "expected a list of 1 to"),
        # huge filter counts: refused because the file lacks the tensors, not allocated
        (_set(0, n_filters=2**31 - 1), "conv2d_0"),
    ],
)
def test_hostile_cnn_files_are_refused_without_allocating(edit, expected):
    assert expected in _problem(_file(edit))


def test_the_unedited_cnn_file_loads():
    assert gn.load(io.BytesIO(_file())).get_config() == _cnn().get_config()
