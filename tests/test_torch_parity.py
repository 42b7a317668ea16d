"""Parity with PyTorch (issue 11): same weights → same forward and gradients within 1e-5.

The reference files under tests/reference/ were written by PyTorch in float64 with
tests/reference/make_torch_reference.py; CI reads them without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

REFERENCE = Path(__file__).parent / "reference"
TOLERANCE = 1e-5


def _load(name):
    with np.load(REFERENCE / f"{name}.npz") as data:
        return {key: data[key] for key in data.files}


def kernel_from_torch(weight):
    """PyTorch's (F, C, kh, kw) → glassnet's (kh·kw·C, F), as Conv2D's docstring says."""
    f = weight.shape[0]
    return weight.transpose(2, 3, 1, 0).reshape(-1, f)


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE)


def _run(layer, ref, training=False):
    y = layer.forward(ref["x"], training=training)
    _close(y, ref["y"])
    layer.input_grad = True
    _close(layer.backward(ref["grad_y"]), ref["grad_x"])
    return layer


CONV = ["conv_k3_s1_p0", "conv_k3_s2_p1", "conv_k2x3_s2x1_p1x0", "conv_k5_same", "conv_k4_same"]


@pytest.mark.parametrize("name", CONV)
def test_conv2d_matches_pytorch(name):
    ref = _load(name)
    weight = ref["weight"]
    f, c, kh, kw = weight.shape
    padding = "same" if ref["padding"][0] < 0 else [int(p) for p in ref["padding"]]
    stride = [int(s) for s in ref["stride"]]
    layer = gn.Conv2D(c, f, (kh, kw), stride=stride, padding=padding, dtype=np.float64)
    layer.W.value[...] = kernel_from_torch(weight)
    layer.b.value[...] = ref["bias"]
    _run(layer, ref)
    _close(layer.W.grad, kernel_from_torch(ref["grad_weight"]))
    _close(layer.b.grad, ref["grad_bias"])


@pytest.mark.parametrize(
    "name", ["maxpool_k2_s2", "maxpool_k3_s2", "avgpool_k3_s2", "avgpool_k2_s1"]
)
def test_pooling_matches_pytorch(name):
    ref = _load(name)
    cls = gn.MaxPool2D if name.startswith("max") else gn.AvgPool2D
    _run(cls(int(ref["kernel"]), stride=int(ref["stride"])), ref)


def test_global_average_pooling_matches_pytorch():
    _run(gn.GlobalAvgPool2D(), _load("global_avgpool"))


@pytest.mark.parametrize("name", ["batchnorm2d", "batchnorm1d"])
def test_batchnorm_matches_pytorch_in_training_with_its_running_statistics(name):
    ref = _load(name)
    layer = gn.BatchNorm(len(ref["gamma"]), dtype=np.float64)
    layer.gamma.value[...] = ref["gamma"]
    layer.beta.value[...] = ref["beta"]
    _run(layer, ref, training=True)
    _close(layer.gamma.grad, ref["grad_gamma"])
    _close(layer.beta.grad, ref["grad_beta"])
    # PyTorch's momentum 0.1 and unbiased running variance
    _close(layer.running_mean.value, ref["running_mean"])
    _close(layer.running_var.value, ref["running_var"])


def test_a_small_cnn_with_cross_entropy_matches_pytorch():
    ref = _load("network")
    model = gn.Sequential(
        [
            gn.Conv2D(1, 4, 3, padding=1, dtype=np.float64),
            gn.BatchNorm(4, dtype=np.float64),
            gn.ReLU(),
            gn.MaxPool2D(2),
            gn.Conv2D(4, 6, 3, stride=2, dtype=np.float64),
            gn.ReLU(),
            gn.MaxPool2D(2),
            gn.Flatten(),
            gn.Dense(6, 3, dtype=np.float64),
        ],
        input_shape=(1, 12, 12),
        output="softmax",
    )
    conv1, bn, _, _, conv2, _, _, _, dense = model.layers
    conv1.W.value[...], conv1.b.value[...] = kernel_from_torch(ref["w1"]), ref["b1"]
    conv2.W.value[...], conv2.b.value[...] = kernel_from_torch(ref["w2"]), ref["b2"]
    bn.gamma.value[...], bn.beta.value[...] = ref["gamma"], ref["beta"]
    dense.W.value[...], dense.b.value[...] = ref["w3"].T, ref["b3"]
    loss = gn.SoftmaxCrossEntropy()
    logits = model.forward(ref["x"], training=True)
    targets = np.eye(3)[ref["labels"]]
    _close(loss.value(logits, targets), ref["loss"])
    model.backward(loss.gradient(logits, targets))
    _close(conv1.W.grad, kernel_from_torch(ref["grad_w1"]))
    _close(conv1.b.grad, ref["grad_b1"])
    _close(conv2.W.grad, kernel_from_torch(ref["grad_w2"]))
    _close(conv2.b.grad, ref["grad_b2"])
    _close(bn.gamma.grad, ref["grad_gamma"])
    _close(bn.beta.grad, ref["grad_beta"])
    _close(dense.W.grad, ref["grad_w3"].T)
    _close(dense.b.grad, ref["grad_b3"])
