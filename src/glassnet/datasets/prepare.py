"""One way to turn raw inputs into a model's input rows, used by Python, the CLI and the lab.

A model records how its training data was prepared in ``model.preprocessing`` (a JSON-ready
dict saved in its model file). :func:`prepare` applies that recipe to raw inputs — table rows
as their CSV columns, or images as pixels — and :func:`predict` runs the model on them. Every
tool calls these, so a row gives the same answer from ``glassnet predict``, the lab's form and
``glassnet.datasets.predict(model, rows)``.

The two recipes::

    {"kind": "table", "columns": ["age", "city"], "categories": {"city": ["Lyon", "Paris"]},
     "feature_names": ["age", "city=Lyon", "city=Paris"], "standardizer": {"mean": [...],
     "scale": [...]}, "target": "price", "target_scaling": {"mean": m, "scale": s, ...}}
    {"kind": "image", "image_size": [h, w], "color": "grayscale" | "rgb",
     "mnist_centering": bool, "invert": bool}

A table's text columns are one-hot encoded (one 0/1 column per level), then every feature is
standardised with the training set's mean and scale. A regression target is standardised for
training too — a loss in the billions otherwise swamps the gradients — and the scaling is then
folded into the last layer (:func:`fold_target_scaling`), so the model itself predicts in the
target's units and nothing downstream can forget to undo it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..models.sequential import Sequential
from ..nn.dense import Dense
from ._errors import DatasetError
from .images import mnist_preprocess
from .preprocessing import Standardizer
from .tables import Table

__all__ = [
    "fold_target_scaling",
    "input_columns",
    "predict",
    "prepare",
    "prepare_images",
    "prepare_rows",
    "table_preprocessing",
]


def table_preprocessing(table: Table, X_train: np.ndarray, y_train: np.ndarray) -> dict[str, Any]:
    """The recipe for a table: its columns, text levels and the training set's scaling.

    Parameters
    ----------
    table : Table
        From :func:`~glassnet.datasets.load_csv` (its ``columns`` and ``categories``).
    X_train : numpy.ndarray
        ``(n_train, n_features)``: the encoded training rows the scaling is learnt from.
    y_train : numpy.ndarray
        ``(n_train,)``: for regression, the targets whose mean and scale are recorded.
    """
    recipe: dict[str, Any] = {
        "kind": "table",
        "columns": list(table.columns or table.feature_names),
        "categories": {name: list(levels) for name, levels in table.categories.items()},
        "feature_names": list(table.feature_names),
        "target": table.target_name,
        "standardizer": Standardizer().fit(X_train).to_dict(),
    }
    if table.task == "regression":
        y = np.asarray(y_train, dtype=np.float64)
        scale = float(y.std()) or 1.0  # a constant target: centre it, do not divide by 0
        recipe["target_scaling"] = {"mean": float(y.mean()), "scale": scale}
    return recipe


def input_columns(preprocessing: Mapping[str, Any]) -> list[str] | None:
    """The raw columns a table model reads, in order; None for other models."""
    if preprocessing.get("kind") != "table":
        return None
    return list(preprocessing.get("columns") or preprocessing.get("feature_names") or [])


def _cells(rows: Any, columns: list[str]) -> list[list[Any]]:
    """Rows as lists of cells in ``columns`` order, from mappings or sequences."""
    if isinstance(rows, Mapping):
        rows = [rows]
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            missing = [c for c in columns if c not in row]
            if missing:
                raise DatasetError(
                    f"Row {i} lacks the columns {missing}; the model reads {columns}."
                )
            out.append([row[c] for c in columns])
        else:
            cells = list(np.asarray(row, dtype=object).reshape(-1))
            if len(cells) != len(columns):
                raise DatasetError(
                    f"Row {i} has {len(cells)} values; the model reads {len(columns)} columns "
                    f"{columns}."
                )
            out.append(cells)
    return out


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_table_recipe(preprocessing: Mapping[str, Any]) -> None:
    """A recipe from a file may hold anything: check its JSON types before using it."""
    problems = []
    for key in ("columns", "feature_names"):
        if preprocessing.get(key) is not None and not _strings(preprocessing[key]):
            problems.append(f"{key} should be a list of column names")
    categories = preprocessing.get("categories")
    if categories is not None and not (
        isinstance(categories, Mapping) and all(_strings(v) for v in categories.values())
    ):
        problems.append("categories should map column names to lists of levels")
    if preprocessing.get("standardizer") is not None and not isinstance(
        preprocessing["standardizer"], Mapping
    ):
        problems.append("standardizer should be an object with mean and scale")
    if problems:
        raise DatasetError(
            f"The model's preprocessing is damaged: {'; '.join(problems)}. Train it again."
        )


def prepare_rows(preprocessing: Mapping[str, Any], rows: Any) -> np.ndarray:
    """Encode and standardise raw table rows as the model's training rows were.

    Parameters
    ----------
    preprocessing : mapping
        A table recipe (``model.preprocessing`` of a model trained on a CSV file).
    rows : mapping, sequence of mappings, or array-like ``(n, n_columns)``
        Raw rows: ``{"age": 31, "city": "Paris"}``, or values in the order of
        ``preprocessing["columns"]``. Numbers may be given as text, as read from a CSV file.

    Returns
    -------
    X : numpy.ndarray
        ``float32``, shape ``(n, n_features)``: ready for ``model.predict``.
    """
    _check_table_recipe(preprocessing)
    columns = input_columns(preprocessing)
    if not columns:
        raise DatasetError("prepare_rows expects a table model's preprocessing (kind 'table').")
    categories = {k: list(v) for k, v in (preprocessing.get("categories") or {}).items()}
    if isinstance(rows, np.ndarray) and rows.dtype.kind in "biuf" and not categories:
        X = rows.astype(np.float32).reshape(-1, len(columns))
    else:
        cells = _cells(rows, columns)
        blocks = []
        for j, column in enumerate(columns):
            texts = [row[j] for row in cells]
            if column in categories:
                levels = categories[column]
                index = {level: k for k, level in enumerate(levels)}
                codes = [index.get(str(t).strip(), -1) for t in texts]
                if -1 in codes:
                    bad = texts[codes.index(-1)]
                    raise DatasetError(
                        f"Column {column!r} holds {str(bad)[:40]!r}, which the model never saw; "
                        f"it knows {levels[:10]}{' ...' if len(levels) > 10 else ''}."
                    )
                blocks.append(np.eye(len(levels), dtype=np.float32)[codes].reshape(-1, len(levels)))
            else:
                try:
                    values = np.array([float(t) for t in texts], dtype=np.float32)
                except (TypeError, ValueError):
                    raise DatasetError(
                        f"Column {column!r} must hold numbers; got {texts[:3]!r}."
                    ) from None
                blocks.append(values.reshape(-1, 1))
        X = np.concatenate(blocks, axis=1) if cells else np.zeros((0, 0), np.float32)
    if not np.all(np.isfinite(X)):
        raise DatasetError("Table rows must hold finite numbers, got NaN or infinity.")
    n_features = len(preprocessing.get("feature_names") or columns)
    X = X.reshape(-1, n_features)
    if preprocessing.get("standardizer"):
        X = Standardizer.from_dict(preprocessing["standardizer"]).transform(X)
    return X


def prepare_images(preprocessing: Mapping[str, Any], images: Any) -> np.ndarray:
    """Turn images into the model's input rows as its training images were prepared.

    Parameters
    ----------
    preprocessing : mapping
        An image recipe: ``image_size`` ``[h, w]``, ``color``, ``mnist_centering``, ``invert``.
    images : array-like or sequence of arrays
        One image ``(h, w)`` / ``(h, w, c)`` or several (a list, or an array with a leading
        sample axis); ``uint8`` 0..255 or float in [0, 1]; any size (resized to
        ``image_size`` with Pillow when it differs).

    Returns
    -------
    X : numpy.ndarray
        ``float32`` in [0, 1], shape ``(n, h * w * channels)``.
    """
    size = tuple(preprocessing.get("image_size") or (28, 28))
    color = preprocessing.get("color", "grayscale")
    if (
        isinstance(images, np.ndarray)
        and images.ndim in (2, 3)
        and (images.ndim == 2 or images.shape[-1] in (3, 4) and color == "rgb")
    ):
        images = [images]
    rows = []
    for image in images:
        a = np.asarray(image)
        # Whole-number pixels are levels 0..255 (uint8 or any integer type); floats are 0..1.
        x = a.astype(np.float32) / 255 if a.dtype.kind in "iub" else a.astype(np.float32)
        if preprocessing.get("mnist_centering"):
            x = mnist_preprocess(x)
        else:
            x = _to_color(x, color)
            if x.shape[:2] != size:
                x = _resize(x, size)
            if preprocessing.get("invert"):
                x = 1.0 - x
        rows.append(x.reshape(-1))
    return np.array(rows, dtype=np.float32).reshape(len(rows), -1)


def _to_color(x: np.ndarray, color: str) -> np.ndarray:
    if color == "grayscale" and x.ndim == 3:
        return x[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma
    if color == "rgb" and x.ndim == 2:
        return np.repeat(x[..., None], 3, axis=2)
    return x[..., :3] if x.ndim == 3 else x


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image  # noqa: PLC0415 - optional and heavy: only when an image needs resizing

    channels = [x] if x.ndim == 2 else [x[..., c] for c in range(x.shape[2])]
    resized = [
        np.asarray(
            Image.fromarray(c.astype(np.float32)).resize(size[::-1], Image.Resampling.BILINEAR),
            dtype=np.float32,
        )
        for c in channels
    ]
    out = resized[0] if x.ndim == 2 else np.stack(resized, axis=2)
    return np.clip(out, 0.0, 1.0)


def prepare(preprocessing: Mapping[str, Any], raw: Any) -> np.ndarray:
    """Raw inputs → model input rows, by the recipe's kind (:func:`prepare_rows` or
    :func:`prepare_images`); with no recipe, ``raw`` is taken as model input already."""
    kind = preprocessing.get("kind")
    if kind == "table":
        return prepare_rows(preprocessing, raw)
    if kind == "image":
        return prepare_images(preprocessing, raw)
    return np.asarray(raw, dtype=np.float32)


def predict(model: Sequential, raw: Any) -> np.ndarray:
    """``model.predict`` on raw inputs prepared by the model's recipe.

    Returns class ids ``(n,)`` for a classifier, values ``(n,)`` or ``(n, k)`` in the
    target's units for a regression model.

    Examples
    --------
    >>> glassnet.datasets.predict(model, [{"age": 31, "city": "Paris"}])  # doctest: +SKIP
    array([212000.], dtype=float32)
    """
    prep = getattr(model, "preprocessing", None) or {}
    X = prepare(prep, raw)  # (n, n_inputs); image rows in (height, width, colour) order
    shape = tuple(model.input_shape or ())
    if prep.get("kind") == "image" and len(shape) == 3 and X.ndim == 2:
        channels, height, width = shape  # a CNN takes (n, C, H, W), channels first
        X = np.ascontiguousarray(X.reshape(len(X), height, width, channels).transpose(0, 3, 1, 2))
    return model.predict(X)


def fold_target_scaling(model: Sequential, preprocessing: dict[str, Any]) -> None:
    """Fold a trained model's target scaling into its last layer: outputs in target units.

    Trained on ``t = (y - mean) / scale``, the last Dense layer computes ``t = h @ W + b``;
    with ``W' = W * scale`` and ``b' = b * scale + mean`` it computes ``y`` directly (an
    identity output keeps it). Marks ``preprocessing["target_scaling"]["folded"] = True`` so
    it is never done twice.
    """
    scaling = preprocessing.get("target_scaling")
    if not scaling or scaling.get("folded") or model.output != "identity":
        return
    last = [layer for layer in model.layers if isinstance(layer, Dense)][-1]
    weights = dict(last.named_parameters())
    scale = np.asarray(scaling["scale"], dtype=weights["W"].value.dtype)
    weights["W"].value *= scale
    if "b" in weights:
        weights["b"].value *= scale
        weights["b"].value += np.asarray(scaling["mean"], dtype=weights["b"].value.dtype)
    scaling["folded"] = True
    scaling["folded_into"] = last.name


def check_recipe(preprocessing: Mapping[str, Any], n_inputs: int) -> None:
    """Raise DatasetError if a table recipe's feature count does not match the model."""
    names = preprocessing.get("feature_names")
    if preprocessing.get("kind") == "table" and names is not None and len(names) != n_inputs:
        raise DatasetError(
            f"The model reads {n_inputs} features but its preprocessing names {len(names)}."
        )
