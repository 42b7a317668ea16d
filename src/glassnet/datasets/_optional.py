"""Lazy import of the optional dependencies behind the ``glassnet[data]`` extra."""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = 'pip install "glassnet[data]"'
# Import name -> distribution name, where they differ.
_DISTRIBUTION = {"PIL": "Pillow"}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that names the extra to install.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"pooch"`` or ``"PIL.Image"``.
    purpose : str
        What needs it, used in the message, e.g. ``"Downloading data sets"``.

    Returns
    -------
    module : ModuleType
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        package = _DISTRIBUTION.get(top, top)
        raise ImportError(
            f"{purpose} needs the optional package {package!r}, which is not installed "
            f"({error}). Install the data extras with: {INSTALL_HINT}"
        ) from error
