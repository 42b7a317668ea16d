"""``glassnet plot``: draw (again) the plots of a run directory written by ``glassnet train``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from .application import STATE, UserError, guarded
from .runs import draw_run, load_model


@guarded
def plot(
    run: Annotated[str, typer.Argument(help="A run directory written by 'glassnet train'.")],
) -> None:
    """Draw a run's training curves, confusion matrix, first-layer weights and activations."""
    run_dir = Path(run)
    history_file = run_dir / "history.json"
    if not history_file.is_file():
        raise UserError(f"{run} is not a run directory: it has no history.json.")
    model = load_model(str(run_dir))
    history = json.loads(history_file.read_text())
    metrics_file = run_dir / "metrics.json"
    scores = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    sample_file = run_dir / "sample.npy"
    sample = np.load(sample_file, allow_pickle=False)[0] if sample_file.is_file() else None
    written = draw_run(
        run_dir, model, history, scores, sample, getattr(model, "preprocessing", None) or {}
    )
    if STATE.json:
        STATE.emit({"event": "plots", "files": [str(p) for p in written]})
    else:
        for path in written:
            print(path)
