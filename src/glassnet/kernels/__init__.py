"""Optional compiled kernels: the NumPy code's math in one fused pass, compiled by numba.

glassnet's readable implementation of every operation is NumPy (in `glassnet.train.optimizers`,
`glassnet.nn`, `glassnet.losses`); this package holds the same formulas written per element,
compiled by numba when the ``fast`` extra is installed (``pip install glassnet[fast]``). An
optimizer's update over the packed parameter buffer then reads and writes each number once
instead of a dozen times, which is what makes Adam cheap on a wide network.

The choice is an argument, never an environment variable: ``kernel="auto" | "numpy" | "numba"``
(on the optimizers and on `fit`). "auto" takes numba when it is installed. numba itself is only
imported when a compiled kernel is first used, so ``import glassnet`` stays fast; compiled code is
cached on disk (``cache=True``), so only the very first run pays the compilation.
"""

from __future__ import annotations

import functools
from importlib.util import find_spec
from types import ModuleType

KERNELS = ("auto", "numpy", "numba")


class KernelUnavailableError(ValueError):
    """``kernel="numba"`` was asked for, but numba is not installed."""


@functools.cache
def numba_installed() -> bool:
    """True when numba can be imported (checked once, without importing it)."""
    return find_spec("numba") is not None


def resolve(kernel: str) -> str:
    """The path a ``kernel=`` argument selects: "numpy" or "numba".

    Raises `KernelUnavailableError` for "numba" without numba, ValueError for an unknown name.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got kernel={kernel!r}.")
    if kernel == "numpy":
        return "numpy"
    if numba_installed():
        return "numba"
    if kernel == "numba":
        raise KernelUnavailableError(
            "kernel='numba' needs numba, which is not installed. Install it with "
            "`pip install glassnet[fast]`, or use kernel='auto' (numba when installed, "
            "else NumPy) or kernel='numpy'."
        )
    return "numpy"


@functools.cache
def compiled_updates() -> ModuleType:
    """The compiled optimizer updates (`glassnet.kernels.updates`), imported on first use."""
    # NOTE: a lazy import of the heavy optional package numba (≈ 0.3 s), for import time.
    from . import updates as module

    return module


@functools.cache
def compiled_elementwise() -> ModuleType:
    """The compiled fused layer work (`glassnet.kernels.elementwise`), imported on first use."""
    # NOTE: a lazy import of the heavy optional package numba (≈ 0.3 s), for import time.
    from . import elementwise as module

    return module


@functools.cache
def compiled_forward() -> ModuleType:
    """The compiled small-network prediction (`glassnet.kernels.forward`), imported on first use."""
    # NOTE: a lazy import of the heavy optional package numba (≈ 0.3 s), for import time.
    from . import forward as module

    return module


@functools.cache
def compiled_training() -> ModuleType:
    """The compiled one-call training step (`glassnet.kernels.training`), imported on first use."""
    # NOTE: a lazy import of the heavy optional package numba (≈ 0.3 s), for import time.
    from . import training as module

    return module


@functools.cache
def compiled_conv() -> ModuleType:
    """The compiled window work of convolution and pooling (`glassnet.kernels.conv`), imported
    on first use."""
    # NOTE: a lazy import of the heavy optional package numba (≈ 0.3 s), for import time.
    from . import conv as module

    return module
