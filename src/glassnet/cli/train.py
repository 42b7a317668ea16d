"""``glassnet train``: train a network and write a run directory with everything about it."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

import glassnet as gn
from glassnet.distributed import MPICommunicator, launched_world_size

from .application import STATE, UserError, guarded
from .architecture import DEFAULT_IMAGE_ARCH, as_model_inputs, describe, is_layer_spec
from .building import build_model, make_optimizer, make_schedule
from .data import load_data
from .options import DEFAULT_OPTIMIZER, TRAIN_DEFAULTS, read_config
from .progress import JsonLines, ProgressBar
from .runs import write_run
from .scores import evaluate_model, show_scores


@guarded
def train(
    data: Annotated[
        str | None,
        typer.Argument(
            help="mnist (default), fashion-mnist, a CSV file or a folder of class sub-folders."
        ),
    ] = None,
    arch: Annotated[
        str | None,
        typer.Option(
            help="Layer sizes, e.g. 784-16-16-10, or layers, e.g. conv32-pool-conv64-pool-dense128 "
            "(default for image folders: " + DEFAULT_IMAGE_ARCH + ")."
        ),
    ] = None,
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
    chosen = {**read_config(config), **given}
    options = with_image_defaults({**TRAIN_DEFAULTS, **chosen}, chosen)
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
    show_scores(scores, class_names, title=f"Test set: {summary['test_samples']:,} samples")
    key = "accuracy" if "accuracy" in scores else "r2"
    ranks = f", {communicator.size} MPI ranks" if communicator is not None else ""
    STATE.console.print(
        f"test {key}: {scores[key]:.4f}  ({summary['data']}, {summary['architecture']}, "
        f"{summary['epochs']} epochs in {summary['seconds']:.1f} s{ranks})  →  {summary['run']}"
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
    source = options["data"]
    options["activation"] = str(options["activation"]).lower().replace("-", "_")
    if options["activation"] not in (*DEFAULT_OPTIMIZER, "step"):
        raise UserError(
            f"--activation must be one of {sorted(DEFAULT_OPTIMIZER)}, got "
            f"{options['activation']!r}."
        )
    dataset = load_data(source, options)
    if options["limit"]:
        dataset.X_train, dataset.y_train = (
            dataset.X_train[: options["limit"]],
            dataset.y_train[: options["limit"]],
        )
    for note in dataset.notes:
        STATE.say(f"[bold]{note}[/bold]" if note.startswith("MNIST") else note)
    model = build_model(dataset, options)
    # a CNN takes (n, C, H, W) images; the data sources give rows of pixels
    dataset.X_train = as_model_inputs(model, dataset.X_train)
    dataset.X_test = as_model_inputs(model, dataset.X_test)
    chosen_optimizer = make_optimizer(model, options)
    callbacks: list[gn.Callback] = []
    lr_schedule = make_schedule(options, chosen_optimizer.current_learning_rate)
    if lr_schedule is not None:
        callbacks.append(gn.LearningRateScheduler(lr_schedule))
    if options["early_stopping"]:
        callbacks.append(gn.EarlyStopping("val_loss", patience=options["early_stopping"]))
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
        loss=options["loss"],
        validation_split=options["validation_split"],
        callbacks=callbacks,
        seed=options["seed"],
        communicator=communicator,
    )
    seconds = time.perf_counter() - started
    if rank != 0:
        return {}, {}, None
    scores = evaluate_model(model, dataset.X_test, dataset.y_test)
    run = Path(options["out"] or f"runs/{dataset.name}-{datetime.now():%Y%m%d-%H%M%S}")
    run.mkdir(parents=True, exist_ok=True)
    options_used = {k: v for k, v in options.items() if v is not None}
    options_used["data"] = dataset.name if source is None else source
    write_run(run, model, dataset, history.to_dict(), scores, options_used)
    summary = {
        "event": "done",
        "data": dataset.name,
        "architecture": _arch(model),
        "epochs": len(history.epoch),
        "seconds": round(seconds, 2),
        "test": {k: v for k, v in scores.items() if isinstance(v, float)},
        "run": str(run),
        "test_samples": len(dataset.X_test),
        "validation": {k: v[-1] for k, v in history.to_dict().items() if k.startswith("val_")},
    }
    if communicator is not None:
        summary["ranks"] = communicator.size
    return summary, scores, dataset.class_names


def with_image_defaults(options: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
    """A folder of images trains a small CNN with augmentation unless an architecture is
    given, and a layer spec uses ReLU unless an activation is (``chosen``: what the user set)."""
    source = options["data"]
    folder = source is not None and Path(str(source)).is_dir()
    if folder and not options["arch"] and not options["hidden"]:
        options["arch"] = DEFAULT_IMAGE_ARCH  # photos: a small CNN with augmentation
    if is_layer_spec(options["arch"]) and "activation" not in chosen:
        options["activation"] = "relu"  # the CNN default (sigmoid stays the MLP's)
    return options


def _arch(model: gn.Sequential) -> str:
    return describe(model)
