"""Run directories: loading a model from a file or run, and writing and drawing a finished run.

A run directory holds ``model.glassnet``, ``config.json``, ``history.json`` and ``history.csv``,
``metrics.json``, ``sample.npy`` (one test input) and the plots drawn from them;
``glassnet train`` adds ``receipt.json`` (`receipt`), ``checkpoints/epoch-NNNN.ckpt`` (`branches`)
and, with ``--map``, the learning map's files (`map`).

A run directory is complete or absent: it is written as a hidden sibling
``.<name>.partial-<pid>`` (claimed before training, so an unwritable place is found at once)
and renamed into place only when every file is written.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

import glassnet as gn
from glassnet import io, plot

from .application import STATE, UserError, printable
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


def claim_run(run: Path) -> Path:
    """Create the hidden sibling a run is written into; refuse a run folder already in use."""
    if run.exists() and not (run.is_dir() and not any(run.iterdir())):
        raise UserError(
            f"--out {printable(run)} already exists and is not an empty folder; choose a new name "
            "so no earlier run is overwritten."
        )
    partial = run.parent / f".{run.name}.partial-{os.getpid()}"
    try:
        partial.mkdir(parents=True, exist_ok=True)
        probe = partial / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"Cannot write the run to {printable(run.parent)}: "
            f"{(error.strerror or 'error').lower()}. Choose another --out."
        ) from None
    return partial


def finish_run(partial: Path, run: Path) -> None:
    """Move a fully written run into place (an empty folder at ``run`` is replaced)."""
    if run.is_dir() and not any(run.iterdir()):
        run.rmdir()
    run.parent.mkdir(parents=True, exist_ok=True)
    partial.rename(run)


def abandon_run(partial: Path) -> None:
    """Remove a run that failed before it was complete."""
    shutil.rmtree(partial, ignore_errors=True)


def what_ran(
    options: dict[str, Any],
    data: Data,
    source: str | None,
    optimizer: Any,
    learning_rate: float,
    epochs_done: int,
) -> dict[str, Any]:
    """The settings that actually applied to this run, for ``config.json``."""
    ran = {k: v for k, v in options.items() if v is not None and k not in ("config", "out")}
    ran["data"] = data.name if source is None else source
    ran["optimizer"] = type(optimizer).__name__.lower()
    ran["learning_rate"] = learning_rate
    ran["epochs_requested"] = options["epochs"]
    ran["epochs"] = epochs_done
    if ran["optimizer"] != "sgd":
        ran.pop("momentum", None)
    kind = data.preprocessing.get("kind")
    not_for = {
        "image": ("target", "features"),
        "table": ("image_size", "color", "digits"),
    }.get(kind or "", ())
    if kind == "image" and source in (None, "mnist", "fashion-mnist"):
        not_for = (*not_for, "image_size", "color", "digits")
    elif kind == "image":  # a folder: whether its images were prepared as MNIST digits
        ran["digits"] = bool(data.preprocessing.get("mnist_centering"))
        if ran["digits"]:
            not_for = (*not_for, "image_size")  # digits are 28x28, whatever --image-size says
    for key in not_for:
        ran.pop(key, None)
    if not options.get("early_stopping"):
        ran.pop("early_stopping", None)
    return ran


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
