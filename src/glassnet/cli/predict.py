"""``glassnet predict``: the class (with probabilities) or the value for each input file."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer

from .application import STATE, guarded, printable
from .inputs import read_inputs
from .options import check_number
from .runs import load_model


@guarded
def predict(
    model_path: Annotated[str, typer.Argument(metavar="MODEL", help="Model file or run dir.")],
    inputs: Annotated[
        list[str], typer.Argument(metavar="INPUT...", help="Image files, .npy arrays or CSV files.")
    ],
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="How many classes to list.")] = 3,
) -> None:
    """Predict the class (with probabilities) or value of each input."""
    check_number(top_k, "top_k", 1, None)
    model = load_model(model_path)
    X, labels = read_inputs(model, inputs)
    names = model.class_names
    results: list[dict[str, Any]] = []
    if model.output == "identity":
        values = np.atleast_2d(model.predict(X).T).T
        results = [
            {"input": label, "value": v.tolist() if v.size > 1 else float(v[0])}
            for label, v in zip(labels, values, strict=True)
        ]
    else:
        proba = model.predict_proba(X)
        for label, p in zip(labels, proba, strict=True):
            order = np.argsort(-p, kind="stable")[: max(1, top_k)]
            top = [
                {"class": int(i), "name": names[i] if names else str(i), "probability": float(p[i])}
                for i in order
            ]
            results.append(
                {
                    "input": label,
                    "class": top[0]["class"],
                    "name": top[0]["name"],
                    "probability": top[0]["probability"],
                    "top": top,
                }
            )
    if STATE.json:
        for result in results:
            STATE.emit(result)
        return
    for result in results:
        if "value" in result:
            print(printable(f"{result['input']}: {result['value']}"))
        else:
            others = ", ".join(f"{t['name']} {t['probability']:.3f}" for t in result["top"][1:])
            print(
                printable(
                    f"{result['input']}: {result['name']} ({result['probability']:.3f})"
                    + (f"  — then {others}" if others else "")
                )
            )
