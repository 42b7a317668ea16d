"""The settings of ``glassnet train``: their defaults and reading them from a TOML config file.

``evaluate`` reuses the same settings to load a data set the way ``train`` did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import kernels
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
    "features": None,
    "image_size": "64x64",
    "color": "grayscale",
    "digits": None,
    "limit": None,
    "data_dir": None,
    "out": None,
    "kernel": "auto",
    "threads": 1,
}
#: ``--kernel``: the compiled kernels (numba, the ``fast`` extra) or NumPy's reference code.
KERNELS = ("auto", "numpy", "numba")


#: The allowed range of each numeric setting: (low, high), both included; None = unbounded.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "epochs": (1, 100_000),
    "batch_size": (1, 1_000_000),
    "threads": (1, 256),
    "limit": (1, None),
    "early_stopping": (0, 100_000),
    "seed": (0, 2**32 - 1),
    "momentum": (0.0, 0.999),
    "validation_split": (0.0, 0.9),
}
#: The largest network ``train`` builds: 100 million parameters take about 1.6 GB with their
#: gradients and Adam's two moments (4 bytes each), far beyond what an MLP here needs.
MAX_PARAMETERS = 100_000_000
MAX_IMAGE_SIDE = 4096


def option_name(key: str) -> str:
    """``batch_size`` → ``--batch-size``."""
    return "--" + key.replace("_", "-")


def check_number(value: Any, key: str, low: float | None, high: float | None) -> None:
    """Raise UserError naming the option and its allowed range if ``value`` is outside it."""
    bounds = (
        f"from {low:,} to {high:,}"
        if low is not None and high is not None
        else f"at least {low:,}"
        if low is not None
        else f"at most {high:,}"
    )
    integral = all(isinstance(b, int) for b in (low, high) if b is not None)
    kind = "a whole number" if integral else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{option_name(key)} must be {kind} {bounds}, got {value!r}.")
    if integral and not isinstance(value, int):
        raise UserError(f"{option_name(key)} must be {kind} {bounds}, got {value!r}.")
    if value != value or (low is not None and value < low) or (high is not None and value > high):
        raise UserError(f"{option_name(key)} must be {kind} {bounds}, got {value!r}.")


def check_options(options: dict[str, Any]) -> None:
    """Check every numeric setting of ``train`` against :data:`RANGES` (before any work)."""
    for key, (low, high) in RANGES.items():
        if options.get(key) is not None:
            check_number(options[key], key, low, high)
    rate = options.get("learning_rate")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < 1e6
    ):
        raise UserError(f"--learning-rate must be a number above 0 (e.g. 0.1), got {rate!r}.")
    kernel = options.get("kernel", "auto")
    if kernel not in KERNELS:
        raise UserError(f"--kernel must be one of {', '.join(KERNELS)}; got {kernel!r}.")
    if kernel == "numba" and not kernels.numba_installed():
        raise UserError(
            "--kernel numba needs numba, which is not installed: pip install 'glassnet[fast]', "
            "or use --kernel auto (numba when installed, else NumPy) or --kernel numpy."
        )
    if options.get("arch") is not None and not str(options["arch"]).strip():
        raise UserError("--arch must be layer sizes joined by '-', e.g. 784-16-16-10; got ''.")


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
