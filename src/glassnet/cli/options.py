"""The settings of ``glassnet train``: their defaults and reading them from a TOML config file.

``evaluate`` reuses the same settings to load a data set the way ``train`` did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .application import UserError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

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
    "schedule": "cosine",
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


def read_config(path: str | None) -> dict[str, Any]:
    """The settings in a TOML file (top level or a ``[train]`` table); ``{}`` without a file."""
    if path is None:
        return {}
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
