"""What the CLI tests share: the CLI in-process, a run's weights, and the skip when Debian's
Fashion-MNIST (the run directories' real data) is not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import glassnet as gn
from glassnet.cli import app

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


def invoke(*args: str) -> tuple[int, str, str]:
    """``glassnet ARGS...`` in this process: exit code, stdout, stderr (a crash re-raised)."""
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run(*args: str) -> tuple[int, str, str]:
    """``glassnet -q ARGS...``, as `invoke`."""
    return invoke("-q", *args)


def weights(run_dir: Path) -> np.ndarray:
    """The trained weights of a run directory, as one vector."""
    return gn.load(run_dir / "model.glassnet").get_weights()
