"""Reading the inputs of ``predict`` and ``inspect --input``: images, .npy arrays or CSV rows.

Each input is prepared as the model's training data was (its recorded preprocessing).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import datasets

from .application import UserError
from .architecture import as_model_inputs


def read_inputs(model: gn.Sequential, paths: list[str]) -> tuple[np.ndarray, list[str]]:
    """Read image files, .npy arrays or CSV rows, preprocessed as the model was trained."""
    prep = getattr(model, "preprocessing", None) or {}
    rows: list[np.ndarray] = []
    labels: list[str] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise UserError(f"No input file at {name}.")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False).astype(np.float32)
            if array.ndim >= 3 and array.shape[-3:] == tuple(model.input_shape):
                array = array.reshape(-1, model.n_inputs)  # images already (n, C, H, W)
            elif array.size % model.n_inputs == 0:
                # rows of pixels in the data sets' order (height, width, colour)
                array = as_model_inputs(model, array.reshape(-1, model.n_inputs))
                array = array.reshape(len(array), -1)
            if array.ndim != 2 or array.shape[1] != model.n_inputs:
                raise UserError(
                    f"{name}: expected {model.n_inputs} values per sample, got an "
                    f"array of shape {array.shape}."
                )
            rows.extend(array)
            labels.extend(f"{name}[{i}]" for i in range(len(array)))
        elif suffix == ".csv":
            features = prep.get("feature_names")
            if not features:
                raise UserError(f"{name}: this model was not trained on a table.")
            table = _read_feature_rows(path, features)
            table = datasets.Standardizer.from_dict(prep["standardizer"]).transform(table)
            rows.extend(table)
            labels.extend(f"{name}:{i + 2}" for i in range(len(table)))
        else:
            if prep.get("kind") != "image":
                raise UserError(f"{name}: this model was not trained on images.")
            size = tuple(prep.get("image_size", [28, 28]))
            color = prep.get("color", "grayscale")
            if prep.get("mnist_centering"):
                image = datasets.mnist_preprocess(datasets.load_image(path, color="grayscale"))
            else:
                image = datasets.load_image(path, size=size, color=color)
            rows.append(as_model_inputs(model, image.reshape(1, -1)).reshape(-1))
            labels.append(name)
    # every row is one sample in the model's own order: reshaping gives its input shape
    return np.array(rows, dtype=np.float32).reshape(len(rows), *model.input_shape), labels


def _read_feature_rows(path: Path, features: list[str]) -> np.ndarray:
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = [f for f in features if f not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path}: missing feature columns {missing}.")
        values = []
        for line, record in enumerate(reader, start=2):
            try:
                values.append([float(record[f]) for f in features])
            except (TypeError, ValueError):
                raise UserError(f"{path}, row {line}: every feature must be a number.") from None
    return np.array(values, dtype=np.float32).reshape(-1, len(features))
