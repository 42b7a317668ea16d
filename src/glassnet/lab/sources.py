"""Where the lab gets data sets, the drawing's preprocessing and model files.

This is the only lab module that knows about `glassnet.datasets` and `glassnet.io`, so each of
them is wired in by one function here.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import datasets

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
def load_training_data(name: str, data_dir: str | os.PathLike | None = None) -> TrainingData:
    """The training split of ``name``, else its test split if only that one is on disk.

    Only when neither split is on disk is the training split downloaded (`datasets.load`).
    """
    note = ""
    try:
        data = datasets.load(name, "train", data_dir, download=False)
    except datasets.DatasetNotFoundError:
        try:
            data = datasets.load(name, "test", data_dir, download=False)
            note = (
                f"The {name} training split is not on this machine; training on its "
                f"{len(data):,} test images instead."
            )
        except datasets.DatasetNotFoundError:
            data = datasets.load(name, "train", data_dir)
    return TrainingData(data.X, data.labels, list(data.class_names), note)


def preprocess(drawing: np.ndarray) -> np.ndarray:
    """The drawing (2-D ink levels 0–255) as MNIST digits look: float32 (28, 28) in [0, 1].

    The same function `glassnet predict` uses for image files; a blank drawing gives zeros.
    """
    levels = np.asarray(drawing)
    if levels.dtype != np.uint8:
        # Whole levels go in as bytes, exactly like an image file; fractions as floats in [0, 1].
        whole = np.array_equal(levels, np.round(levels))
        levels = levels.astype(np.uint8) if whole else levels.astype(np.float32) / np.float32(255)
    if not levels.any():
        return np.zeros((28, 28), np.float32)
    try:
        return datasets.mnist_preprocess(levels)
    except datasets.DatasetError:  # no contrast: nothing drawn worth calling ink
        return np.zeros((28, 28), np.float32)


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
