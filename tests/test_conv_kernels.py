"""The compiled window kernels of convolution and pooling against their NumPy reference (issue 11).

`glassnet.kernels.conv` claims the same bits as `glassnet.nn.windows` (the same additions in the
same order), so these tests compare with ``assert_array_equal``, in float32 and float64; the
registry-wide layer checks run once more on each path; a batch split into chunks by memory gives
the unsplit batch's numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
import test_registry
from glassnet.nn.windows import Windows, chunks

pytest.importorskip("numba")

DTYPES = (np.float32, np.float64)


def _inputs(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------- im2col and col2im

WINDOWS = [
    ((3, 3), (1, 1), (0, 0, 0, 0), (2, 7, 6, 3)),  # overlapping windows
    ((5, 5), (1, 1), (2, 2, 2, 2), (3, 9, 8, 2)),  # LeNet's padded 5×5
    ((5, 5), (1, 1), (2, 2, 2, 2), (2, 6, 6, 1)),  # one channel (a first layer)
    ((2, 3), (2, 1), (1, 0, 2, 1), (2, 7, 6, 4)),  # asymmetric everything
    ((3, 3), (3, 2), (1, 1, 1, 1), (1, 8, 9, 2)),  # strides past the kernel: gaps
    ((1, 1), (2, 2), (0, 0, 0, 0), (2, 5, 5, 3)),  # positions no window covers
    ((3, 3), (1, 1), (4, 4, 4, 4), (1, 2, 2, 2)),  # windows wholly in the padding
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("kernel", "stride", "padding", "shape"), WINDOWS)
def test_compiled_im2col_gives_the_reference_windows(kernel, stride, padding, shape, dtype):
    x = _inputs(shape, dtype=dtype)
    expected = Windows(kernel, stride, padding).im2col(x)
    compiled = Windows(kernel, stride, padding)
    compiled.im2col(_inputs(shape, seed=5, dtype=dtype), compiled=True)  # a buffer to overwrite
    got = compiled.im2col(x, compiled=True)
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_compiled_im2col_reads_a_channels_last_view():
    x = _inputs((2, 3, 6, 5), dtype=np.float32)  # (N, C, H, W), as layers receive it
    view = x.transpose(0, 2, 3, 1)
    expected = Windows((3, 3), (1, 1), (1, 1, 1, 1)).im2col(view)
    got = Windows((3, 3), (1, 1), (1, 1, 1, 1)).im2col(view, compiled=True)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("kernel", "stride", "padding", "shape"), WINDOWS)
def test_compiled_col2im_gives_the_reference_bits(kernel, stride, padding, shape, dtype):
    reference, compiled = Windows(kernel, stride, padding), Windows(kernel, stride, padding)
    cols = reference.im2col(_inputs(shape, dtype=dtype))
    grad_cols = _inputs(cols.shape, seed=1, dtype=dtype)
    expected = reference.col2im(grad_cols, shape).copy()
    got = compiled.col2im(grad_cols, shape, compiled=True)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, expected)


def test_compiled_col2im_overwrites_its_buffer():
    windows = Windows((3, 3), (1, 1), (1, 1, 1, 1))
    shape = (2, 5, 5, 2)
    grad_cols = _inputs((2, 5, 5, 3, 3, 2), seed=2)
    first = windows.col2im(grad_cols, shape, compiled=True).copy()
    second = windows.col2im(grad_cols, shape, compiled=True)  # same buffer: nothing left over
    np.testing.assert_array_equal(second, first)


# ---------------------------------------------------------------------- max pooling, 2×2 tiles


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw", [(6, 8), (7, 5), (2, 2)])
def test_compiled_2x2_max_pool_gives_the_reference_bits(hw, dtype):
    # ReLU outputs tie often (all-zero windows): the gradient must go to the *first* maximum
    x = np.maximum(_inputs((3, *hw, 4), dtype=dtype), 0)
    x[0, :2, :2, 0] = 0.5  # a tile of four equal numbers
    reference, compiled = Windows((2, 2), (2, 2)), Windows((2, 2), (2, 2))
    assert compiled.tiles_2x2()
    y, where = reference.max(x)
    y_compiled, where_compiled = compiled.max_2x2(x)
    np.testing.assert_array_equal(y_compiled, y)
    np.testing.assert_array_equal(where_compiled, where)
    grad_y = _inputs(y.shape, seed=3, dtype=dtype)
    expected = reference.max_backward(grad_y, where, x.shape)
    compiled.max_2x2_backward(_inputs(y.shape, seed=4, dtype=dtype), where, x.shape)  # reused
    got = compiled.max_2x2_backward(grad_y, where_compiled, x.shape)
    np.testing.assert_array_equal(got, expected)


def test_compiled_2x2_max_pool_reads_a_channels_last_view():
    x = _inputs((2, 3, 6, 6), dtype=np.float32)  # (N, C, H, W), as layers receive it
    view = x.transpose(0, 2, 3, 1)
    y, _ = Windows((2, 2), (2, 2)).max(view)
    y_compiled, _ = Windows((2, 2), (2, 2)).max_2x2(view)
    np.testing.assert_array_equal(y_compiled, y)


def test_compiled_2x2_max_pool_propagates_nan_as_numpy_maximum_does():
    x = _inputs((1, 4, 4, 2))
    x[0, 1, 0, 1] = np.nan  # second row of the first tile
    x[0, 2, 3, 0] = np.nan  # last of another tile's four
    y, where = Windows((2, 2), (2, 2)).max(x)
    y_compiled, where_compiled = Windows((2, 2), (2, 2)).max_2x2(x)
    assert np.isnan(y_compiled[0, 0, 0, 1]) and np.isnan(y_compiled[0, 1, 1, 0])
    np.testing.assert_array_equal(y_compiled, y)  # (equal_nan by default)
    np.testing.assert_array_equal(where_compiled, where)  # the gradient goes where NumPy's does


def test_only_2x2_tiles_of_stride_2_take_the_compiled_pool():
    assert not Windows((2, 2), (1, 1)).tiles_2x2()
    assert not Windows((3, 3), (2, 2)).tiles_2x2()
    layer = gn.MaxPool2D(3, stride=2, kernel="numba")  # the NumPy offset loop, still correct
    x = _inputs((2, 2, 7, 7))
    np.testing.assert_array_equal(layer.forward(x), gn.MaxPool2D(3, 2, kernel="numpy").forward(x))


# ---------------------------------------------------------------------- whole layers, both paths


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_and_pool_layers_give_the_same_bits_on_both_paths(dtype):
    x = _inputs((3, 2, 9, 8), dtype=dtype)
    results = {}
    for kernel in ("numpy", "numba"):
        conv = gn.Conv2D(2, 4, 3, padding=1, dtype=dtype, rng=0, kernel=kernel)
        pool = gn.MaxPool2D(2, kernel=kernel)
        conv.input_grad = True
        y = pool.forward(np.maximum(conv.forward(x, training=True), 0), training=True)
        grad_x = conv.backward(pool.backward(_inputs(y.shape, seed=1, dtype=dtype)))
        results[kernel] = (y, grad_x, conv.W.grad.copy(), conv.b.grad.copy())
    for a, b in zip(results["numpy"], results["numba"], strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
@pytest.mark.parametrize(
    "check",
    [
        "test_gradients_match_finite_differences_in_float64",
        "test_output_shape_is_the_shape_forward_gives",
        "test_float32_is_kept_through_forward_and_backward",
        "test_backward_overwrites_gradients_instead_of_adding_to_them",
    ],
)
@pytest.mark.parametrize("type_name", ["Conv2D", "MaxPool2D"])
def test_the_registry_checks_pass_on_both_paths(type_name, check, kernel, monkeypatch):
    make, shape, training = test_registry.EXAMPLES[type_name]

    def pinned(dtype):
        layer = make(dtype)
        layer.kernel = kernel
        return layer

    monkeypatch.setitem(test_registry.EXAMPLES, type_name, (pinned, shape, training))
    getattr(test_registry, check)(type_name)


def test_fit_sets_the_layers_kernel_and_each_path_repeats_its_bits():
    X = _inputs((40, 1, 8, 8), dtype=np.float32)
    y = (X.reshape(40, -1).sum(axis=1) > 0).astype(np.int64)

    def train(kernel):
        model = gn.Sequential(
            [gn.Conv2D(1, 3, 3, rng=0), gn.ReLU(), gn.MaxPool2D(2), gn.Conv2D(3, 4, 3, rng=1)]
            + [gn.ReLU(), gn.Flatten(), gn.Dense(4, 2, rng=2)],
            input_shape=(1, 8, 8),
            output="softmax",
        )
        model.fit(X, y, epochs=2, batch_size=8, optimizer="adam", seed=0, kernel=kernel)
        assert {layer.kernel for layer in model.layers if hasattr(layer, "kernel")} == {kernel}
        return model.get_weights()

    for kernel in ("numpy", "numba"):
        np.testing.assert_array_equal(train(kernel), train(kernel))


def test_an_unknown_kernel_name_is_refused_when_the_layer_is_built():
    with pytest.raises(ValueError, match="kernel must be one of"):
        gn.Conv2D(1, 2, 3, kernel="cuda")
    with pytest.raises(ValueError, match="kernel must be one of"):
        gn.MaxPool2D(2, kernel="fast")


# ---------------------------------------------------------------------- bounded window memory


def test_chunks_cover_the_batch_in_order_with_at_least_one_sample_each():
    assert chunks(10, 100, 1000) == [slice(0, 10)]
    assert chunks(10, 100, 350) == [slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 10)]
    assert chunks(3, 5000, 1000) == [slice(0, 1), slice(1, 2), slice(2, 3)]


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_a_batch_split_by_window_memory_gives_the_unsplit_numbers(kernel, monkeypatch):
    x = _inputs((7, 3, 9, 9))
    grad_z = _inputs((7, 5, 9, 9), seed=1)

    def run():
        layer = gn.Conv2D(3, 5, 3, padding="same", dtype=np.float64, rng=0, kernel=kernel)
        layer.input_grad = True
        z = layer.forward(x, training=True)
        grad_x = layer.backward(grad_z)
        return layer, (z, grad_x, layer.W.grad.copy(), layer.b.grad.copy())

    whole_layer, whole = run()
    per_sample = 9 * 9 * 27 * 8  # one sample's window matrix, in bytes
    assert whole_layer.windows._cols.nbytes == 7 * per_sample
    monkeypatch.setattr(gn.Conv2D, "max_window_bytes", 2 * per_sample + 1)
    split_layer, split = run()
    # at most two samples' windows were ever held, the last chunk (one sample) in the same buffer
    assert split_layer.windows._cols.nbytes == 2 * per_sample
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_a_big_batch_holds_one_chunk_of_windows(monkeypatch):
    # prediction runs batches of 8,192 images: cnn2's second conv would hold 1.1 GB of windows
    monkeypatch.setattr(gn.Conv2D, "max_window_bytes", 1 << 16)
    model = gn.Sequential(
        [gn.Conv2D(1, 4, 3, rng=0), gn.ReLU(), gn.Flatten(), gn.Dense(4 * 26 * 26, 3, rng=1)],
        input_shape=(1, 28, 28),
    )
    X = _inputs((300, 1, 28, 28), dtype=np.float32)
    got = model.forward(X)
    assert model.layers[0].windows._cols.nbytes <= 1 << 16  # 10 samples of 6,084 windows
    expected = np.concatenate([model.forward(X[i : i + 1]) for i in range(300)])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- the benchmark runs


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)
@pytest.mark.slow  # two short trainings and a profile in a subprocess: ~9 s
def test_the_cnn_benchmark_runs_both_paths_and_reports_the_targets(tmp_path):
    # a smoke run (speed is never asserted): both kernel paths, the A/B profile, the targets
    out = tmp_path / "cnn.json"
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "cnn.py"
    command = [sys.executable, str(script), "--workloads", "cnn2", "--limit", "128"]
    command += ["--test-limit", "64", "--threads", "1", "--peers", "glassnet,glassnet-numpy"]
    command += ["--profile", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "target: cnn2 ≥ 91.5 % after 10 epochs" in done.stdout
    assert "needs --epochs 10 on the full data" in done.stdout
    row = json.loads(out.read_text())["workloads"]["cnn2"]
    assert set(row["frameworks"]) == {"glassnet", "glassnet-numpy"}
    for figures in row["frameworks"].values():
        assert figures["median_epoch_s"] > 0 and 0 <= figures["test_accuracy"] <= 1
    # the same initial weights and the same bits on both paths but the loss's exp/log: the
    # two paths' predictions on 64 test images agree to within a couple of them
    accuracies = [f["test_accuracy"] for f in row["frameworks"].values()]
    assert abs(accuracies[0] - accuracies[1]) <= 2 / 64
    assert set(row["profile_ms_per_batch"]) == {"numpy", "numba"}
    assert "conv2d_1 backward" in row["profile_ms_per_batch"]["numba"]


def test_the_compiled_path_goes_through_cache_sized_chunks(monkeypatch):
    x = _inputs((12, 3, 9, 9))
    grad_z = _inputs((12, 5, 9, 9), seed=1)
    per_sample = 9 * 9 * 27 * 8
    monkeypatch.setattr(gn.Conv2D, "cache_window_bytes", 3 * per_sample)
    results = {}
    for kernel in ("numpy", "numba"):
        layer = gn.Conv2D(3, 5, 3, padding="same", dtype=np.float64, rng=0, kernel=kernel)
        layer.input_grad = True
        z = layer.forward(x, training=True)
        results[kernel] = (z, layer.backward(grad_z), layer.W.grad.copy(), layer.b.grad.copy())
        held = layer.windows._cols.nbytes
        # NumPy keeps the whole batch's windows; compiled, three samples' at a time
        assert held == (12 if kernel == "numpy" else 3) * per_sample
        first = gn.Conv2D(3, 5, 3, padding="same", dtype=np.float64, rng=0, kernel=kernel)
        first.input_grad = False  # a first layer: one window matrix on both paths
        first.forward(x, training=True)
        assert first.windows._cols.nbytes == 12 * per_sample
    for a, b in zip(results["numpy"], results["numba"], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
