"""``glassnet verify``: retrain a run from its receipt and say whether the weights are identical.

The data is loaded as the receipt says and checked against its SHA-256 first (a mismatch is an
error: nothing is retrained). Then every segment of the run is retrained in memory (nothing is
written) and the SHA-256 of the weights compared. When they differ, the report names what
differs from the receipt's environment (versions, BLAS, thread count) and by how much the
weights differ from the run's model file. Exit status: 0 identical, 1 different (or an error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from glassnet import io

from .application import STATE, UserError, guarded
from .branches import load_training_data, replay
from .receipt import array_sha256, environment, read_receipt, weights_sha256
from .runs import MODEL_FILE


def environment_differences(receipt: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between the receipt's software and this machine's, one phrase each."""
    found = []
    for key in ("glassnet", "python", "numpy"):
        if receipt.get(key) != now[key]:
            found.append(f"{key} {receipt.get(key)} → {now[key]}")
    if "numba" in receipt and receipt["numba"] != now["numba"]:  # receipts since --kernel
        found.append(
            f"numba {receipt['numba'] or 'not installed'} → {now['numba'] or 'not installed'}"
        )
    before, blas = receipt.get("blas") or {}, now["blas"]
    for key, label in (("name", "BLAS"), ("version", "BLAS version"), ("threads", "threads")):
        if before.get(key) != blas[key]:
            found.append(f"{label} {before.get(key)} → {blas[key]}")
    return found


@guarded
def verify(
    run: Annotated[str, typer.Argument(help="A run directory written by 'glassnet train'.")],
) -> None:
    """Retrain a run from its receipt.json and report 'identical' or what differs."""
    run_dir = Path(run)
    receipt = read_receipt(run_dir)
    segments = receipt["segments"]
    options = segments[0]["options"]
    try:
        dataset = load_training_data(options)
    except UserError as error:
        raise UserError(f"The receipt's data cannot be loaded: {error}") from None
    data_sha256 = array_sha256(dataset.X_train, dataset.y_train)
    expected = receipt["data"]["train_sha256"]
    if data_sha256 != expected:
        raise UserError(
            f"The data no longer matches the receipt: {options['data']!r} now has SHA-256 "
            f"{data_sha256[:16]}… ({len(dataset.X_train)} samples); the receipt says "
            f"{expected[:16]}… ({receipt['data'].get('train_samples')} samples). Nothing was "
            "retrained."
        )
    differences = environment_differences(receipt, environment())
    STATE.say(f"Retraining {run_dir} ({len(segments)} segment(s), {len(dataset.X_train)} samples)")
    model = replay(segments, dataset)
    identical = weights_sha256(model) == receipt["weights_sha256"]
    max_difference = None
    if not identical and (run_dir / MODEL_FILE).is_file():
        saved = io.load(run_dir / MODEL_FILE).get_weights()
        if saved.shape == model.get_weights().shape:
            delta = np.abs(model.get_weights().astype(np.float64) - saved)
            max_difference = float(delta.max(initial=0.0))
    if STATE.json:
        STATE.emit(
            {
                "event": "verify",
                "identical": identical,
                "environment_differences": differences,
                "max_weight_difference": max_difference,
            }
        )
    elif identical:
        print("identical" + (f" (despite: {'; '.join(differences)})" if differences else ""))
    else:
        amount = (
            f"largest weight difference {max_difference:.3g}"
            if max_difference is not None
            else "the saved model cannot be compared"
        )
        cause = "; ".join(differences) if differences else "nothing in the receipt's environment"
        print(f"different: the weights' SHA-256 does not match ({amount}); differs: {cause}")
    if not identical:
        raise typer.Exit(1)
