"""Scoring a model on labelled data and showing the scores as Rich tables."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.table import Table

import glassnet as gn

from .application import STATE, plain


def evaluate_model(model: gn.Sequential, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    scores: dict[str, Any] = dict(model.evaluate(X, y))
    if model.output != "identity":
        predicted = model.predict(X)
        n_classes = max(model.n_outputs, 2)
        report = gn.metrics.precision_recall_f1(y, predicted, n_classes)
        scores.update(precision=report["precision"], recall=report["recall"], f1=report["f1"])
        scores["per_class"] = {k: v.tolist() for k, v in report["per_class"].items()}
        scores["confusion_matrix"] = gn.metrics.confusion_matrix(y, predicted, n_classes).tolist()
    return scores


def show_scores(scores: dict[str, Any], class_names: list[str] | None, title: str) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("loss", "accuracy", "precision", "recall", "f1", "mse", "mae", "r2"):
        if key in scores:
            table.add_row(
                key + (" (macro)" if key in ("precision", "recall", "f1") else ""),
                f"{scores[key]:.4f}",
            )
    STATE.say(table)
    if "per_class" in scores:
        per_class = scores["per_class"]
        n = len(per_class["precision"])
        names = class_names or [str(i) for i in range(n)]
        detail = Table(title="per class")
        for column in ("class", "precision", "recall", "f1", "support"):
            detail.add_column(column, justify="left" if column == "class" else "right")
        for i in range(n):
            detail.add_row(
                plain(names[i]),
                *(f"{per_class[k][i]:.3f}" for k in ("precision", "recall", "f1")),
                str(per_class["support"][i]),
            )
        STATE.say(detail)
        matrix = Table(title="confusion matrix (rows: true class, columns: predicted)")
        matrix.add_column("true")
        for i in range(n):
            matrix.add_column(str(i), justify="right")
        for i, row in enumerate(scores["confusion_matrix"]):
            matrix.add_row(f"{i} {plain(names[i][:12])}", *map(str, row))
        STATE.say(matrix)
