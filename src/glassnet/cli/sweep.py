"""``glassnet sweep``: train every combination of a grid of settings, ranked by validation score.

    glassnet sweep base.toml --grid "learning_rate=1e-3,1e-2" --grid "hidden=16,64"

Each combination is one ``glassnet train`` run (the TOML file's settings, then the combination's)
with its own run directory inside the sweep directory. They run on local worker processes
(joblib), or on the workers of a Dask cluster given ``--scheduler tcp://HOST:8786``; the workers
must see the same files (data, sweep directory). The sweep directory gets ``summary.csv``,
``summary.json`` and ``summary.png``, the runs ranked by validation accuracy (regression: by
validation loss, lowest first).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from glassnet.distributed import expand_grid, parse_grid, run_sweep

from .application import STATE, UserError, guarded
from .options import TRAIN_DEFAULTS, read_config
from .train import run_training

# Settings a grid may not vary: each run's directory and the data are the sweep's own.
FIXED = ("out", "data_dir")


@guarded
def sweep(
    config: Annotated[
        str, typer.Argument(help="TOML file of 'glassnet train' settings shared by every run.")
    ],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", help='NAME=VALUE,VALUE,... e.g. "learning_rate=1e-3,1e-2"; repeatable.'
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="A Dask scheduler address (tcp://HOST:8786). Default: local processes."),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(help="Local worker processes (default: one per core).")
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="Sweep directory (default sweeps/<time>).")
    ] = None,
) -> None:
    """Train every combination of --grid values; rank the runs by validation score."""
    base = {**TRAIN_DEFAULTS, **read_config(config)}
    settings = parse_grid(grid or [])
    unknown = sorted(set(settings) - set(TRAIN_DEFAULTS))
    if unknown:
        raise UserError(
            f"--grid names unknown settings {unknown}; known: {sorted(TRAIN_DEFAULTS)}."
        )
    fixed = sorted(set(settings) & set(FIXED))
    if fixed:
        raise UserError(f"--grid cannot vary {fixed}: every run of a sweep shares them.")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be a positive number of processes, got {jobs}.")
    combinations = expand_grid(settings)
    splits = {float(c.get("validation_split", base["validation_split"]) or 0) for c in combinations}
    if min(splits) <= 0:
        raise UserError("A sweep ranks runs by validation score: --validation-split must be > 0.")
    folder = Path(out or f"sweeps/{datetime.now():%Y%m%d-%H%M%S}")
    folder.mkdir(parents=True, exist_ok=True)
    runs = [
        {**base, **combination, "out": str(folder / run_name(i, combination))}
        for i, combination in enumerate(combinations)
    ]
    where = scheduler or f"{jobs or 'all'} local processes"
    STATE.say(f"Sweep: {len(runs)} runs of {config} on {where} → {folder}")
    summaries = run_sweep(train_one, [(options,) for options in runs], scheduler, jobs)
    rows = ranked(combinations, summaries)
    write_summary(folder, list(settings), rows)
    if STATE.json:
        for row in rows:
            STATE.emit({"event": "run", **row})
        STATE.emit({"event": "done", "runs": len(rows), "sweep": str(folder)})
        return
    show_summary(list(settings), rows)
    STATE.console.print(f"best: {rows[0]['run']}  →  {folder / 'summary.csv'}")


def run_name(index: int, combination: dict[str, Any]) -> str:
    """``run-03-learning_rate=0.01-hidden=64``: sortable and readable."""
    parts = [
        f"{name}={value}".replace("/", "_").replace(",", "_") for name, value in combination.items()
    ]
    return "-".join([f"run-{index:02d}", *parts])


def train_one(options: dict[str, Any]) -> dict[str, Any]:
    """One run of the sweep, in a worker process: `run_training` without printing."""
    STATE.quiet, STATE.json = True, False
    summary, _, _ = run_training(options)
    return summary


def score_of(summary: dict[str, Any]) -> tuple[str, float]:
    """The validation score runs are ranked by (higher is better): accuracy, else −loss."""
    validation = summary.get("validation", {})
    if "val_accuracy" in validation:
        return "val_accuracy", float(validation["val_accuracy"])
    return "val_loss", float(validation.get("val_loss", float("inf")))


def ranked(
    combinations: list[dict[str, Any]], summaries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per run, best validation score first."""
    rows = []
    for combination, summary in zip(combinations, summaries, strict=True):
        metric, value = score_of(summary)
        test = summary.get("test", {})
        rows.append(
            {
                **combination,
                metric: value,
                **{f"test_{k}": v for k, v in test.items()},
                "seconds": summary["seconds"],
                "run": summary["run"],
            }
        )
    metric = score_of(summaries[0])[0]
    sign = -1.0 if metric == "val_accuracy" else 1.0
    return sorted(rows, key=lambda row: sign * row[metric])


def write_summary(folder: Path, names: list[str], rows: list[dict[str, Any]]) -> None:
    """``summary.csv`` and ``summary.json`` (ranked), and ``summary.png`` where matplotlib is."""
    (folder / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    keys = list(dict.fromkeys(key for row in rows for key in row))
    with open(folder / "summary.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["rank", *keys])
        writer.writeheader()
        for rank, row in enumerate(rows, start=1):
            writer.writerow({"rank": rank, **row})
    try:
        # Lazy: matplotlib is the optional plot extra and slow to import.
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return
    metric = next(key for key in rows[0] if key.startswith("val_"))
    labels = [", ".join(f"{n}={row[n]}" for n in names) for row in rows]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    ax.barh(range(len(rows)), [row[metric] for row in rows], color="tab:blue")
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()  # the best run on top
    ax.set_xlabel(metric)
    ax.set_title("sweep, ranked by validation score")
    fig.savefig(folder / "summary.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def show_summary(names: list[str], rows: list[dict[str, Any]]) -> None:
    metric = next(key for key in rows[0] if key.startswith("val_"))
    tests = [key for key in ("test_accuracy", "test_r2") if key in rows[0]]
    test_key = tests[0] if tests else None
    table = Table(title="sweep, best first")
    for column in ["#", *names, metric, *([test_key] if test_key else []), "seconds", "run"]:
        table.add_column(column)
    for rank, row in enumerate(rows, start=1):
        cells = [str(rank), *(str(row[n]) for n in names), f"{row[metric]:.4f}"]
        if test_key:
            cells.append(f"{row[test_key]:.4f}")
        table.add_row(*cells, f"{row['seconds']:.1f}", Path(row["run"]).name)
    STATE.console.print(table)
