"""The kinds of constructor options a layer declares, so model files are checked as data.

A layer class lists its options in ``options``, e.g. Dense's
``{"n_inputs": Option("int", required=True, low=1), "use_bias": Option("bool"), ...}``. The
model-file reader checks a file's layer config against them (JSON type, bounds, choices) before
it builds anything, and refuses options a layer does not declare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# the kinds an option may have, and what JSON values they accept
KINDS = {
    "int": "an integer",
    "real": "a number",
    "bool": "true or false",
    "text": "a string",
    "initializer": "an initializer name or a number",
    "ints": "an integer or a list of integers",
    "choice": "one of the listed strings",
}
# the largest size a model file may name: far beyond any real layer, small enough to multiply
MAX_SIZE = 2**31 - 1


@dataclass(frozen=True)
class Option:
    """One constructor option: its kind, whether a file must give it, and its bounds."""

    kind: str
    required: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    length: tuple[int, int] = (1, 1)  # how many integers an "ints" option may list

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown option kind {self.kind!r}; expected one of {list(KINDS)}.")
