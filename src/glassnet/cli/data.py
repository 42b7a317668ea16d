"""The data ``train`` and ``evaluate`` work on: a named data set, a CSV file or an image folder.

Each source becomes one :class:`Data`, split into train and test, with the preprocessing a model
file records so that ``predict`` can prepare new inputs the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import datasets

from .application import UserError
from .options import MAX_IMAGE_SIDE

#: Class folders named so are handwritten digits unless ``--no-digits`` is given.
DIGIT_NAMES = frozenset("0123456789")


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
    # image folders: the file of each training row (for a learning map's hard.csv)
    train_paths: list[str] | None = None


def _parse_size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UserError(
            f"--image-size must look like 28x28 (height x width), got {text!r}."
        ) from None
    if not (1 <= height <= MAX_IMAGE_SIDE and 1 <= width <= MAX_IMAGE_SIDE):
        raise UserError(
            f"--image-size sides must be from 1 to {MAX_IMAGE_SIDE} pixels, got {text!r}."
        )
    return height, width


def _named(name: str, data_dir: str | None, split: str):
    try:
        return datasets.load(name, split, data_dir=data_dir)
    except datasets.DatasetNotFoundError:
        raise
    except datasets.DatasetError as error:  # e.g. the other data set under the same names
        raise UserError(str(error)) from None


def load_data(source: str | None, options: dict[str, Any], test_only: bool = False) -> Data:
    """Load a named data set, a CSV file or an image folder, split into train and test.

    ``test_only``: for a named data set, read only its test files (``evaluate``), so that the
    test files alone on disk are enough; ``X_train`` is then empty.
    """
    notes: list[str] = []
    name = source or "mnist"
    if name in ("mnist", "fashion-mnist"):
        try:
            test = _named(name, options["data_dir"], "test")
            train = test if test_only else _named(name, options["data_dir"], "train")
        except datasets.DatasetNotFoundError as error:
            if source is not None or name != "mnist":
                raise UserError(str(error)) from None
            notes.append(
                "MNIST is not available on this machine (not found and could not be downloaded);"
                " training on Fashion-MNIST instead."
            )
            name = "fashion-mnist"
            test = _named(name, options["data_dir"], "test")
            train = test if test_only else _named(name, options["data_dir"], "train")
        notes.append(f"Data: {name} from {train.source_path}")
        height, width = train.images.shape[1:]
        return Data(
            name,
            train.X[:0] if test_only else train.X,
            train.labels[:0] if test_only else train.labels,
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
    if not path.is_dir() and not path.is_file():  # a FIFO or device would block the reader
        raise UserError(f"{path} is not a regular file or a folder; give a CSV file or a folder.")
    if path.is_dir():
        digits = digit_folder(path, options)
        # Digits: each image as MNIST (mnist_preprocess inverts, crops, scales and centres it
        # in 28 x 28), recorded as mnist_centering so every tool prepares new images the same.
        size = (28, 28) if digits else _parse_size(options["image_size"])
        folder = datasets.load_image_folder(path, size=size, color=options["color"], digits=digits)
        X, y = folder.flat(), folder.y
        # Dark ink on light paper (scans, drawings) is inverted to bright-on-dark as MNIST
        # is, and recorded so that every tool inverts new images the same way (digits are
        # inverted one by one by mnist_preprocess instead).
        invert = not digits and options["color"] == "grayscale" and float(X.mean()) > 0.5
        if invert:
            X = 1.0 - X
        X_train, X_test, y_train, y_test = datasets.train_test_split(
            X, y, test_size=0.2, seed=options["seed"]
        )
        notes.append(f"Data: {len(X)} images of {len(folder.class_names)} classes from {path}")
        if digits:
            notes.append(
                "Handwritten digits (--digits, or class folders named 0-9): each image is "
                "inverted if light, cropped, scaled and centred in 28x28 as MNIST; "
                "--no-digits turns this off."
            )
        # the same split of the row numbers (it depends on y and the seed only) names the files
        rows = datasets.train_test_split(np.arange(len(y)), y, test_size=0.2, seed=options["seed"])
        train_paths = [str(folder.paths[i]) for i in rows[0]]
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
                "mnist_centering": digits,
                "invert": invert,
            },
            notes=notes,
            train_paths=train_paths,
        )
    if path.suffix.lower() != ".csv":
        raise UserError(f"{path}: expected a .csv file or a folder of images.")
    if not options["target"]:
        raise UserError(f"{path} is a table: name the column to predict with --target COLUMN.")
    features = options.get("features")
    chosen = [f.strip() for f in str(features).split(",") if f.strip()] if features else None
    if features is not None and not chosen:
        raise UserError("--features must name at least one column, e.g. --features age,city.")
    try:
        table = datasets.load_csv(
            path, target=options["target"], features=chosen, categorical="auto"
        )
    except datasets.DatasetError as error:
        raise UserError(_cli_words(str(error))) from None
    X_train, X_test, y_train, y_test = datasets.train_test_split(
        table.X,
        table.y,
        test_size=0.2,
        seed=options["seed"],
    )
    recipe = datasets.table_preprocessing(table, X_train, y_train)
    encoded = (
        f", {len(table.categories)} text column(s) one-hot encoded" if table.categories else ""
    )
    notes.append(
        f"Data: {len(table.X)} rows, {len(table.columns)} columns -> {table.X.shape[1]} "
        f"features{encoded} from {path} ({table.task}, target {table.target_name!r})"
    )
    scaler = datasets.Standardizer.from_dict(recipe["standardizer"])
    if "target_scaling" in recipe:
        # Train on the standardised target; train.py folds the scaling back into the model.
        y_mean, y_scale = recipe["target_scaling"]["mean"], recipe["target_scaling"]["scale"]
        y_train = ((y_train - y_mean) / y_scale).astype(np.float32)
    return Data(
        path.stem,
        scaler.transform(X_train),
        y_train,
        scaler.transform(X_test),
        y_test,
        list(table.class_names) if table.class_names else None,
        recipe,
        task=table.task,
        notes=notes,
    )


def digit_folder(path: Path, options: dict[str, Any]) -> bool:
    """Whether an image folder holds handwritten digits, to be prepared as MNIST.

    ``--digits`` / ``--no-digits`` decide (``options["digits"]`` True or False); left unset,
    a grayscale folder whose class folders are all named by single digits (``0/`` to ``9/``,
    two or more) is taken for digits. Raises UserError for ``--digits`` with ``--color rgb``.
    """
    chosen = options.get("digits")
    if chosen is not None and not isinstance(chosen, bool):
        raise UserError(f"digits must be true or false, got {chosen!r}.")
    if chosen and options["color"] != "grayscale":
        raise UserError(
            "--digits prepares grayscale digits as MNIST; drop --color rgb or --digits."
        )
    if chosen is not None:
        return chosen
    classes = [p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return (
        options["color"] == "grayscale"
        and len(classes) >= 2
        and all(name in DIGIT_NAMES for name in classes)
    )


def _cli_words(message: str) -> str:
    """A table error in the words of the CLI: its options, not Python's arguments."""
    for python, cli in (
        ("features=[...]", "--features a,b"),
        ("target=", "--target "),
        ("feature names", "--features names"),
        ("categorical columns", "text columns"),
        (", or one-hot encode text columns with categorical='auto'", ""),
    ):
        message = message.replace(python, cli)
    return message
