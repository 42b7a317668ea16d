"""Run directories: loading a model from a file or run, and writing and drawing a finished run.

A run directory holds ``model.glassnet``, ``config.json``, ``history.json`` and ``history.csv``,
``metrics.json``, ``sample.npy`` (one test input) and the plots drawn from them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

import glassnet as gn
from glassnet import io, plot

from .application import STATE, UserError
from .data import Data

MODEL_FILE = "model.glassnet"


def save_model(
    model: gn.Sequential,
    path: Path,
    preprocessing: dict[str, Any],
    history: dict[str, Any] | None = None,
) -> None:
    model.preprocessing = preprocessing
    io.save(model, path, history=history)


def load_model(path: str) -> gn.Sequential:
    file = Path(path)
    if file.is_dir():
        file = file / MODEL_FILE
    if not file.exists():
        raise UserError(f"No model file at {path}. Train one with 'glassnet train'.")
    if file.suffix.lower() == ".onnx":
        # NOTE: imported on first use: the onnx package is an optional extra (glassnet[onnx])
        from glassnet import onnx as glassnet_onnx

        return glassnet_onnx.load(file)
    return io.load(file)


def write_run(
    run: Path,
    model: gn.Sequential,
    data: Data,
    history: dict[str, Any],
    scores: dict[str, Any],
    options: dict[str, Any],
) -> None:
    save_model(model, run / MODEL_FILE, data.preprocessing, history)
    (run / "config.json").write_text(json.dumps(options, indent=2) + "\n")
    (run / "history.json").write_text(json.dumps(history, indent=2) + "\n")
    with open(run / "history.csv", "w", newline="") as file:
        writer = csv.writer(file)
        keys = list(history)
        writer.writerow(keys)
        writer.writerows(zip(*(history[k] for k in keys), strict=True))
    (run / "metrics.json").write_text(json.dumps(scores, indent=2) + "\n")
    np.save(run / "sample.npy", data.X_test[:1], allow_pickle=False)
    try:
        draw_run(run, model, history, scores, data.X_test[0], data.preprocessing)
    except ImportError as error:
        STATE.say(f"(no plots: {error})")


def draw_run(
    run: Path,
    model: gn.Sequential,
    history: dict[str, Any],
    scores: dict[str, Any],
    sample: np.ndarray | None,
    preprocessing: dict[str, Any],
) -> list[Path]:
    image_shape = None
    if preprocessing.get("kind") == "image" and preprocessing.get("color") == "grayscale":
        image_shape = tuple(preprocessing["image_size"])
    confusion = scores.get("confusion_matrix")
    return plot.save_run_plots(
        run,
        history,
        model,
        None if confusion is None else np.array(confusion),
        model.class_names,
        sample,
        image_shape,
    )
