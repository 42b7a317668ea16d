"""Sweeps: every combination of a grid of settings, run on joblib processes or a Dask cluster.

A grid is written as the command line takes it, one ``name=value,value,...`` per setting::

    >>> grid = parse_grid(["learning_rate=1e-3,1e-2", "hidden=16,64"])
    >>> grid
    {'learning_rate': [0.001, 0.01], 'hidden': [16, 64]}
    >>> expand_grid(grid)[1]
    {'learning_rate': 0.001, 'hidden': 64}

`run_sweep` calls one function per combination: locally on joblib's worker processes, or, given
a scheduler address, on the workers of that ``dask.distributed`` cluster through joblib's Dask
backend (the same one scikit-learn's ``GridSearchCV`` uses).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["expand_grid", "parse_grid", "parse_value", "run_sweep"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def parse_value(text: str) -> Any:
    """``"16"`` → 16, ``"1e-3"`` → 0.001, ``"true"`` → True, anything else stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """``["name=v1,v2", ...]`` → ``{"name": [v1, v2], ...}``, in the order given.

    Raises
    ------
    ValueError
        For a spec without ``=``, a bad or repeated name, or an empty value.
    """
    if not specs:
        raise ValueError('A sweep needs at least one grid, e.g. --grid "learning_rate=1e-3,1e-2".')
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, equals, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not equals or not _NAME.match(name):
            raise ValueError(
                f'A grid is written NAME=VALUE,VALUE,..., e.g. "learning_rate=1e-3,1e-2"; '
                f"got {spec!r}."
            )
        if name in grid:
            raise ValueError(f"The grid names {name!r} twice; give all its values in one --grid.")
        items = [item.strip() for item in values.split(",")]
        if not values.strip() or any(not item for item in items):
            raise ValueError(f"The grid {spec!r} has an empty value; separate values by commas.")
        grid[name] = [parse_value(item) for item in items]
    return grid


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the last setting changing fastest."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def run_sweep(
    function: Callable[..., Any],
    jobs: Sequence[tuple[Any, ...]],
    scheduler: str | None = None,
    n_jobs: int | None = None,
) -> list[Any]:
    """``[function(*job) for job in jobs]``, computed in parallel; results in the jobs' order.

    Parameters
    ----------
    function : callable
        Importable at module level (it is sent to other processes).
    jobs : sequence of argument tuples
    scheduler : str, optional
        A ``dask.distributed`` scheduler address (``tcp://127.0.0.1:8786``): run on its workers.
        Default: joblib's local worker processes.
    n_jobs : int, optional
        Local processes (default: one per core); with a scheduler, all its workers are used.
    """
    # Lazy: joblib and dask are optional and slow to import; only a sweep needs them.
    import joblib

    tasks = [joblib.delayed(function)(*job) for job in jobs]
    if scheduler is None:
        return joblib.Parallel(n_jobs=n_jobs or -1, backend="loky")(tasks)
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(
            'Sweeps on a Dask cluster need its extra: pip install "glassnet[dask]"'
        ) from None
    try:
        client = Client(scheduler, timeout=5)
    except OSError as error:
        raise ConnectionError(
            f"No Dask scheduler answered at {scheduler} ({error}). Start one with "
            "'dask scheduler' and workers with 'dask worker ADDRESS'."
        ) from None
    with client, joblib.parallel_config(backend="dask"):
        return joblib.Parallel(n_jobs=-1)(tasks)
