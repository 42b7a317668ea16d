"""Export a model as plain NumPy: ``model.py`` (a forward pass you read in one screen) and
``weights.npz``.

>>> glassnet.io.numpy_export.export_numpy(model, "digits_numpy")   # doctest: +SKIP
$ python digits_numpy/model.py seven.png

``model.py`` needs only NumPy (and Pillow to read image files); it loads ``weights.npz`` with
``allow_pickle=False`` and computes exactly glassnet's operations in glassnet's order, so its
raw scores and predicted classes are bit-identical to ``model.forward`` and ``model.predict``.
Its docstring lists the architecture and the preprocessing the model expects.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..models import Sequential
from ..version import __version__
from .atomic import atomic_write

# The helper functions a model.py may need, each written as glassnet computes it.
FUNCTIONS = {
    "Sigmoid": '''
def sigmoid(z):
    """1 / (1 + e^(-z)), computed as tanh(z/2)/2 + 1/2: the same value, and exp cannot overflow."""
    return np.tanh(z * HALF) * HALF + HALF
''',
    "Tanh": "",
    "ReLU": '''
def relu(z):
    """max(0, z)."""
    return np.maximum(z, DTYPE(0))
''',
    "LeakyReLU": '''
def leaky_relu(z, alpha):
    """z where z > 0, else alpha * z."""
    return np.where(z > 0, z, z * DTYPE(alpha))
''',
    "Step": '''
def step(z, threshold):
    """1 where z > threshold, else 0: the perceptron's unit."""
    return (z > threshold).astype(z.dtype)
''',
    "Conv2D": '''
def conv2d(x, W, b, kernel, stride, padding):
    """Every kh×kw window (all channels) times the kernel matrix W (kh·kw·C, F), plus b."""
    (kh, kw), (sh, sw), (top, bottom, left, right) = kernel, stride, padding
    x = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (top, bottom), (left, right), (0, 0)))
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # N, Ho, Wo, C, kh, kw
    n, ho, wo = windows.shape[:3]
    z = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, -1).dot(W)
    if b is not None:
        z += b
    return z.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2)  # (N, F, Ho, Wo)
''',
    "MaxPool2D": '''
def max_pool(x, size, stride):
    """The largest number of each window, channel by channel."""
    windows = sliding_window_view(x, size, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]
    return windows.max(axis=(4, 5))
''',
    "AvgPool2D": '''
def avg_pool(x, size, stride):
    """The mean of each window, channel by channel (summed offset by offset, as glassnet)."""
    windows = sliding_window_view(x, size, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]
    y = np.zeros(windows.shape[:4], x.dtype)
    for a in range(size[0]):
        for b in range(size[1]):
            y += windows[..., a, b]
    return y * x.dtype.type(1 / (size[0] * size[1]))
''',
    "BatchNorm": '''
def batch_norm(x, name, eps):
    """(x − running mean) / √(running var + eps) · gamma + beta, per channel (inference)."""
    gamma, beta = W[name + ".gamma"], W[name + ".beta"]
    mean, var = W[name + ".running_mean"], W[name + ".running_var"]
    shape = (1, -1) + (1,) * (x.ndim - 2)  # per channel: (1, C, 1, 1), or (1, C)
    inv_std = 1.0 / np.sqrt(var + DTYPE(eps))
    x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
    return x_hat * gamma.reshape(shape) + beta.reshape(shape)
''',
    "Softmax": '''
def softmax(z):
    """e^z / sum(e^z) row by row, shifted by the row's max so that exp cannot overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
''',
}


def _line(layer: Any) -> tuple[str, str, str]:
    """The forward-pass line of one layer, its docstring row, and the helper it needs."""
    kind, name = type(layer).__name__, layer.name
    if kind == "Dense":
        bias = f' + W["{name}.b"]' if layer.b is not None else ""
        shapes = f"W {layer.n_inputs}×{layer.n_neurons}" + (", b" if layer.b is not None else "")
        return (
            f'x = x.dot(W["{name}.W"]){bias}  # {name}: {layer.n_inputs} → {layer.n_neurons}',
            f"{name:<12} Dense      x @ W + b      ({shapes})",
            "",
        )
    if kind == "Sigmoid":
        return "x = sigmoid(x)", f"{name:<12} Sigmoid    1 / (1 + e^-x)", kind
    if kind == "Tanh":
        return "x = np.tanh(x)", f"{name:<12} Tanh       tanh(x)", kind
    if kind == "ReLU":
        return "x = relu(x)", f"{name:<12} ReLU       max(0, x)", kind
    if kind == "LeakyReLU":
        alpha = layer.alpha
        return f"x = leaky_relu(x, {alpha!r})", f"{name:<12} LeakyReLU  alpha={alpha!r}", kind
    if kind == "Step":
        t = layer.threshold
        return f"x = step(x, {t!r})", f"{name:<12} Step       x > {t!r}", kind
    if kind == "Softmax":
        return "x = softmax(x)", f"{name:<12} Softmax", kind
    if kind == "Conv2D":
        bias = f'W["{name}.b"]' if layer.b is not None else "None"
        kernel, stride, pad = tuple(layer.kernel_size), tuple(layer.stride), tuple(layer.padding)
        return (
            f'x = conv2d(x, W["{name}.W"], {bias}, {kernel}, {stride}, {pad})  # {name}',
            f"{name:<12} Conv2D     {layer.n_channels} → {layer.n_filters} channels, "
            f"{kernel[0]}×{kernel[1]}, stride {stride}, padding {pad}",
            kind,
        )
    if kind in ("MaxPool2D", "AvgPool2D"):
        function = "max_pool" if kind == "MaxPool2D" else "avg_pool"
        size, stride = tuple(layer.pool_size), tuple(layer.stride)
        return (
            f"x = {function}(x, {size}, {stride})",
            f"{name:<12} {kind:<10} {size[0]}×{size[1]}, stride {stride}",
            kind,
        )
    if kind == "GlobalAvgPool2D":
        return (
            "x = x.mean(axis=(2, 3), dtype=x.dtype)",
            f"{name:<12} GlobalAvg  the mean of each channel",
            "",
        )
    if kind == "Flatten":
        return "x = x.reshape(len(x), -1)", f"{name:<12} Flatten    (batch, all the rest)", ""
    if kind == "BatchNorm":
        return (
            f'x = batch_norm(x, "{name}", {layer.eps!r})',
            f"{name:<12} BatchNorm  {layer.n_features} features, eps={layer.eps!r}",
            kind,
        )
    if kind in ("Identity", "Dropout", "Augment"):
        return "", f"{name:<12} {kind:<10} (nothing to do at inference)", ""
    raise TypeError(
        f"Cannot export layer {name!r} of type {kind} as NumPy code; the NumPy export covers "
        "Dense, Sigmoid, Tanh, ReLU, LeakyReLU, Step, Softmax, Identity, Dropout, Conv2D, "
        "MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, BatchNorm and Augment."
    )


def _describe_preprocessing(prep: dict[str, Any]) -> str:
    if prep.get("kind") == "image":
        size = "×".join(map(str, prep.get("image_size", [28, 28])))
        color = prep.get("color", "grayscale")
        text = f"{color} images resized to {size}, pixels divided by 255, flattened."
        if prep.get("mnist_centering"):
            text += (
                " The model was trained on MNIST-style digits (white ink on black, centred in"
                " 28×28): give it such images (glassnet's own predict centres photos first)."
            )
        return text
    if prep.get("feature_names"):
        return "table rows, standardised with the mean and scale below (see preprocessing)."
    return "none recorded: give the inputs as the model was trained on them."


def model_source(model: Sequential) -> str:
    """The text of ``model.py`` for ``model`` (see the module docstring)."""
    rows, body, needed = [], [], []
    for layer in model.layers:
        code, row, helper = _line(layer)
        rows.append(row)
        if code:
            body.append(code)
        if helper and helper not in needed:
            needed.append(helper)
    output = model.output
    if output == "softmax" and "Softmax" not in needed:
        needed.append("Softmax")
    if output == "sigmoid" and "Sigmoid" not in needed:
        needed.append("Sigmoid")
    sizes = " → ".join(
        ["×".join(map(str, model.input_shape))]
        + [str(n) for layer in model.layers if (n := getattr(layer, "n_neurons", None))]
    )
    dtype = np.dtype(model.dtype).name
    prep = model.preprocessing or {}
    one_label = output == "softmax" or (output == "sigmoid" and model.n_outputs == 1)
    show = "CLASS_NAMES[label] if CLASS_NAMES else label" if one_label else "label"
    helpers = "\n" + "\n".join(FUNCTIONS[name] for name in needed) if needed else ""
    windowed = any(name in needed for name in ("Conv2D", "MaxPool2D", "AvgPool2D"))
    forward = "\n    ".join(body) if body else "pass"
    if output == "softmax":
        proba, predict = "softmax(scores(x))", "scores(x).argmax(axis=1)"
    elif output == "sigmoid":
        single = model.n_outputs == 1
        proba = (
            "np.hstack([1 - sigmoid(scores(x)), sigmoid(scores(x))])"
            if single
            else "sigmoid(scores(x))"
        )
        predict = "(scores(x) > 0)[:, 0].astype(np.int64)" if single else "(scores(x) > 0) * 1"
    else:
        proba, predict = "scores(x)", "scores(x)" + ("[:, 0]" if model.n_outputs == 1 else "")
    image_size = tuple(prep.get("image_size", [28, 28]))
    shape = ", ".join(map(str, model.input_shape))
    mode = "RGB" if prep.get("color") == "rgb" else "L"
    return f'''"""A glassnet model in plain NumPy: {sizes}, output {output}, {dtype}.

Layers (input (batch, {", ".join(map(str, model.input_shape))}); the weights are in weights.npz)
    {chr(10).join("    " + row for row in rows).strip()}
    output       {output}: {"class probabilities" if output != "identity" else "the values"}

Preprocessing: {_describe_preprocessing(prep)}
    {json.dumps(prep, sort_keys=True)[:600]}

Usage
    python model.py image.png [more.png ...]   # or inputs.npy of shape (n, {shape})
    >>> import model; model.predict(X)          # X: (n, {shape}) floats

Written by glassnet {__version__} ("glassnet export MODEL --format numpy"); predictions equal
glassnet's bit for bit.
"""

import sys
from pathlib import Path

import numpy as np
{"from numpy.lib.stride_tricks import sliding_window_view" + chr(10) if windowed else ""}
DTYPE = np.{dtype}
INPUT_SHAPE = {tuple(model.input_shape)!r}
HALF = DTYPE(0.5)
CLASS_NAMES = {model.class_names!r}
with np.load(Path(__file__).with_name("weights.npz"), allow_pickle=False) as _file:
    W = {{name: _file[name] for name in _file.files}}
{helpers}

def scores(x):
    """The raw outputs (logits): (batch, {shape}) → (batch, {model.n_outputs})."""
    x = np.asarray(x, dtype=DTYPE).reshape(-1, *INPUT_SHAPE)
    {forward}
    return x


def predict_proba(x):
    return {proba}


def predict(x):
    return {predict}


def read(path):
    """One input file as a batch: a .npy array, or an image (needs Pillow)."""
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False).reshape(-1, {model.n_inputs})
    from PIL import Image  # only needed for images

    image = Image.open(path).convert("{mode}").resize({image_size[::-1]!r}, Image.BILINEAR)
    return (np.asarray(image, dtype=np.uint8) * np.float32(1 / 255)).reshape(1, -1)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        x = read(path)
        for i, label in enumerate(np.atleast_1d(predict(x))):
            print(f"{{path}}[{{i}}]: {{{show}}}")
'''.replace("\n\n\n\n", "\n\n\n")


def export_numpy(model: Sequential, directory: str | os.PathLike[str]) -> Path:
    """Write ``model.py`` and ``weights.npz`` for ``model`` into ``directory`` (created).

    Returns the path of ``model.py``. Raises `TypeError` for a layer type the NumPy export does
    not cover.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"export_numpy expects a glassnet Sequential, got {type(model).__name__}.")
    source = model_source(model)
    state: dict[str, Any] = {**model.named_parameters(), **model.named_buffers()}
    tensors = {name: p.value for name, p in state.items()}
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            raise ValueError(f"Parameter {name} holds NaN or infinite values; cannot export.")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **tensors)  # type: ignore[arg-type]
    atomic_write(folder / "weights.npz", buffer.getvalue())
    atomic_write(folder / "model.py", source.encode("utf-8"))
    return folder / "model.py"
