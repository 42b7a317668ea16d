"""``glassnet evaluate``: a model's scores on a data set's test split."""

from __future__ import annotations

from typing import Annotated

import typer

from glassnet import datasets

from .application import STATE, UserError, guarded
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
    }
    loaded = load_data(data, options)
    X = loaded.X_test
    if prep.get("kind") == "table" and loaded.preprocessing.get("kind") == "table":
        # use the model's own standardisation, not one fitted on this file
        table = datasets.load_csv(data, target=options["target"])
        X = datasets.Standardizer.from_dict(prep["standardizer"]).transform(table.X)
        loaded.y_test = table.y
    X = as_model_inputs(model, X)
    if X.ndim == 2 and X.shape[1] != model.n_inputs:
        raise UserError(
            f"The model expects {model.n_inputs} input features but {data} gives {X.shape[1]}."
        )
    scores = evaluate_model(model, X, loaded.y_test)
    if STATE.json:
        STATE.emit({"event": "evaluate", "samples": len(X), **scores})
        return
    show_scores(scores, model.class_names, title=f"{data}: {len(X):,} samples")
    if STATE.quiet:
        key = "accuracy" if "accuracy" in scores else "r2"
        print(f"{key} {scores[key]:.4f}")
