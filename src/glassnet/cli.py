"""The ``glassnet`` command: train, evaluate, predict, inspect, plot and download from the shell.

Built on Typer (Click) with Rich for progress bars and tables. Every command turns a user mistake
(a missing file, a bad architecture string, data that does not fit the model...) into one line
``error: ...`` and a non-zero exit status; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np

import glassnet as gn

try:
    import typer
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('The glassnet command needs its extra: pip install "glassnet[cli]"') from None

app = typer.Typer(
    name="glassnet",
    help="A neural network you can see through, that is also fast.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

MODEL_FILE = "model.glassnet"
DEFAULT_HIDDEN = (16, 16)
# A sensible optimizer and learning rate per hidden activation (used unless the user chooses).
DEFAULT_OPTIMIZER = {
    "sigmoid": ("sgd", 0.1),
    "tanh": ("sgd", 0.05),
    "relu": ("adam", 1e-3),
    "leaky_relu": ("adam", 1e-3),
}
TRAIN_DEFAULTS: dict[str, Any] = {
    "data": None,
    "arch": None,
    "hidden": None,
    "activation": "sigmoid",
    "loss": None,
    "optimizer": None,
    "learning_rate": None,
    "momentum": 0.9,
    "schedule": "constant",
    "epochs": 10,
    "batch_size": 32,
    "validation_split": 0.1,
    "early_stopping": 0,
    "seed": 0,
    "target": None,
    "image_size": "64x64",
    "color": "grayscale",
    "limit": None,
    "data_dir": None,
    "out": None,
}


class UserError(Exception):
    """A mistake the user can fix; printed as one line without a traceback."""


@dataclass
class State:
    debug: bool = False
    quiet: bool = False
    json: bool = False
    console: Any = None
    error_console: Any = None

    def say(self, *args: Any, **kwargs: Any) -> None:
        if not self.quiet and not self.json:
            self.console.print(*args, **kwargs)

    def emit(self, record: dict[str, Any]) -> None:
        """One JSON line on stdout (``--json`` mode)."""
        print(json.dumps(record), flush=True)


STATE = State()


@app.callback()
def main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the results.")] = False,
    json_lines: Annotated[
        bool, typer.Option("--json", help="Machine-readable output: one JSON object per line.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """glassnet: train, evaluate, predict with and look inside neural networks."""
    from rich.console import Console

    STATE.debug, STATE.quiet, STATE.json = debug, quiet, json_lines
    STATE.console = Console(highlight=False)
    STATE.error_console = Console(stderr=True, highlight=False)


def _guarded(function: Callable[..., None]) -> Callable[..., None]:
    """Turn expected errors into one clear line and exit status 1."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (
            UserError,
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            OSError,
            ImportError,
            FloatingPointError,
        ) as error:
            if STATE.debug:
                raise
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


# ---------------------------------------------------------------------------------- data


@dataclass
class Data:
    """Everything a command needs from a data source."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] | None
    preprocessing: dict[str, Any]
    task: str = "classification"
    notes: list[str] = field(default_factory=list)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UserError(
            f"--image-size must look like 28x28 (height x width), got {text!r}."
        ) from None
    if height < 1 or width < 1:
        raise UserError(f"--image-size must be positive, got {text!r}.")
    return height, width


def _named(name: str, data_dir: str | None, split: str):
    from glassnet import datasets

    return datasets.load(name, split, data_dir=data_dir)


def load_data(source: str | None, options: dict[str, Any]) -> Data:
    """Load a named data set, a CSV file or an image folder, split into train and test."""
    from glassnet import datasets

    notes: list[str] = []
    name = source or "mnist"
    if name in ("mnist", "fashion-mnist"):
        try:
            train = _named(name, options["data_dir"], "train")
            test = _named(name, options["data_dir"], "test")
        except datasets.DatasetNotFoundError as error:
            if source is not None or name != "mnist":
                raise UserError(str(error)) from None
            notes.append(
                "MNIST is not available on this machine (not found and could not be downloaded);"
                " training on Fashion-MNIST instead."
            )
            name = "fashion-mnist"
            train = _named(name, options["data_dir"], "train")
            test = _named(name, options["data_dir"], "test")
        notes.append(f"Data: {name} from {train.source_path}")
        height, width = train.images.shape[1:]
        return Data(
            name,
            train.X,
            train.labels,
            test.X,
            test.labels,
            list(train.class_names),
            {
                "kind": "image",
                "image_size": [height, width],
                "color": "grayscale",
                "scale": 1 / 255,
                "mnist_centering": name == "mnist",
            },
            notes=notes,
        )
    path = Path(name)
    if not path.exists():
        raise UserError(
            f"No data set or file named {name!r}. Expected 'mnist', 'fashion-mnist', a CSV file "
            "or a folder of images with one sub-folder per class."
        )
    if path.is_dir():
        size = _parse_size(options["image_size"])
        folder = datasets.load_image_folder(path, size=size, color=options["color"])
        X, y = folder.flat(), folder.y
        X_train, X_test, y_train, y_test = datasets.train_test_split(
            X, y, test_size=0.2, seed=options["seed"]
        )
        notes.append(f"Data: {len(X)} images of {len(folder.class_names)} classes from {path}")
        return Data(
            path.name,
            X_train,
            y_train,
            X_test,
            y_test,
            list(folder.class_names),
            {
                "kind": "image",
                "image_size": list(size),
                "color": options["color"],
                "scale": 1.0,
                "mnist_centering": False,
            },
            notes=notes,
        )
    if path.suffix.lower() != ".csv":
        raise UserError(f"{path}: expected a .csv file or a folder of images.")
    if not options["target"]:
        raise UserError(f"{path} is a table: name the column to predict with --target COLUMN.")
    table = datasets.load_csv(path, target=options["target"])
    X_train, X_test, y_train, y_test = datasets.train_test_split(
        table.X,
        table.y,
        test_size=0.2,
        seed=options["seed"],
    )
    scaler = datasets.Standardizer().fit(X_train)
    notes.append(
        f"Data: {len(table.X)} rows, {table.X.shape[1]} features from {path} "
        f"({table.task}, target {table.target_name!r})"
    )
    return Data(
        path.stem,
        scaler.transform(X_train),
        y_train,
        scaler.transform(X_test),
        y_test,
        list(table.class_names) if table.class_names else None,
        {
            "kind": "table",
            "feature_names": list(table.feature_names),
            "target": table.target_name,
            "standardizer": scaler.to_dict(),
        },
        task=table.task,
        notes=notes,
    )


# ---------------------------------------------------------------------------------- models


def build_model(data: Data, options: dict[str, Any]) -> gn.Sequential:
    n_features = data.X_train.shape[1]
    if data.task == "regression":
        n_outputs, output = 1, "identity"
    else:
        n_outputs = len(data.class_names or np.unique(data.y_train))
        output = "softmax" if n_outputs > 2 else "sigmoid"
        if output == "sigmoid":
            n_outputs = 1
    if options["arch"] and options["hidden"]:
        raise UserError("Give the architecture as --arch or as --hidden, not both.")
    if options["arch"]:
        try:
            sizes = [int(part) for part in str(options["arch"]).split("-")]
        except ValueError:
            raise UserError(
                f"--arch must be layer sizes joined by '-', e.g. 784-16-16-10, got "
                f"{options['arch']!r}."
            ) from None
        if len(sizes) < 2 or min(sizes) < 1:
            raise UserError(f"--arch needs at least two positive sizes, got {options['arch']!r}.")
        if sizes[0] != n_features or sizes[-1] != n_outputs:
            raise UserError(
                f"--arch {options['arch']} does not fit the data: it has {n_features} input "
                f"features and needs {n_outputs} outputs, so the architecture must start with "
                f"{n_features} and end with {n_outputs} (e.g. {n_features}-16-16-{n_outputs})."
            )
    else:
        hidden = options["hidden"]
        try:
            sizes_hidden = (
                [int(s) for s in str(hidden).split(",") if s.strip()]
                if hidden is not None
                else list(DEFAULT_HIDDEN)
            )
        except ValueError:
            raise UserError(
                f"--hidden must be sizes joined by ',', e.g. 16,16, got {hidden!r}."
            ) from None
        sizes = [n_features, *sizes_hidden, n_outputs]
    activation = options["activation"]
    if activation == "step":
        raise UserError(
            "A step activation cannot be trained by backpropagation (its derivative is 0); use "
            "sigmoid, tanh, relu or leaky_relu."
        )
    model = gn.MLP(sizes, activation=activation, output=output, seed=options["seed"])
    model.class_names = data.class_names
    return model


def make_optimizer(model: gn.Sequential, options: dict[str, Any]) -> gn.optimizers.Optimizer:
    name, rate = DEFAULT_OPTIMIZER.get(options["activation"], ("adam", 1e-3))
    name = options["optimizer"] or name
    rate = options["learning_rate"] if options["learning_rate"] is not None else rate
    extra = {"momentum": options["momentum"]} if name == "sgd" else {}
    return gn.optimizers.get(name, model.parameters(), learning_rate=rate, **extra)


def make_schedule(options: dict[str, Any], rate: float):
    epochs, kind = options["epochs"], options["schedule"]
    if kind == "constant":
        return None
    if kind == "step":
        return gn.schedules.StepDecay(rate, factor=0.5, every=max(1, epochs // 3))
    if kind == "exponential":
        return gn.schedules.ExponentialDecay(rate, rate=0.9)
    if kind == "cosine":
        return gn.schedules.CosineDecay(rate, total=max(epochs, 2), warmup=1 if epochs > 2 else 0)
    raise UserError(f"--schedule must be constant, step, exponential or cosine, got {kind!r}.")


def save_model(
    model: gn.Sequential,
    path: Path,
    preprocessing: dict[str, Any],
    history: dict[str, Any] | None = None,
) -> None:
    from glassnet import io

    model.preprocessing = preprocessing
    io.save(model, path, history=history)


def load_model(path: str) -> gn.Sequential:
    from glassnet import io

    file = Path(path)
    if file.is_dir():
        file = file / MODEL_FILE
    if not file.exists():
        raise UserError(f"No model file at {path}. Train one with 'glassnet train'.")
    return io.load(file)


# ---------------------------------------------------------------------------------- progress


class ProgressBar(gn.Callback):
    """A Rich progress bar per epoch: batches, loss, accuracy, speed and time left."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[accuracy]}"),
            TextColumn("{task.fields[speed]:,.0f} samples/s"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task: Any = None
        self.batches = 0
        self.batch_size = 0
        self.epochs = 0
        self.started = 0.0

    def on_train_begin(self, logs):
        self.batches, self.batch_size, self.epochs = (
            logs["batches"],
            logs["batch_size"],
            logs["epochs"],
        )
        self.progress.start()

    def on_epoch_begin(self, epoch, logs):
        self.started = time.perf_counter()
        self.task = self.progress.add_task(
            "train",
            total=self.batches,
            epoch=f"{epoch + 1}/{self.epochs}",
            loss=0.0,
            accuracy="-",
            speed=0.0,
        )

    def on_batch_end(self, batch, logs):
        if batch % 20 and batch + 1 != self.batches:
            return
        seconds = max(time.perf_counter() - self.started, 1e-9)
        accuracy = f"{logs['accuracy']:.4f}" if "accuracy" in logs else "-"
        self.progress.update(
            self.task,
            completed=batch + 1,
            loss=logs["loss"],
            accuracy=accuracy,
            speed=(batch + 1) * self.batch_size / seconds,
        )

    def on_train_end(self, logs):
        self.progress.stop()


class JsonLines(gn.Callback):
    """One JSON line per epoch (``--json``)."""

    def on_epoch_end(self, epoch, logs):
        STATE.emit({"event": "epoch", "epoch": epoch + 1, **logs})


# ---------------------------------------------------------------------------------- commands


def _read_config(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    file = Path(path)
    if not file.is_file():
        raise UserError(f"No config file at {path}.")
    try:
        config = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path} is not valid TOML: {error}") from None
    config = {key.replace("-", "_"): value for key, value in config.get("train", config).items()}
    unknown = sorted(set(config) - set(TRAIN_DEFAULTS))
    if unknown:
        raise UserError(f"{path}: unknown settings {unknown}; known: {sorted(TRAIN_DEFAULTS)}.")
    return config


@app.command()
@_guarded
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
        typer.Option(help="constant (default), step, exponential or cosine (per epoch)."),
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
    """Train a network and write a run directory: model, config, history, metrics and plots."""
    given = {k: v for k, v in locals().items() if k in TRAIN_DEFAULTS and v is not None}
    options = {**TRAIN_DEFAULTS, **_read_config(config), **given}
    options["activation"] = str(options["activation"]).lower().replace("-", "_")
    if options["activation"] not in (*DEFAULT_OPTIMIZER, "step"):
        raise UserError(
            f"--activation must be one of {sorted(DEFAULT_OPTIMIZER)}, got "
            f"{options['activation']!r}."
        )
    source = options["data"]
    dataset = load_data(source, options)
    if options["limit"]:
        dataset.X_train, dataset.y_train = (
            dataset.X_train[: options["limit"]],
            dataset.y_train[: options["limit"]],
        )
    for note in dataset.notes:
        STATE.say(f"[bold]{note}[/bold]" if note.startswith("MNIST") else note)
    model = build_model(dataset, options)
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
    )
    seconds = time.perf_counter() - started
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
    }
    if STATE.json:
        STATE.emit(summary)
        return
    show_scores(scores, dataset.class_names, title=f"Test set: {len(dataset.X_test):,} samples")
    key = "accuracy" if "accuracy" in scores else "r2"
    STATE.console.print(
        f"test {key}: {scores[key]:.4f}  ({dataset.name}, {_arch(model)}, {len(history.epoch)} "
        f"epochs in {seconds:.1f} s)  →  {run}"
    )


def _arch(model: gn.Sequential) -> str:
    sizes = [model.n_inputs] + [la.n_neurons for la in model.layers if isinstance(la, gn.Dense)]
    return "-".join(map(str, sizes))


def evaluate_model(model: gn.Sequential, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    scores: dict[str, Any] = dict(model.evaluate(X, y))
    if model.output != "identity":
        predicted = model.predict(X)
        n_classes = max(model.n_outputs, 2)
        report = gn.metrics.precision_recall_f1(y, predicted, n_classes)
        scores.update(precision=report["precision"], recall=report["recall"], f1=report["f1"])
        scores["per_class"] = {k: v.tolist() for k, v in report["per_class"].items()}
        scores["confusion_matrix"] = gn.metrics.confusion_matrix(y, predicted, n_classes).tolist()
    return scores


def write_run(
    run: Path,
    model: gn.Sequential,
    data: Data,
    history: dict[str, Any],
    scores: dict[str, Any],
    options: dict[str, Any],
) -> None:
    save_model(model, run / MODEL_FILE, data.preprocessing, history)
    (run / "config.json").write_text(json.dumps(options, indent=2) + "\n")
    (run / "history.json").write_text(json.dumps(history, indent=2) + "\n")
    with open(run / "history.csv", "w", newline="") as file:
        writer = csv.writer(file)
        keys = list(history)
        writer.writerow(keys)
        writer.writerows(zip(*(history[k] for k in keys), strict=True))
    (run / "metrics.json").write_text(json.dumps(scores, indent=2) + "\n")
    np.save(run / "sample.npy", data.X_test[:1], allow_pickle=False)
    try:
        draw_run(run, model, history, scores, data.X_test[0], data.preprocessing)
    except ImportError as error:
        STATE.say(f"(no plots: {error})")


def draw_run(
    run: Path,
    model: gn.Sequential,
    history: dict[str, Any],
    scores: dict[str, Any],
    sample: np.ndarray | None,
    preprocessing: dict[str, Any],
) -> list[Path]:
    from glassnet import plot

    image_shape = None
    if preprocessing.get("kind") == "image" and preprocessing.get("color") == "grayscale":
        image_shape = tuple(preprocessing["image_size"])
    confusion = scores.get("confusion_matrix")
    return plot.save_run_plots(
        run,
        history,
        model,
        None if confusion is None else np.array(confusion),
        model.class_names,
        sample,
        image_shape,
    )


def show_scores(scores: dict[str, Any], class_names: list[str] | None, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("loss", "accuracy", "precision", "recall", "f1", "mse", "mae", "r2"):
        if key in scores:
            table.add_row(
                key + (" (macro)" if key in ("precision", "recall", "f1") else ""),
                f"{scores[key]:.4f}",
            )
    STATE.say(table)
    if "per_class" in scores:
        per_class = scores["per_class"]
        n = len(per_class["precision"])
        names = class_names or [str(i) for i in range(n)]
        detail = Table(title="per class")
        for column in ("class", "precision", "recall", "f1", "support"):
            detail.add_column(column, justify="left" if column == "class" else "right")
        for i in range(n):
            detail.add_row(
                names[i],
                *(f"{per_class[k][i]:.3f}" for k in ("precision", "recall", "f1")),
                str(per_class["support"][i]),
            )
        STATE.say(detail)
        matrix = Table(title="confusion matrix (rows: true class, columns: predicted)")
        matrix.add_column("true")
        for i in range(n):
            matrix.add_column(str(i), justify="right")
        for i, row in enumerate(scores["confusion_matrix"]):
            matrix.add_row(f"{i} {names[i][:12]}", *map(str, row))
        STATE.say(matrix)


@app.command()
@_guarded
def evaluate(
    model_path: Annotated[str, typer.Argument(metavar="MODEL", help="Model file or run dir.")],
    data: Annotated[
        str,
        typer.Argument(
            help="mnist, fashion-mnist, a CSV file or an image folder (its test split is used)."
        ),
    ],
    target: Annotated[str | None, typer.Option(help="CSV: the column to predict.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Look for data sets here first.")] = None,
) -> None:
    """Loss, accuracy, per-class precision/recall/F1 and the confusion matrix on a data set."""
    model = load_model(model_path)
    prep = getattr(model, "preprocessing", None) or {}
    options = {
        **TRAIN_DEFAULTS,
        "data_dir": data_dir,
        "target": target or prep.get("target"),
        "image_size": "x".join(map(str, prep.get("image_size", [64, 64]))),
        "color": prep.get("color", "grayscale"),
    }
    loaded = load_data(data, options)
    X = loaded.X_test
    if prep.get("kind") == "table" and loaded.preprocessing.get("kind") == "table":
        # use the model's own standardisation, not one fitted on this file
        from glassnet import datasets

        table = datasets.load_csv(data, target=options["target"])
        X = datasets.Standardizer.from_dict(prep["standardizer"]).transform(table.X)
        loaded.y_test = table.y
    if X.shape[1] != model.n_inputs:
        raise UserError(
            f"The model expects {model.n_inputs} input features but {data} gives {X.shape[1]}."
        )
    scores = evaluate_model(model, X, loaded.y_test)
    if STATE.json:
        STATE.emit({"event": "evaluate", "samples": len(X), **scores})
        return
    show_scores(scores, model.class_names, title=f"{data}: {len(X):,} samples")
    if STATE.quiet:
        key = "accuracy" if "accuracy" in scores else "r2"
        print(f"{key} {scores[key]:.4f}")


def _inputs(model: gn.Sequential, paths: list[str]) -> tuple[np.ndarray, list[str]]:
    """Read image files, .npy arrays or CSV rows, preprocessed as the model was trained."""
    from glassnet import datasets

    prep = getattr(model, "preprocessing", None) or {}
    rows: list[np.ndarray] = []
    labels: list[str] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise UserError(f"No input file at {name}.")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False).astype(np.float32)
            array = (
                array.reshape(-1, model.n_inputs) if array.size % model.n_inputs == 0 else (array)
            )
            if array.ndim != 2 or array.shape[1] != model.n_inputs:
                raise UserError(
                    f"{name}: expected {model.n_inputs} values per sample, got an "
                    f"array of shape {array.shape}."
                )
            rows.extend(array)
            labels.extend(f"{name}[{i}]" for i in range(len(array)))
        elif suffix == ".csv":
            features = prep.get("feature_names")
            if not features:
                raise UserError(f"{name}: this model was not trained on a table.")
            table = _read_feature_rows(path, features)
            table = datasets.Standardizer.from_dict(prep["standardizer"]).transform(table)
            rows.extend(table)
            labels.extend(f"{name}:{i + 2}" for i in range(len(table)))
        else:
            if prep.get("kind") != "image":
                raise UserError(f"{name}: this model was not trained on images.")
            size = tuple(prep.get("image_size", [28, 28]))
            color = prep.get("color", "grayscale")
            if prep.get("mnist_centering"):
                image = datasets.mnist_preprocess(datasets.load_image(path, color="grayscale"))
            else:
                image = datasets.load_image(path, size=size, color=color)
            rows.append(image.reshape(-1))
            labels.append(name)
    return np.array(rows, dtype=np.float32).reshape(len(rows), -1), labels


def _read_feature_rows(path: Path, features: list[str]) -> np.ndarray:
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = [f for f in features if f not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path}: missing feature columns {missing}.")
        values = []
        for line, record in enumerate(reader, start=2):
            try:
                values.append([float(record[f]) for f in features])
            except (TypeError, ValueError):
                raise UserError(f"{path}, row {line}: every feature must be a number.") from None
    return np.array(values, dtype=np.float32).reshape(-1, len(features))


@app.command()
@_guarded
def predict(
    model_path: Annotated[str, typer.Argument(metavar="MODEL", help="Model file or run dir.")],
    inputs: Annotated[
        list[str], typer.Argument(metavar="INPUT...", help="Image files, .npy arrays or CSV files.")
    ],
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="How many classes to list.")] = 3,
) -> None:
    """Predict the class (with probabilities) or value of each input."""
    model = load_model(model_path)
    X, labels = _inputs(model, inputs)
    names = model.class_names
    results: list[dict[str, Any]] = []
    if model.output == "identity":
        values = np.atleast_2d(model.predict(X).T).T
        results = [
            {"input": label, "value": v.tolist() if v.size > 1 else float(v[0])}
            for label, v in zip(labels, values, strict=True)
        ]
    else:
        proba = model.predict_proba(X)
        for label, p in zip(labels, proba, strict=True):
            order = np.argsort(-p, kind="stable")[: max(1, top_k)]
            top = [
                {"class": int(i), "name": names[i] if names else str(i), "probability": float(p[i])}
                for i in order
            ]
            results.append(
                {
                    "input": label,
                    "class": top[0]["class"],
                    "name": top[0]["name"],
                    "probability": top[0]["probability"],
                    "top": top,
                }
            )
    if STATE.json:
        for result in results:
            STATE.emit(result)
        return
    for result in results:
        if "value" in result:
            print(f"{result['input']}: {result['value']}")
        else:
            others = ", ".join(f"{t['name']} {t['probability']:.3f}" for t in result["top"][1:])
            print(
                f"{result['input']}: {result['name']} ({result['probability']:.3f})"
                + (f"  — then {others}" if others else "")
            )


@app.command()
@_guarded
def inspect(
    model_path: Annotated[str, typer.Argument(metavar="MODEL", help="Model file or run dir.")],
    layer: Annotated[
        str | None,
        typer.Option(help="Layer of neurons: 0 is the first hidden layer, or a name like dense_1."),
    ] = None,
    neuron: Annotated[int | None, typer.Option(help="Neuron index in that layer.")] = None,
    input_path: Annotated[
        str | None,
        typer.Option(
            "--input", help="An input (image, .npy, CSV) to compute the neuron's z and a for."
        ),
    ] = None,
) -> None:
    """The model's summary; with --layer and --neuron, one neuron's numbers written out."""
    model = load_model(model_path)
    if layer is None and neuron is None:
        if STATE.json:
            STATE.emit(
                {
                    "event": "summary",
                    "config": model.get_config(),
                    "parameters": model.n_parameters,
                    "class_names": model.class_names,
                }
            )
        else:
            print(model.summary())
        return
    if layer is None or neuron is None:
        raise UserError("Give both --layer and --neuron to inspect a neuron.")
    which: int | str = int(layer) if layer.lstrip("-").isdigit() else layer
    x = _inputs(model, [input_path])[0][0] if input_path else None
    cell = model.neuron(which, neuron, x)
    w = cell.weights
    strongest = np.argsort(-np.abs(w), kind="stable")[:5]
    record = {
        "layer": cell.layer,
        "neuron": cell.index,
        "activation": cell.activation,
        "bias": cell.bias,
        "weights": {
            "count": int(w.size),
            "min": float(w.min()),
            "max": float(w.max()),
            "mean": float(w.mean()),
            "std": float(w.std()),
            "norm": float(np.linalg.norm(w)),
        },
        "strongest": [{"input": int(i), "weight": float(w[i])} for i in strongest],
    }
    if cell.z is not None:
        record.update(z=cell.z, a=cell.a)
    if STATE.json:
        STATE.emit(record)
        return
    stats = record["weights"]
    print(f"{cell.layer} neuron {cell.index} ({cell.activation})")
    print(f"bias b = {cell.bias:.6g}")
    print(
        f"{stats['count']} incoming weights: min {stats['min']:.4g}, max {stats['max']:.4g}, "
        f"mean {stats['mean']:.4g}, std {stats['std']:.4g}, ‖w‖ {stats['norm']:.4g}"
    )
    print(
        "strongest: "
        + ", ".join(f"w[{s['input']}] = {s['weight']:.4g}" for s in record["strongest"])
    )
    if cell.z is not None:
        print(cell.formula())


@app.command()
@_guarded
def plot(
    run: Annotated[str, typer.Argument(help="A run directory written by 'glassnet train'.")],
) -> None:
    """Draw a run's training curves, confusion matrix, first-layer weights and activations."""
    run_dir = Path(run)
    history_file = run_dir / "history.json"
    if not history_file.is_file():
        raise UserError(f"{run} is not a run directory: it has no history.json.")
    model = load_model(str(run_dir))
    history = json.loads(history_file.read_text())
    metrics_file = run_dir / "metrics.json"
    scores = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    sample_file = run_dir / "sample.npy"
    sample = np.load(sample_file, allow_pickle=False)[0] if sample_file.is_file() else None
    written = draw_run(
        run_dir, model, history, scores, sample, getattr(model, "preprocessing", None) or {}
    )
    if STATE.json:
        STATE.emit({"event": "plots", "files": [str(p) for p in written]})
    else:
        for path in written:
            print(path)


@app.command()
@_guarded
def download(
    name: Annotated[str, typer.Argument(help="mnist or fashion-mnist.")],
    data_dir: Annotated[str | None, typer.Option(help="Download here instead of the cache.")] = (
        None
    ),
    mirror: Annotated[
        list[str] | None,
        typer.Option(
            help="Base URL to download from instead of the data set's own mirrors (repeatable)."
        ),
    ] = None,
) -> None:
    """Fetch a named data set into the cache (checksums verified, progress shown)."""
    from glassnet import datasets

    if name not in ("mnist", "fashion-mnist"):
        raise UserError(f"Unknown data set {name!r}; expected mnist or fashion-mnist.")
    folder = datasets.download(
        name, data_dir, mirrors=mirror or None, progressbar=not STATE.quiet and not STATE.json
    )
    if STATE.json:
        STATE.emit({"event": "download", "name": name, "folder": str(folder)})
    else:
        print(f"{name}: {folder}")


@app.command()
@_guarded
def lab(
    model_path: Annotated[
        str | None,
        typer.Argument(metavar="[MODEL]", help="A model file or run directory to start with."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (beyond loopback: a warning).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8000,
    model_dir: Annotated[str, typer.Option(help="Where the page saves and loads models.")] = ".",
    data_dir: Annotated[str | None, typer.Option(help="Look for data sets here first.")] = None,
    allow_host: Annotated[
        list[str] | None, typer.Option(help="An extra host name the lab answers to (repeatable).")
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = (
        False
    ),
) -> None:
    """Start the lab: a local web page to draw a digit and watch every neuron (Ctrl-C stops)."""
    from glassnet import lab as lab_server

    path = Path(model_path) if model_path else None
    if path is not None and path.is_dir():
        path = path / MODEL_FILE
    lab_server.serve(
        path,
        host=host,
        port=port,
        model_dir=model_dir,
        allowed_hosts=allow_host or (),
        data_dir=data_dir,
        open_browser=open_browser,
    )


def run() -> None:
    """Entry point of the ``glassnet`` command."""
    app()


if __name__ == "__main__":
    run()
