"""Shared fixtures: the real MNIST test set from ../shared/data/mnist (never committed)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``$GLASSNET_SHARED`` or the ``shared/`` folder beside the repository."""
    return Path(os.environ.get("GLASSNET_SHARED", REPO_ROOT.parent / "shared"))


def _read_idx_gz(path: Path) -> np.ndarray:
    # A minimal reader so the core tests do not depend on glassnet.datasets.
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    path = shared_dir() / "data" / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"The real MNIST test set is not at {path} (set GLASSNET_SHARED).")
    return path


@pytest.fixture(scope="session")
def mnist_test(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits as float32 (10000, 784) in [0, 1] and int labels."""
    images = _read_idx_gz(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = _read_idx_gz(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)
