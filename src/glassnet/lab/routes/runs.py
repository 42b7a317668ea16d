"""``GET /api/runs``: the run directories ``glassnet train`` wrote, their branches and maps.

=====================================  =========================================================
GET /api/runs                          every run in the runs directory: epochs, final metrics,
                                       the run it branched from and at which epoch, has a map
GET /api/runs/{run}/map                the learning map: per example confidence, variability,
                                       correctness, label and prediction (`MAX_POINTS` at most:
                                       the hardest `HARDEST` and an even sample of the others)
GET /api/runs/{run}/examples/{index}   one training example: its statistics, rank, and its
                                       pixels if the run kept them (the hardest ones)
=====================================  =========================================================

Runs are read only directly inside the runs directory, by plain names; nothing is written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

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


async def get_example(request: Request) -> Response:
    path = run_path(runs_dir_of(request), request.path_params["run"])
    stats = read_map(path)
    text = request.path_params["index"]
    if not text.isdigit() or int(text) >= len(stats.ranking):
        raise LabError(
            404, f"No example {text!r}: run {path.name!r} has {len(stats.ranking)} (0 to n−1)."
        )
    index = int(text)
    rank = int(np.flatnonzero(stats.ranking == index)[0])
    pixels = None
    try:
        with np.load(path / EXAMPLES_FILE, allow_pickle=False) as file:
            kept = np.flatnonzero(file["index"] == index)
            if kept.size:
                pixels = np.round(file["X"][kept[0]].astype(np.float64), 4).tolist()
    except (OSError, KeyError, ValueError):
        pixels = None
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
            "pixels": pixels,
            "image_shape": shape,
        }
    )
