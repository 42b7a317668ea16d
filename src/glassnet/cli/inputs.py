"""Reading the inputs of ``predict`` and ``inspect --input``: images, .npy arrays or CSV rows.

Each input is prepared as the model's training data was (its recorded preprocessing).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import datasets

from .application import UserError, printable
from .architecture import as_model_inputs

#: The most values one .npy input may hold (checked from its header before reading it).
MAX_NPY_VALUES = 100_000_000


def read_inputs(model: gn.Sequential, paths: list[str]) -> tuple[np.ndarray, list[str]]:
    """Read image files, .npy arrays or CSV rows, prepared by the model's recipe.

    Every input goes through :func:`glassnet.datasets.prepare` (tables: one-hot encoding and
    standardisation; images: size, colour, inversion, MNIST centring), as in Python and the lab.
    """
    prep = getattr(model, "preprocessing", None) or {}
    rows: list[np.ndarray] = []
    labels: list[str] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise UserError(f"No input file at {printable(name)}.")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            array = _read_npy(path)
            if array.ndim >= 3 and array.shape[-3:] == tuple(model.input_shape):
                array = array.reshape(-1, model.n_inputs)  # images already (n, C, H, W)
            elif array.size % model.n_inputs == 0:
                # rows of pixels in the data sets' order (height, width, colour)
                array = as_model_inputs(model, array.reshape(-1, model.n_inputs))
                array = array.reshape(len(array), -1)
            if array.ndim != 2 or array.shape[1] != model.n_inputs:
                raise UserError(
                    f"{printable(name)}: expected {model.n_inputs} values per sample, got an "
                    f"array of shape {array.shape}."
                )
            rows.extend(array)
            labels.extend(f"{name}[{i}]" for i in range(len(array)))
        elif suffix == ".csv":
            columns = datasets.input_columns(prep)
            if not columns:
                raise UserError(f"{printable(name)}: this model was not trained on a table.")
            records = _read_records(path, columns)
            try:
                table = datasets.prepare_rows(prep, records)
            except datasets.DatasetError as error:
                raise UserError(f"{printable(name)}: {printable(error)}") from None
            rows.extend(table)
            labels.extend(f"{name}:{i + 2}" for i in range(len(table)))
        else:
            if prep.get("kind") != "image":
                raise UserError(f"{printable(name)}: this model was not trained on images.")
            image = datasets.load_image(path, color=prep.get("color", "grayscale"))
            prepared = datasets.prepare_images(prep, image)
            pixels = prepared.reshape(len(prepared), -1)[:1]  # rows of pixels, as in training
            rows.append(as_model_inputs(model, pixels).reshape(-1))
            labels.append(name)
    # every row is one sample in the model's own order: reshaping gives its input shape
    return np.array(rows, dtype=np.float32).reshape(len(rows), *model.input_shape), labels


def _read_npy(path: Path) -> np.ndarray:
    """A numeric .npy array, its header checked before any memory is allocated for it."""
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(file)
    except (ValueError, OSError, SyntaxError, TypeError):
        raise UserError(f"{printable(path)} is not a valid .npy file.") from None
    count = int(np.prod(shape, dtype=np.float64))
    if count > MAX_NPY_VALUES:
        raise UserError(
            f"{printable(path)} claims {count:.3g} values (shape {shape}); inputs may hold at most "
            f"{MAX_NPY_VALUES:,}."
        )
    if dtype.kind not in "biuf":
        raise UserError(f"{printable(path)} holds {dtype} values; expected numbers.")
    try:
        return np.load(path, allow_pickle=False).astype(np.float32)
    except (ValueError, OSError):
        raise UserError(f"{printable(path)} is truncated or not a valid .npy file.") from None


def _read_records(path: Path, columns: list[str]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        fields = [f.strip() for f in reader.fieldnames or []]
        missing = [c for c in columns if c not in fields]
        if missing:
            raise UserError(f"{printable(path)}: missing the model's columns {printable(missing)}.")
        return [{k.strip(): v for k, v in record.items() if k} for record in reader]
