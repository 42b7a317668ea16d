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
from glassnet.train.cartography import LearningMap
from glassnet.train.threads import blocker as threads_blocker

from .application import STATE, UserError, guarded, plain
from .architecture import (
    DEFAULT_DIGIT_ARCH,
    DEFAULT_IMAGE_ARCH,
    as_model_inputs,
    describe,
    is_layer_spec,
)
from .branches import (
    Branch,
    base_rate,
    branch_optimizer,
    check_branch_data,
    fit_segment,
    fresh_checkpoints,
    load_training_data,
    prepare_branch,
    training_callbacks,
)
from .building import build_model, make_optimizer
from .data import Data, digit_folder
from .map import write_map
from .options import DEFAULT_OPTIMIZER, TRAIN_DEFAULTS, check_options, read_config
from .progress import JsonLines, ProgressBar
from .receipt import array_sha256, write_receipt
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
    features: Annotated[
        str | None,
        typer.Option(help="CSV: the columns to learn from, e.g. age,city (default: all others)."),
    ] = None,
    image_size: Annotated[
        str | None, typer.Option(help="Image folders: HEIGHTxWIDTH (default 64x64).")
    ] = None,
    color: Annotated[str | None, typer.Option(help="Image folders: grayscale or rgb.")] = None,
    digits: Annotated[
        bool | None,
        typer.Option(
            "--digits/--no-digits",
            help="Image folders: handwritten digits, prepared as MNIST (inverted if light, "
            "centred in 28x28) by every tool. Default: on when the class folders are 0-9.",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Train on the first N samples only.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Look for data sets here first.")] = None,
    out: Annotated[
        str | None, typer.Option(help="Run directory (default runs/<data>-<time>).")
    ] = None,
    kernel: Annotated[
        str | None,
        typer.Option(
            help="auto (default): numba's compiled kernels when installed, else NumPy; numpy: "
            "NumPy's reference code only; numba: the compiled kernels or an error."
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            help="Split every batch over this many threads, each training a copy of the model "
            "that shares its weights (default 1). Pays for CNNs; refused with --map, "
            "augmentation, dropout or BatchNorm."
        ),
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="TOML file with any of these options; flags override it.")
    ] = None,
    learning_map: Annotated[
        bool,
        typer.Option(
            "--map",
            help="Record a learning map: map.png, hard.csv (hardest first) and hard.png. To "
            "find mislabelled images, train a CNN: --arch conv16-pool-conv32-pool-dense64.",
        ),
    ] = False,
    keep: Annotated[
        int, typer.Option(help="Keep the checkpoints of the last N epochs only (0: all).")
    ] = 0,
    from_run: Annotated[
        str | None,
        typer.Option("--from", help="Branch from this run directory (with --at-epoch)."),
    ] = None,
    at_epoch: Annotated[
        int | None, typer.Option(help="With --from: start from the run's state after K epochs.")
    ] = None,
) -> None:
    """Train a network and write a run directory: model, config, history, metrics and plots.

    Under ``mpiexec -n N`` (N > 1) the ranks train one model data-parallel: each computes the
    gradient of its share of every global batch of --batch-size samples; rank 0 alone prints
    and writes the run directory.
    """
    given = {k: v for k, v in locals().items() if k in TRAIN_DEFAULTS and v is not None}
    if keep < 0:
        raise UserError(f"--keep must be a number of epochs ≥ 0 (0: keep all), got {keep}.")
    branch = None
    if from_run is not None:
        if config is not None:
            raise UserError(
                "--config cannot be combined with --from: a branch starts from its parent's "
                "settings; give the options to change as flags."
            )
        branch = prepare_branch(from_run, at_epoch, given)
        options = branch.options
    else:
        if at_epoch is not None:
            raise UserError("--at-epoch needs --from RUN: the run to branch from.")
        chosen = {**read_config(config), **given}
        options = with_image_defaults({**TRAIN_DEFAULTS, **chosen}, chosen)
    check_options(options)
    communicator = MPICommunicator() if launched_world_size() > 1 else None
    if communicator is not None and (branch is not None or learning_map):
        raise UserError("--from and --map do not work under mpiexec yet: train on one process.")
    if options.get("threads", 1) > 1 and (communicator is not None or learning_map):
        raise UserError(
            "--threads splits each batch inside one process: it does not combine with "
            f"{'mpiexec' if communicator is not None else '--map'} (which reads whole batches); "
            "use --threads 1."
        )
    if communicator is not None and communicator.rank != 0:
        STATE.quiet, STATE.json = True, False  # rank 0 alone prints
        try:
            run_training(options, communicator, branch=branch, keep=keep, learning_map=learning_map)
        except Exception:
            # Every rank stops together (see glassnet.distributed.mpi); rank 0 says why.
            raise typer.Exit(1) from None
        return
    summary, scores, class_names = run_training(
        options, communicator, branch=branch, keep=keep, learning_map=learning_map
    )
    if STATE.json:
        STATE.emit(summary)
        return
    if summary.get("warning"):
        STATE.error_console.print(plain(summary["warning"]))
    if summary.get("note"):
        STATE.error_console.print(plain(summary["note"]), soft_wrap=True)  # one line
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
    options: dict[str, Any],
    communicator: MPICommunicator | None = None,
    *,
    branch: Branch | None = None,
    keep: int = 0,
    learning_map: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], list[str] | None]:
    """Load the data, build, train and (on rank 0) evaluate and write the run directory.

    Returns the summary record (what ``--json`` prints last), the test scores and the class
    names. ``glassnet sweep`` calls this once per combination, in a worker process. ``branch``
    (`branches.prepare_branch`) continues a run's checkpoint; ``keep`` limits the per-epoch
    checkpoints (one process only); ``learning_map`` records a `LearningMap`.
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
    # Rank 0 claims the run's folder first, so an unwritable --out is found before training;
    # the run is written there and renamed into place only when complete.
    requested = Path(options["out"]) if options["out"] else None
    if (
        branch is not None
        and requested is not None
        and requested.resolve() == branch.parent.resolve()
    ):
        raise UserError(f"--out {requested} is the run you branch from: give a new directory.")
    partial = claim_run(requested) if requested is not None and rank == 0 else None
    try:
        dataset = load_training_data(options)
        if dataset.task == "classification" and np.unique(dataset.y_train).size < 2:
            only = dataset.class_names[0] if dataset.class_names else dataset.y_train[:1]
            raise UserError(
                f"The training data holds one class only ({only}); a classifier needs at least "
                "two. Check --target, --limit or the class folders."
            )
        run = requested or Path(f"runs/{dataset.name}-{datetime.now():%Y%m%d-%H%M%S}")
        if partial is None and rank == 0:
            partial = claim_run(run)
        return _fit_and_write(
            options, source, dataset, run, partial, communicator, branch, keep, learning_map
        )
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
    branch: Branch | None,
    keep: int,
    learning_map: bool,
) -> tuple[dict[str, Any], dict[str, Any], list[str] | None]:
    rank = 0 if communicator is None else communicator.rank
    options["data"] = dataset.name if source is None else source
    data_sha256 = array_sha256(dataset.X_train, dataset.y_train)
    for note in dataset.notes:
        STATE.say(f"[bold]{plain(note)}[/bold]" if note.startswith("MNIST") else plain(note))
    resume = None
    if branch is not None:
        check_branch_data(branch, data_sha256)
        model, resume = branch.checkpoint.model, branch.checkpoint.training_state
        chosen_optimizer = branch_optimizer(
            branch.checkpoint.optimizer, model, branch.receipt["config"], options
        )
        if branch.optimizer_note():
            STATE.say(plain(str(branch.optimizer_note())), soft_wrap=True)  # again at the end
    else:
        model = build_model(dataset, options)
        chosen_optimizer = make_optimizer(model, options)
    # a CNN takes (n, C, H, W) images; the data sources give rows of pixels
    dataset.X_train = as_model_inputs(model, dataset.X_train)
    dataset.X_test = as_model_inputs(model, dataset.X_test)
    # the configured rate (a branch's optimizer holds its schedule's rate at the branch point)
    rate = base_rate(options)
    loss_fn = model.resolve_loss(options["loss"])
    watch = GettingWorse(starting_loss(model, dataset.X_train, dataset.y_train, loss_fn), rate)
    extra: list[gn.Callback] = [watch]
    if STATE.json:
        extra.append(JsonLines())
    elif not STATE.quiet:
        extra.append(ProgressBar(STATE.console))
    recorder = LearningMap() if learning_map else None
    if recorder is not None:
        extra.append(recorder)
    if partial is not None and communicator is None:  # last: its history has the others' logs
        extra.append(fresh_checkpoints(partial, keep))
    callbacks = training_callbacks(options, extra)
    if options.get("threads", 1) > 1:  # what fit would refuse, refused before any training
        reason = threads_blocker(model, communicator, None, callbacks)
        if reason is not None:
            raise UserError(
                f"--threads {options['threads']} cannot split this training: {reason}; "
                "use --threads 1."
            )
    STATE.say(model.summary())
    started = time.perf_counter()
    history = fit_segment(
        model, dataset, options, chosen_optimizer, callbacks, resume, communicator=communicator
    )
    seconds = time.perf_counter() - started
    if rank != 0 or partial is None:
        return {}, {}, None
    epochs_done = len(history.epoch)
    # the receipt holds the weights as trained (what verify retrains), before the folding below
    segments = branch.segments if branch is not None else [{"options": options, "parent": None}]
    write_receipt(partial, data_sha256, len(dataset.X_train), segments, model, epochs_done)
    # Trained on a standardised target: fold the scaling into the last layer (target units).
    datasets.fold_target_scaling(model, dataset.preprocessing)
    scores = evaluate_model(model, dataset.X_test, dataset.y_test)
    interrupted = bool(getattr(history, "interrupted", False))
    ran = what_ran(options, dataset, source, chosen_optimizer, rate, epochs_done)
    ran["interrupted"] = interrupted
    if watch.warning:
        ran["warning"] = watch.warning
    write_run(partial, model, dataset, history.to_dict(), scores, ran)
    if recorder is not None:
        write_map(partial, recorder.statistics(), dataset, recorder)
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
    if branch is not None:
        summary["optimizer_state"] = "fresh" if branch.new_optimizer else "continued"
        if branch.optimizer_note():
            summary["note"] = branch.optimizer_note()
    if communicator is not None:
        summary["ranks"] = communicator.size
    return summary, scores, dataset.class_names


def with_image_defaults(options: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
    """A folder of images trains a small CNN with augmentation unless an architecture is given
    (no flips for digits), and a layer spec uses ReLU unless an activation is (``chosen``: what
    the user set)."""
    source = options["data"]
    folder = source is not None and Path(str(source)).is_dir()
    if folder and not options["arch"] and not options["hidden"]:
        # a small CNN with augmentation: photos are flipped too, digits never (a mirrored 2)
        digits = digit_folder(Path(str(source)), options)
        options["arch"] = DEFAULT_DIGIT_ARCH if digits else DEFAULT_IMAGE_ARCH
    if is_layer_spec(options["arch"]) and "activation" not in chosen:
        options["activation"] = "relu"  # the CNN default (sigmoid stays the MLP's)
    return options


def _arch(model: gn.Sequential) -> str:
    return describe(model)
