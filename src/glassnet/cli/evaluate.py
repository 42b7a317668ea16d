"""``glassnet evaluate``: a model's scores on a data set's test split."""

from __future__ import annotations

import csv
from typing import Annotated

import numpy as np
import typer

from glassnet import datasets

from .application import STATE, UserError, guarded, plain
from .architecture import as_model_inputs
from .data import load_data
from .options import TRAIN_DEFAULTS
from .runs import load_model
from .scores import evaluate_model, show_scores


@guarded
def evaluate(
    model_path: Annotated[str, typer.Argument(metavar="MODEL", help="Model file or run dir.")],
    data: Annotated[
        str,
        typer.Argument(
            help="mnist, fashion-mnist, a CSV file or an image folder (its test split is used)."
        ),
    ],
    target: Annotated[str | None, typer.Option(help="CSV: the column to predict.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Look for data sets here first.")] = None,
) -> None:
    """Loss, accuracy, per-class precision/recall/F1 and the confusion matrix on a data set."""
    model = load_model(model_path)
    prep = getattr(model, "preprocessing", None) or {}
    options = {
        **TRAIN_DEFAULTS,
        "data_dir": data_dir,
        "target": target or prep.get("target"),
        "image_size": "x".join(map(str, prep.get("image_size", [64, 64]))),
        "color": prep.get("color", "grayscale"),
        # an image folder is prepared by the model's recipe: MNIST-style digits if it says so
        "digits": bool(prep.get("mnist_centering")),
    }
    if prep.get("kind") == "table":
        if not str(data).lower().endswith(".csv"):
            raise UserError(
                f"This model was trained on a table ({', '.join(prep.get('columns') or [])}); "
                "evaluate it on a CSV file with those columns."
            )
        X, y = _table(data, prep, options["target"], model.class_names)
        scores = evaluate_model(model, X, y)
        _show(scores, model, data, len(X))
        return
    loaded = load_data(data, options, test_only=True)
    X = loaded.X_test
    X = as_model_inputs(model, X)
    if X.ndim == 2 and X.shape[1] != model.n_inputs:
        raise UserError(
            f"The model expects {model.n_inputs} input features but {data} gives {X.shape[1]}."
        )
    scores = evaluate_model(model, X, loaded.y_test)
    _show(scores, model, data, len(X))


def _table(
    data: str, prep: dict, target: str, class_names: list[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Every row of a CSV file, prepared by the model's own recipe (not one fitted here)."""
    columns = datasets.input_columns(prep) or []
    try:
        table = datasets.load_csv(data, target=target, features=columns, categorical="auto")
        records = [dict(zip(columns, row, strict=True)) for row in _raw_rows(data, columns)]
        X = datasets.prepare_rows(prep, records)
    except datasets.DatasetError as error:
        raise UserError(str(error)) from None
    y = table.y
    if table.class_names is not None and class_names:
        # This file's classes may be fewer than the model's: map them by name.
        index = {name: k for k, name in enumerate(class_names)}
        unknown = [name for name in table.class_names if name not in index]
        if unknown:
            raise UserError(f"{data} holds classes the model does not know: {unknown[:5]}.")
        y = np.array([index[name] for name in table.class_names], dtype=np.int64)[table.y]
    return X, y


def _raw_rows(path: str, columns: list[str]) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        return [[record[c] for c in columns] for record in reader if any(record.values())]


def _show(scores: dict, model, data: str, n: int) -> None:
    if STATE.json:
        STATE.emit({"event": "evaluate", "samples": n, **scores})
        return
    show_scores(scores, model.class_names, title=f"{plain(data)}: {n:,} samples")
    if STATE.quiet:
        key = "accuracy" if "accuracy" in scores else "r2"
        print(f"{key} {scores[key]:.4f}")
