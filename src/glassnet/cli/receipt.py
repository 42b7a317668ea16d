"""``receipt.json``: what a run needs to be reproduced, and what could make a rerun differ.

A receipt holds the software (glassnet, Python, NumPy, the BLAS library and its thread count),
the SHA-256 of the training data as loaded, every segment of the run (the settings it was trained
with; a branch adds a segment per branching, each with the epoch it left its parent at), the seed,
and the SHA-256 of the final weights. ``glassnet verify`` retrains from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import glassnet as gn

from .application import UserError

RECEIPT_FILE = "receipt.json"
RECEIPT_FORMAT = "glassnet-receipt"


def blas_info() -> dict[str, Any]:
    """The BLAS NumPy calls and its thread count: threadpoolctl's report if installed."""
    try:
        # NOTE: imported here, not at the top: optional, and it inspects loaded libraries
        from threadpoolctl import threadpool_info
    except ImportError:
        return _blas_from_numpy()
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if not pools:
        return _blas_from_numpy()
    # numba loads SciPy, which brings a BLAS of its own: the one to record is NumPy's
    numpys = [pool for pool in pools if "numpy" in str(pool.get("filepath", ""))]
    pool = (numpys or pools)[0]
    return {
        "name": str(pool.get("internal_api")),
        "version": str(pool.get("version")),
        "threads": int(pool.get("num_threads") or 0),
        "source": "threadpoolctl",
    }


def _blas_from_numpy() -> dict[str, Any]:
    name, version = "unknown", "unknown"
    try:
        config = np.show_config(mode="dicts")  # type: ignore[call-arg]
        blas = config["Build Dependencies"]["blas"]
        name, version = str(blas.get("name")), str(blas.get("version"))
    except (TypeError, KeyError, AttributeError):  # NumPy < 1.25 has no mode="dicts"
        pass
    threads = 0
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(variable, "").isdigit():
            threads = int(os.environ[variable])
            break
    return {
        "name": name,
        "version": version,
        "threads": threads or os.cpu_count() or 0,
        "source": "numpy config",
    }


def numba_version() -> str | None:
    """numba's version, or None when it is not installed (read without importing numba)."""
    try:
        return metadata.version("numba")
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """The software a rerun must match to give bit-identical weights."""
    return {
        "glassnet": gn.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        # the compiled kernels (fit's kernel="auto" takes them when numba is installed)
        "numba": numba_version(),
        "blas": blas_info(),
        "platform": platform.platform(),
    }


def array_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes (C order), so any change shows."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data.cast("B"))
    return digest.hexdigest()


def weights_sha256(model: gn.Sequential) -> str:
    return array_sha256(model.get_weights())


def write_receipt(
    run: Path,
    data_sha256: str,
    n_samples: int,
    segments: list[dict[str, Any]],
    model: gn.Sequential,
    epochs_run: int,
) -> dict[str, Any]:
    """Write ``run/receipt.json``; ``segments``: ``{"options", "parent"}`` each."""
    # where the run was written does not shape it (and differs between a run and its branches)
    segments = [
        {**segment, "options": {k: v for k, v in segment["options"].items() if k != "out"}}
        for segment in segments
    ]
    receipt = {
        "format": RECEIPT_FORMAT,
        "version": 1,
        **environment(),
        "data": {"train_sha256": data_sha256, "train_samples": n_samples},
        "seed": segments[-1]["options"].get("seed"),
        "segments": segments,
        "config": segments[-1]["options"],
        "epochs_run": epochs_run,
        "weights_sha256": weights_sha256(model),
    }
    (run / RECEIPT_FILE).write_text(json.dumps(receipt, indent=2) + "\n")
    return receipt


def read_receipt(run: Path) -> dict[str, Any]:
    """The receipt of a run directory, checked enough to retrain from; else a `UserError`."""
    path = run / RECEIPT_FILE
    if not run.is_dir():
        raise UserError(f"No run directory at {run}. Train one with 'glassnet train --out {run}'.")
    if not path.is_file():
        raise UserError(
            f"{run} has no {RECEIPT_FILE}: it was not written by this version of 'glassnet train'."
        )
    try:
        receipt = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is damaged (not JSON: {error}).") from None
    ok = (
        isinstance(receipt, dict)
        and receipt.get("format") == RECEIPT_FORMAT
        and isinstance(receipt.get("segments"), list)
        and receipt["segments"]
        and all(
            isinstance(s, dict) and isinstance(s.get("options"), dict) for s in receipt["segments"]
        )
        and isinstance(receipt.get("data"), dict)
        and isinstance(receipt["data"].get("train_sha256"), str)
        and isinstance(receipt.get("weights_sha256"), str)
    )
    if not ok:
        raise UserError(
            f"{path} is damaged: expected a {RECEIPT_FORMAT} document with segments, data and "
            "weights_sha256."
        )
    return receipt
