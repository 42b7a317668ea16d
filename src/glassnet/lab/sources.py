"""Where the lab gets data sets, the drawing's preprocessing and model files.

This is the only lab module that knows about `glassnet.datasets` and `glassnet.io`, so each of
them is wired in by one function here.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import Sequential, datasets, io

DATASETS = ("mnist", "fashion-mnist")
MODEL_SUFFIX = ".glassnet"


@dataclass(frozen=True)
class TrainingData:
    """Images as the network sees them, flattened: X (n, 784) float32 in [0, 1], y (n,) ints."""

    X: np.ndarray
    y: np.ndarray
    class_names: list[str]
    note: str = ""  # e.g. which split was used when the training split is missing
    preprocessing: dict = field(default_factory=dict)  # what `glassnet predict` needs to know


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
            fallback = _on_disk_instead(name, data_dir)
            if fallback is None:
                data = datasets.load(name, "train", data_dir)
            else:
                data, note = fallback
                name = data.name
    height, width = data.images.shape[1:]
    preprocessing = {  # as `glassnet train` records it, so saved models work with the CLI
        "kind": "image",
        "image_size": [height, width],
        "color": "grayscale",
        "scale": 1 / 255,
        "mnist_centering": name == "mnist",
    }
    return TrainingData(data.X, data.labels, list(data.class_names), note, preprocessing)


def _on_disk_instead(
    name: str, data_dir: str | os.PathLike | None
) -> tuple[datasets.Dataset, str] | None:
    """Another data set's training split on this machine, when ``name`` is on none (no network
    is needed for the page's default training: e.g. Debian's Fashion-MNIST for MNIST)."""
    for other in DATASETS:
        if other == name:
            continue
        try:
            data = datasets.load(other, "train", data_dir, download=False)
        except datasets.DatasetError:
            continue
        note = (
            f"{name} is not on this machine, so this run trains on {other} from "
            f"{data.source_path} instead (download {name} with: glassnet download {name})."
        )
        return data, note
    return None


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


def table_columns(model: Sequential) -> dict | None:
    """A table model's raw columns and text levels, for the page's form; None otherwise."""
    prep = getattr(model, "preprocessing", None) or {}
    columns = datasets.input_columns(prep)
    if not columns:
        return None
    categories = prep.get("categories") if isinstance(prep.get("categories"), dict) else {}
    return {"columns": columns, "categories": categories, "target": prep.get("target")}


def prepare_row(model: Sequential, row: dict) -> np.ndarray:
    """One raw table row ``{column: value}`` as the model's input, by its recipe: (n_inputs,)."""
    return datasets.prepare_rows(model.preprocessing, [row]).reshape(-1)


def prepare_picture(model: Sequential, picture: np.ndarray) -> np.ndarray:
    """An uploaded image (h, w) or (h, w, 3) uint8 as an image model's input: (n_inputs,)."""
    return datasets.prepare_images(model.preprocessing, picture).reshape(-1)


DATA_ERRORS = (datasets.DatasetError,)  # a row or picture the recipe refuses: a 422


def json_nesting(raw: bytes, limit: int) -> str | None:
    """How a JSON text nests deeper than ``limit`` (scanned without parsing), or None."""
    return io.untrusted_json.nesting_problem(raw, limit)


def save_model(model: Sequential, path: Path) -> None:
    io.save(model, path)  # atomic: a failed save leaves no partial file


def load_model(path: str | os.PathLike) -> Sequential:
    """A model file (or an ``.onnx`` file), or the ``model.glassnet`` of a run directory (as
    ``glassnet train`` writes)."""
    path = Path(path)
    if path.suffix.lower() == ".onnx" and path.is_file():
        # NOTE: imported on first use: the onnx package is an optional extra (glassnet[onnx])
        from .. import onnx as glassnet_onnx

        return glassnet_onnx.load(path)
    return io.load(path / f"model{MODEL_SUFFIX}" if path.is_dir() else path)


MODEL_FILE_ERRORS = (io.ModelFileError,)  # "this file is not a usable model": a 422
