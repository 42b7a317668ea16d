"""Make the PyTorch-exported ONNX files the tests open, with PyTorch's own outputs beside them.

Run once, with torch installed (CI needs no torch; the files are committed):

    pip install torch==2.13.0 onnx
    python tests/reference/make_onnx_reference.py

Writes, next to this script:
- ``torch_mlp.onnx``: ``nn.Sequential(Linear(784, 32), ReLU, Linear(32, 16), Tanh,
  Linear(16, 10))`` exported with ``torch.onnx.export(..., dynamo=False)`` (Gemm with transB=1,
  the weights (out, in)), a dynamic batch axis;
- ``torch_cnn.onnx``: ``Conv2d(1, 4, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(4, 8, 3),
  ReLU, AvgPool2d(2), Flatten, Linear(8·2·2, 10)`` on (batch, 1, 14, 14) inputs — 2×2-average
  downsampled MNIST digits, to keep the file small;
- ``torch_onnx_reference.npz``: the inputs (the first 64 MNIST test digits, float32) and
  PyTorch's outputs for each model, in float32.

The weights are random (seeded): the tests compare outputs, not accuracy.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
MNIST = HERE.parents[1].parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
N = 64


def mnist_digits(n: int) -> np.ndarray:
    data = gzip.decompress(MNIST.read_bytes())
    images = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28)[:n]
    return (images.astype(np.float32) / 255.0).astype(np.float32)


def export(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def main() -> None:
    torch.manual_seed(0)
    digits = mnist_digits(N)  # (N, 28, 28)
    flat = digits.reshape(N, 784)
    small = digits.reshape(N, 1, 14, 2, 14, 2).mean(axis=(3, 5)).astype(np.float32)

    mlp = nn.Sequential(
        nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 10)
    ).eval()
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 2 * 2, 10),
    ).eval()
    with torch.no_grad():
        mlp_out = mlp(torch.from_numpy(flat)).numpy()
        cnn_out = cnn(torch.from_numpy(small)).numpy()
    export(mlp, torch.from_numpy(flat[:2]), HERE / "torch_mlp.onnx")
    export(cnn, torch.from_numpy(small[:2]), HERE / "torch_cnn.onnx")
    np.savez_compressed(
        HERE / "torch_onnx_reference.npz",
        mlp_input=flat,
        mlp_output=mlp_out,
        cnn_input=small,
        cnn_output=cnn_out,
    )
    print("wrote torch_mlp.onnx, torch_cnn.onnx and torch_onnx_reference.npz")


if __name__ == "__main__":
    main()
