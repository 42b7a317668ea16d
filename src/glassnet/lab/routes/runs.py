"""``GET /api/runs``: the run directories ``glassnet train`` wrote, their branches and maps.

=====================================  =========================================================
GET /api/runs                          every run in the runs directory: epochs, final metrics,
                                       the run it branched from and at which epoch, has a map
GET /api/runs/{run}/map                the learning map: per example confidence, variability,
                                       correctness, label and prediction (`MAX_POINTS` at most:
                                       the hardest `HARDEST` and an even sample of the others)
GET /api/runs/{run}/examples/{index}   one training example: its statistics, rank and pixels;
                                       ``?by=rank``: the example ranked ``{index}`` (0: hardest)
=====================================  =========================================================

Pixels of any example: the run keeps those of its 200 hardest (``glassnet train --map``); the
others are read back from the run's training data — a named data set (MNIST, Fashion-MNIST)
from disk, read once per process and checked against the kept rows; an image folder's file
through the model's own preprocessing. Where neither works (a CSV table, data moved or
changed), ``pixels`` is null and ``pixels_note`` says why.

Runs are read only directly inside the runs directory, by plain names; nothing is written.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from ... import datasets
from ...errors import DataError
from ...io import read_metadata
from ...train.cartography import MapStatistics, load_map
from ..replies import LabError, respond

RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAP_FILE, EXAMPLES_FILE = "map.npz", "map_examples.npz"  # as `glassnet train --map` writes
MAX_POINTS, HARDEST = 5000, 1000


def runs_dir_of(request: Request) -> Path:
    return request.app.state.runs_dir


def run_path(runs_dir: Path, name: str) -> Path:
    """``<runs_dir>/<name>`` for a plain name of an existing run; a 4xx for anything else."""
    if not RUN_NAME.fullmatch(name) or ".." in name:
        raise LabError(400, f"Invalid run name {name!r}: a plain directory name is expected.")
    path = runs_dir / name
    if not (path / "history.json").is_file() or path.resolve().parent != runs_dir.resolve():
        raise LabError(404, f"No run {name!r} in {runs_dir}.")
    return path


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def describe_run(path: Path) -> dict[str, Any]:
    history = _json(path / "history.json")
    history = history if isinstance(history, dict) else {}
    receipt = _json(path / "receipt.json")
    parent = None
    if isinstance(receipt, dict) and isinstance(receipt.get("segments"), list):
        last = receipt["segments"][-1] if receipt["segments"] else None
        parent = last.get("parent") if isinstance(last, dict) else None
    final = {
        key: values[-1]
        for key, values in history.items()
        if key != "epoch" and isinstance(values, list) and values
    }
    return {
        "name": path.name,
        "epochs": len(history.get("loss", []) or []),
        "final": final,
        "parent": Path(parent["run"]).name if isinstance(parent, dict) else None,
        "branched_at": parent.get("epoch") if isinstance(parent, dict) else None,
        "has_map": (path / MAP_FILE).is_file(),
        "has_receipt": isinstance(receipt, dict),
    }


async def list_runs(request: Request) -> Response:
    runs_dir = runs_dir_of(request)
    found = []
    if runs_dir.is_dir():
        for path in sorted(runs_dir.iterdir()):
            if (
                path.is_dir()
                and (path / "history.json").is_file()
                and RUN_NAME.fullmatch(path.name)
            ):
                found.append(describe_run(path))
    return respond({"runs_dir": str(runs_dir), "runs": found})


def read_map(path: Path) -> MapStatistics:
    if not (path / MAP_FILE).is_file():
        raise LabError(404, f"Run {path.name!r} has no learning map: train it with --map.")
    try:
        return load_map(path / MAP_FILE)
    except DataError as error:
        raise LabError(422, str(error)) from None


def description(path: Path, n: int) -> tuple[list[str], list[int] | None]:
    """The run's class names (else the ids) and its grayscale image shape, if any."""
    try:
        metadata = read_metadata(path / "model.glassnet")
    except (OSError, ValueError):
        metadata = {}
    names = metadata.get("class_names")
    preprocessing = metadata.get("preprocessing") or {}
    shape = None
    if preprocessing.get("kind") == "image" and preprocessing.get("color") == "grayscale":
        shape = [int(size) for size in preprocessing["image_size"]]
    return ([str(name) for name in names] if names else [str(k) for k in range(n)]), shape


async def get_map(request: Request) -> Response:
    path = run_path(runs_dir_of(request), request.path_params["run"])
    stats = read_map(path)
    n = len(stats.ranking)
    rest = stats.ranking[HARDEST:]
    step = max(1, -(-len(rest) // (MAX_POINTS - HARDEST)))
    shown = np.concatenate([stats.ranking[:HARDEST], np.sort(rest[::step])])
    rank = np.empty(n, np.int64)
    rank[stats.ranking] = np.arange(n)
    n_classes = int(max(stats.labels.max(initial=0), stats.predicted.max(initial=0))) + 1
    return respond(
        {
            "run": path.name,
            "examples": n,
            "shown": len(shown),
            "class_names": description(path, n_classes)[0],
            "index": shown.tolist(),
            "rank": rank[shown].tolist(),
            "confidence": np.round(stats.confidence[shown], 4).tolist(),
            "variability": np.round(stats.variability[shown], 4).tolist(),
            "correctness": np.round(stats.correctness[shown], 3).tolist(),
            "label": stats.labels[shown].tolist(),
            "predicted": stats.predicted[shown].tolist(),
        }
    )


@functools.lru_cache(maxsize=2)
def named_training_rows(name: str, data_dir: str | None) -> np.ndarray:
    """The training images of a named data set as flat rows in [0, 1]: (n, h·w) float32.

    Read once per process (Fashion-MNIST: 0.19 GB), from disk only: the lab never downloads.
    """
    return datasets.load(name, "train", data_dir=data_dir, download=False).X


def example_pixels(path: Path, index: int) -> tuple[np.ndarray | None, str | None]:
    """The input of training example ``index`` of run ``path`` as a flat row, or None and why."""
    try:
        with np.load(path / EXAMPLES_FILE, allow_pickle=False) as file:
            kept_index, kept_X = file["index"], file["X"]
    except (OSError, KeyError, ValueError):
        kept_index, kept_X = np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    kept_X = kept_X.reshape(len(kept_index), -1)  # a CNN's (n, C, H, W) kept as rows
    found = np.flatnonzero(kept_index == index)
    if found.size:
        return kept_X[found[0]], None
    config = _json(path / "config.json")
    config = config if isinstance(config, dict) else {}
    source = config.get("data")
    if source in ("mnist", "fashion-mnist"):
        data_dir = config.get("data_dir")
        try:
            rows = named_training_rows(str(source), str(data_dir) if data_dir else None)
        except (OSError, ValueError) as error:
            return None, f"the {source} training data cannot be read here ({error})"
        # the data read now must be what the run trained on: compare the rows it kept
        if (
            index >= len(rows)
            or kept_index.size
            and (
                kept_index.max() >= len(rows)
                or kept_X.shape[1] != rows.shape[1]
                or not np.array_equal(rows[kept_index], kept_X)
            )
        ):
            return None, f"the {source} training data here is not what the run trained on"
        return rows[index], None
    paths = _json(path / "map_paths.json")
    if isinstance(paths, list) and index < len(paths) and isinstance(paths[index], str):
        try:
            preprocessing = read_metadata(path / "model.glassnet").get("preprocessing") or {}
            image = datasets.load_image(paths[index])
            return datasets.prepare_images(preprocessing, [image])[0], None
        except (OSError, ValueError) as error:
            return None, f"the image file {paths[index]} cannot be read ({error})"
    return None, "the run keeps the inputs of its hardest examples only, and its data is no image"


async def get_example(request: Request) -> Response:
    path = run_path(runs_dir_of(request), request.path_params["run"])
    stats = read_map(path)
    text = request.path_params["index"]
    by_rank = request.query_params.get("by", "index")
    if by_rank not in ("index", "rank"):
        raise LabError(400, f"by must be 'index' or 'rank', got {by_rank!r}.")
    what = "example" if by_rank == "index" else "rank"
    if not text.isdigit() or int(text) >= len(stats.ranking):
        raise LabError(
            404,
            f"No {what} {text!r}: run {path.name!r} has {len(stats.ranking)} examples (0 to n−1).",
        )
    if by_rank == "rank":
        rank, index = int(text), int(stats.ranking[int(text)])
    else:
        index = int(text)
        rank = int(np.flatnonzero(stats.ranking == index)[0])
    pixels, note = example_pixels(path, index)
    n_classes = int(max(stats.labels.max(initial=0), stats.predicted.max(initial=0))) + 1
    names, shape = description(path, n_classes)
    return respond(
        {
            "index": index,
            "rank": rank,
            "label": names[stats.labels[index]],
            "predicted": names[stats.predicted[index]],
            "confidence": float(stats.confidence[index]),
            "variability": float(stats.variability[index]),
            "correctness": float(stats.correctness[index]),
            "pixels": None if pixels is None else np.round(pixels.astype(np.float64), 4).tolist(),
            "pixels_note": note,
            "image_shape": shape,
        }
    )
