"""Where the lab gets data sets, the drawing's preprocessing and model files.

This is the only lab module that knows about `glassnet.datasets` and `glassnet.io`, so each of
them is wired in by one function here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "fashion-mnist")
MODEL_SUFFIX = ".glassnet"


@dataclass(frozen=True)
class TrainingData:
    """Images as the network sees them, flattened: X (n, 784) float32 in [0, 1], y (n,) ints."""

    X: np.ndarray
    y: np.ndarray
    class_names: list[str]
    note: str = ""  # e.g. which split was used when the training split is missing


@functools.lru_cache(maxsize=len(DATASETS))
def load_training_data(name: str) -> TrainingData:
    """The training split of ``name`` (the test split if only that one is installed)."""
    datasets = _datasets()
    note = ""
    try:
        data = datasets.load(name, "train")
    except FileNotFoundError:
        data = datasets.load(name, "test")
        note = (
            f"The {name} training split is not installed; training on its "
            f"{len(data.labels):,} test images instead."
        )
    X = data.images.reshape(len(data.images), -1).astype(np.float32) / np.float32(255.0)
    return TrainingData(X, np.asarray(data.labels, np.int64), list(data.class_names), note)


def preprocess(drawing: np.ndarray) -> np.ndarray:
    """The drawing (2-D ink levels 0–255) as MNIST digits look: float32 (28, 28) in [0, 1]."""
    return _datasets().mnist_preprocess(drawing)


def save_model(model, path: Path) -> None:
    model.save(str(path))


def load_model(path: Path):
    import glassnet

    return glassnet.load(str(path))


def model_file_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "this file is not a usable model" (reported as 422)."""
    try:
        from glassnet.io import ModelFileError
    except ImportError:  # glassnet.io not available in this build
        return (ValueError,)
    return (ModelFileError, ValueError)


# --------------------------------------------------------------------------------------------
# NOTE: interim stand-ins until the `data` and `io` branches are merged; deleted at the merge.


@functools.cache
def _datasets():
    try:
        from glassnet import datasets

        return datasets
    except ImportError:
        return _Interim


class _Interim:
    @staticmethod
    def load(name, split):
        import gzip
        import types

        folder = {
            "mnist": Path("/work/shared/data/mnist"),
            "fashion-mnist": Path("/usr/share/datasets/fashion-mnist"),
        }[name]
        prefix = "train" if split == "train" else "t10k"
        kinds = (("images", 3), ("labels", 1))
        files = [folder / f"{prefix}-{kind}-idx{n}-ubyte.gz" for kind, n in kinds]
        if not files[0].exists():
            raise FileNotFoundError(files[0])
        arrays = []
        for f in files:
            raw = gzip.decompress(f.read_bytes())
            dims = np.frombuffer(raw, ">u4", count=raw[3], offset=4).astype(int)
            arrays.append(np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims))
        names = (
            [str(i) for i in range(10)]
            if name == "mnist"
            else [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ]
        )
        return types.SimpleNamespace(images=arrays[0], labels=arrays[1], class_names=names)

    @staticmethod
    def mnist_preprocess(image):
        a = np.asarray(image, np.float32) / 255.0
        rows, cols = np.nonzero(a > 0)
        if rows.size == 0:
            return np.zeros((28, 28), np.float32)
        a = a[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        h, w = a.shape
        scale = 20.0 / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))

        def area(n_in, n_out):
            edges_in = np.arange(n_in + 1) / n_in
            edges_out = np.arange(n_out + 1) / n_out
            lo = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
            hi = np.minimum(edges_out[1:, None], edges_in[None, 1:])
            return np.clip(hi - lo, 0, None) * n_out

        small = area(h, nh) @ a @ area(w, nw).T
        out = np.zeros((28, 28), np.float32)
        top, left = (28 - nh) // 2, (28 - nw) // 2
        out[top : top + nh, left : left + nw] = small
        total = out.sum()
        cy = (out.sum(1) * np.arange(28)).sum() / total
        cx = (out.sum(0) * np.arange(28)).sum() / total
        dy, dx = int(round(13.5 - cy)), int(round(13.5 - cx))
        out = np.roll(out, (dy, dx), axis=(0, 1))
        return np.clip(out, 0, 1).astype(np.float32)
