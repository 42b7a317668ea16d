"""``glassnet map``: (re)draw a run's learning map; and what ``glassnet train --map`` writes.

A run trained with ``--map`` holds ``map.npz`` (the `LearningMap`: p(label) per example and
epoch), ``map_examples.npz`` (the inputs of the `KEPT_EXAMPLES` hardest examples, for pictures
and the lab), and the files drawn from them: ``map.png`` (confidence against variability,
coloured by correctness), ``hard.csv`` (every training example, hardest first) and ``hard.png``
(the hardest images with their given and predicted labels).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from glassnet import io, plot
from glassnet.errors import DataError
from glassnet.train.cartography import LearningMap, MapStatistics, load_map

from .application import STATE, UserError, guarded
from .data import Data

MAP_FILE = "map.npz"
EXAMPLES_FILE = "map_examples.npz"
KEPT_EXAMPLES = 200  # inputs kept for pictures: 200 × 784 float32 = 0.6 MB for MNIST
GRID = 32  # pictures in hard.png


def write_map(run: Path, stats: MapStatistics, dataset: Data, recorder: LearningMap) -> None:
    """Save the map, the hardest examples' inputs and paths, then draw the map's files."""
    recorder.save(run / MAP_FILE)
    hardest = stats.ranking[:KEPT_EXAMPLES]
    paths = np.array(
        [dataset.train_paths[i] for i in hardest] if dataset.train_paths else [], dtype=str
    )
    with open(run / EXAMPLES_FILE, "wb") as file:
        np.savez(file, index=hardest, X=dataset.X_train[hardest], paths=paths)
    if dataset.train_paths:
        # every row's file, for hard.csv (a text list: the names are the user's)
        (run / "map_paths.json").write_text(json.dumps(dataset.train_paths) + "\n")
    draw_map(run)


def read_run_map(run: Path) -> tuple[MapStatistics, dict[str, np.ndarray]]:
    """The statistics and the kept examples of a run's map."""
    if not run.is_dir():
        raise UserError(f"No run directory at {run}.")
    if not (run / MAP_FILE).is_file():
        raise UserError(f"{run} has no learning map: train it with 'glassnet train --map'.")
    try:
        stats = load_map(run / MAP_FILE)
        with np.load(run / EXAMPLES_FILE, allow_pickle=False) as file:
            examples = {key: file[key] for key in ("index", "X", "paths")}
    except (OSError, KeyError, ValueError) as error:
        if isinstance(error, DataError):
            raise UserError(str(error)) from None
        raise UserError(f"{run}'s learning map is damaged or incomplete ({error}).") from None
    return stats, examples


def run_description(run: Path, n_classes: int) -> tuple[list[str], tuple[int, int] | None]:
    """The run's class names (else the class ids) and its grayscale image shape, if any."""
    try:
        metadata = io.read_metadata(run / "model.glassnet")
    except (OSError, ValueError):
        metadata = {}
    names = metadata.get("class_names")
    preprocessing = metadata.get("preprocessing") or {}
    shape = None
    if preprocessing.get("kind") == "image" and preprocessing.get("color") == "grayscale":
        height, width = preprocessing["image_size"]
        shape = (int(height), int(width))
    labels = [str(n) for n in names] if names else [str(k) for k in range(n_classes)]
    return labels, shape


def draw_map(run: Path) -> list[Path]:
    """Write ``map.png``, ``hard.csv`` and (for grayscale images) ``hard.png``; return them."""
    stats, examples = read_run_map(run)
    n_classes = int(max(stats.labels.max(initial=0), stats.predicted.max(initial=0))) + 1
    names, shape = run_description(run, n_classes)
    paths_file = run / "map_paths.json"
    paths = json.loads(paths_file.read_text()) if paths_file.is_file() else None
    written = [run / "hard.csv"]
    with open(run / "hard.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["rank", "index", "label", "predicted", "confidence", "variability", "correctness"]
            + ["score"]
            + (["path"] if paths else [])
        )
        for rank, i in enumerate(stats.ranking):
            row = [
                rank + 1,
                int(i),
                names[stats.labels[i]],
                names[stats.predicted[i]],
                f"{stats.confidence[i]:.4f}",
                f"{stats.variability[i]:.4f}",
                f"{stats.correctness[i]:.3f}",
                f"{stats.score[i]:.4f}",
            ]
            writer.writerow(row + ([paths[i]] if paths else []))
    plt = plot._pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    plot.plot_learning_map(ax, stats)
    fig.savefig(run / "map.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(run / "map.png")
    if shape is not None and examples["X"][0].size == shape[0] * shape[1]:
        count = min(GRID, len(examples["index"]))
        index = examples["index"][:count]
        captions = [
            f"#{i}\ngiven {names[stats.labels[i]]}\npred. {names[stats.predicted[i]]}"
            for i in index
        ]
        columns = min(8, count)
        rows = -(-count // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 2.0 * rows))
        plot.plot_image_grid(axes, examples["X"][:count], shape, captions)
        fig.suptitle("the hardest examples (the ranking of hard.csv): given and predicted labels")
        fig.savefig(run / "hard.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(run / "hard.png")
    return written


@guarded
def map_run(
    run: Annotated[str, typer.Argument(help="A run directory trained with --map.")],
) -> None:
    """Draw a run's learning map again: map.png, hard.csv and hard.png."""
    written = draw_map(Path(run))
    if STATE.json:
        STATE.emit({"event": "map", "files": [str(p) for p in written]})
        return
    for path in written:
        print(path)
