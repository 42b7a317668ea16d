"""``glassnet train``: train a network and write a run directory with everything about it."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

import glassnet as gn
from glassnet import datasets
from glassnet.distributed import MPICommunicator, launched_world_size

from .application import STATE, UserError, guarded, plain
from .building import build_model, make_optimizer, make_schedule
from .data import Data, load_data
from .options import DEFAULT_OPTIMIZER, TRAIN_DEFAULTS, check_options, read_config
from .progress import JsonLines, ProgressBar
from .runs import abandon_run, claim_run, finish_run, what_ran, write_run
from .scores import evaluate_model, show_scores
from .watch import GettingWorse, starting_loss


@guarded
def train(
    data: Annotated[
        str | None,
        typer.Argument(
            help="mnist (default), fashion-mnist, a CSV file or a folder of class sub-folders."
        ),
    ] = None,
    arch: Annotated[str | None, typer.Option(help="Layer sizes, e.g. 784-16-16-10.")] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden sizes, e.g. 16,16 (default).")] = None,
    activation: Annotated[
        str | None,
        typer.Option(help="Hidden activation: sigmoid (default), tanh, relu, leaky_relu."),
    ] = None,
    loss: Annotated[str | None, typer.Option(help="Default: the one paired with the output.")] = (
        None
    ),
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="sgd, adam, adamw, rmsprop. Default: sgd for sigmoid/tanh, adam for relu."
        ),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option("--learning-rate", "--lr", help="Default: 0.1 (sgd, sigmoid), 0.001 (adam)."),
    ] = None,
    momentum: Annotated[float | None, typer.Option(help="SGD momentum (default 0.9).")] = None,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="cosine (default: a warm-up epoch, then down to 0), constant, step or "
            "exponential; per epoch."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Default 10.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Default 32.")] = None,
    validation_split: Annotated[
        float | None,
        typer.Option(help="Fraction of training data held out for validation (default 0.1)."),
    ] = None,
    early_stopping: Annotated[
        int | None,
        typer.Option(help="Stop after this many epochs without a better validation loss (0: off)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0).")] = None,
    target: Annotated[str | None, typer.Option(help="CSV: the column to predict.")] = None,
    features: Annotated[
        str | None,
        typer.Option(help="CSV: the columns to learn from, e.g. age,city (default: all others)."),
    ] = None,
    image_size: Annotated[
        str | None, typer.Option(help="Image folders: HEIGHTxWIDTH (default 64x64).")
    ] = None,
    color: Annotated[str | None, typer.Option(help="Image folders: grayscale or rgb.")] = None,
    limit: Annotated[int | None, typer.Option(help="Train on the first N samples only.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Look for data sets here first.")] = None,
    out: Annotated[
        str | None, typer.Option(help="Run directory (default runs/<data>-<time>).")
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="TOML file with any of these options; flags override it.")
    ] = None,
) -> None:
    """Train a network and write a run directory: model, config, history, metrics and plots.

    Under ``mpiexec -n N`` (N > 1) the ranks train one model data-parallel: each computes the
    gradient of its share of every global batch of --batch-size samples; rank 0 alone prints
    and writes the run directory.
    """
    given = {k: v for k, v in locals().items() if k in TRAIN_DEFAULTS and v is not None}
    options = {**TRAIN_DEFAULTS, **read_config(config), **given}
    check_options(options)
    communicator = MPICommunicator() if launched_world_size() > 1 else None
    if communicator is not None and communicator.rank != 0:
        STATE.quiet, STATE.json = True, False  # rank 0 alone prints
        try:
            run_training(options, communicator)
        except Exception:
            # Every rank stops together (see glassnet.distributed.mpi); rank 0 says why.
            raise typer.Exit(1) from None
        return
    summary, scores, class_names = run_training(options, communicator)
    if STATE.json:
        STATE.emit(summary)
        return
    if summary.get("warning"):
        STATE.error_console.print(plain(summary["warning"]))
    show_scores(scores, class_names, title=f"Test set: {summary['test_samples']:,} samples")
    key = "accuracy" if "accuracy" in scores else "r2"
    ranks = f", {communicator.size} MPI ranks" if communicator is not None else ""
    epochs = summary["epochs"]
    stopped = f"interrupted after epoch {epochs}" if summary["interrupted"] else f"{epochs} epochs"
    STATE.console.print(
        plain(
            f"test {key}: {scores[key]:.4f}  ({summary['data']}, {summary['architecture']}, "
            f"{stopped} in {summary['seconds']:.1f} s{ranks})  →  {summary['run']}"
        )
    )


def run_training(
    options: dict[str, Any], communicator: MPICommunicator | None = None
) -> tuple[dict[str, Any], dict[str, Any], list[str] | None]:
    """Load the data, build, train and (on rank 0) evaluate and write the run directory.

    Returns the summary record (what ``--json`` prints last), the test scores and the class
    names. ``glassnet sweep`` calls this once per combination, in a worker process.
    """
    options = dict(options)
    rank = 0 if communicator is None else communicator.rank
    options["activation"] = str(options["activation"]).lower().replace("-", "_")
    if options["activation"] not in (*DEFAULT_OPTIMIZER, "step"):
        raise UserError(
            f"--activation must be one of {sorted(DEFAULT_OPTIMIZER)}, got "
            f"{options['activation']!r}."
        )
    source = options["data"]
    # Rank 0 claims the run's folder first, so an unwritable --out is found before training;
    # the run is written there and renamed into place only when complete.
    requested = Path(options["out"]) if options["out"] else None
    partial = claim_run(requested) if requested is not None and rank == 0 else None
    try:
        dataset = load_data(source, options)
        if options["limit"]:
            dataset.X_train, dataset.y_train = (
                dataset.X_train[: options["limit"]],
                dataset.y_train[: options["limit"]],
            )
        if dataset.task == "classification" and np.unique(dataset.y_train).size < 2:
            only = dataset.class_names[0] if dataset.class_names else dataset.y_train[:1]
            raise UserError(
                f"The training data holds one class only ({only}); a classifier needs at least "
                "two. Check --target, --limit or the class folders."
            )
        run = requested or Path(f"runs/{dataset.name}-{datetime.now():%Y%m%d-%H%M%S}")
        if partial is None and rank == 0:
            partial = claim_run(run)
        return _fit_and_write(options, source, dataset, run, partial, communicator)
    finally:
        if partial is not None and partial.exists():
            abandon_run(partial)


def _fit_and_write(
    options: dict[str, Any],
    source: str | None,
    dataset: Data,
    run: Path,
    partial: Path | None,
    communicator: MPICommunicator | None,
) -> tuple[dict[str, Any], dict[str, Any], list[str] | None]:
    rank = 0 if communicator is None else communicator.rank
    for note in dataset.notes:
        STATE.say(f"[bold]{plain(note)}[/bold]" if note.startswith("MNIST") else plain(note))
    model = build_model(dataset, options)
    chosen_optimizer = make_optimizer(model, options)
    callbacks: list[gn.Callback] = []
    lr_schedule = make_schedule(options, chosen_optimizer.current_learning_rate)
    if lr_schedule is not None:
        callbacks.append(gn.LearningRateScheduler(lr_schedule))
    if options["early_stopping"]:
        callbacks.append(gn.EarlyStopping("val_loss", patience=options["early_stopping"]))
    rate = float(chosen_optimizer.current_learning_rate)
    loss_fn = model.resolve_loss(options["loss"])
    watch = GettingWorse(starting_loss(model, dataset.X_train, dataset.y_train, loss_fn), rate)
    callbacks.append(watch)
    if STATE.json:
        callbacks.append(JsonLines())
    elif not STATE.quiet:
        callbacks.append(ProgressBar(STATE.console))
    STATE.say(model.summary())
    started = time.perf_counter()
    history = model.fit(
        dataset.X_train,
        dataset.y_train,
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        optimizer=chosen_optimizer,
        loss=loss_fn,
        validation_split=options["validation_split"],
        callbacks=callbacks,
        seed=options["seed"],
        communicator=communicator,
    )
    seconds = time.perf_counter() - started
    if rank != 0 or partial is None:
        return {}, {}, None
    # Trained on a standardised target: fold the scaling into the last layer (target units).
    datasets.fold_target_scaling(model, dataset.preprocessing)
    scores = evaluate_model(model, dataset.X_test, dataset.y_test)
    epochs_done = len(history.epoch)
    interrupted = bool(getattr(history, "interrupted", False))
    ran = what_ran(options, dataset, source, chosen_optimizer, rate, epochs_done)
    ran["interrupted"] = interrupted
    if watch.warning:
        ran["warning"] = watch.warning
    write_run(partial, model, dataset, history.to_dict(), scores, ran)
    finish_run(partial, run)
    summary = {
        "event": "done",
        "data": dataset.name,
        "architecture": _arch(model),
        "epochs": epochs_done,
        "interrupted": interrupted,
        "seconds": round(seconds, 2),
        "test": {k: v for k, v in scores.items() if isinstance(v, float)},
        "run": str(run),
        "test_samples": len(dataset.X_test),
        "validation": {k: v[-1] for k, v in history.to_dict().items() if k.startswith("val_")},
    }
    if watch.warning:
        summary["warning"] = watch.warning
    if communicator is not None:
        summary["ranks"] = communicator.size
    return summary, scores, dataset.class_names


def _arch(model: gn.Sequential) -> str:
    sizes = [model.n_inputs] + [la.n_neurons for la in model.layers if isinstance(la, gn.Dense)]
    return "-".join(map(str, sizes))
