"""``glassnet compare``: overlay the curves of runs and branches, with a table of final metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from glassnet import plot

from .application import STATE, UserError, guarded


def read_run(path: Path) -> dict[str, Any]:
    """A run's name, history, test metrics and where it branched (from its receipt)."""
    history_file = path / "history.json"
    if not history_file.is_file():
        raise UserError(f"{path} is not a run directory: it has no history.json.")
    try:
        history = json.loads(history_file.read_text())
        metrics_file = path / "metrics.json"
        scores = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        receipt_file = path / "receipt.json"
        receipt = json.loads(receipt_file.read_text()) if receipt_file.is_file() else {}
    except (ValueError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is damaged (a JSON file does not parse: {error}).") from None
    if not isinstance(history, dict) or not isinstance(history.get("loss"), list):
        raise UserError(f"{path}/history.json is damaged: expected per-epoch lists.")
    parent = None
    segments = receipt.get("segments") if isinstance(receipt, dict) else None
    if isinstance(segments, list) and segments and isinstance(segments[-1], dict):
        parent = segments[-1].get("parent")
    return {
        "name": path.name,
        "history": history,
        "scores": scores if isinstance(scores, dict) else {},
        "branched_at": parent.get("epoch") if isinstance(parent, dict) else None,
        "parent": Path(parent["run"]).name if isinstance(parent, dict) else None,
    }


@guarded
def compare(
    runs: Annotated[list[str], typer.Argument(help="Run directories (a run and its branches).")],
    out: Annotated[str, typer.Option(help="The PNG to write.")] = "compare.png",
) -> None:
    """Overlay the loss and accuracy curves of runs, marking where each branch left its parent."""
    found = [read_run(Path(run)) for run in runs]  # all checked before anything is written
    metrics = ["loss"] + (["accuracy"] if all("accuracy" in r["history"] for r in found) else [])
    plt = plot._pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(7 * len(metrics), 4.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        plot.plot_runs(ax, found, metric)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    keys = ["loss", "val_loss", "accuracy", "val_accuracy"]
    rows = []
    for run in found:
        history = run["history"]
        row = {
            "run": run["name"],
            "branch of": (f"{run['parent']} @ {run['branched_at']}" if run["parent"] else "-"),
            "epochs": len(history.get("loss", [])),
        }
        for key in keys:
            if history.get(key):
                row[key] = history[key][-1]
        for key in ("accuracy", "r2"):
            if isinstance(run["scores"].get(key), float):
                row[f"test_{key}"] = run["scores"][key]
        rows.append(row)
    if STATE.json:
        STATE.emit({"event": "compare", "plot": out, "runs": rows})
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = Table(title="final metrics")
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "branch of") else "right")
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        table.add_row(*(f"{c:.4f}" if isinstance(c, float) else str(c) for c in cells))
    STATE.console.print(table)
    print(out)
