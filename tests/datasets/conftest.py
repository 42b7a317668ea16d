"""Fixtures for the glassnet.datasets tests: real data locators and an isolated environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Official MD5 sums of the MNIST test files (LeCun's site).
MNIST_TEST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def mnist_test_md5() -> dict[str, str]:
    return dict(MNIST_TEST_MD5)


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path_factory, monkeypatch):
    """Never read or write the real user cache, and ignore a GLASSNET_DATA set by the user."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The official MNIST test set in shared/data/mnist beside the repository.

    Found through $GLASSNET_SHARED (the shared/ folder) or as ../shared next to the repo.
    """
    shared = os.environ.get("GLASSNET_SHARED")
    root = Path(shared) if shared else REPO_ROOT.parent / "shared"
    folder = root / "data" / "mnist"
    missing = [name for name in MNIST_TEST_MD5 if not (folder / name).is_file()]
    if missing:
        pytest.skip(
            f"MNIST test files {missing} not found in {folder}; set GLASSNET_SHARED to the "
            "shared/ folder holding data/mnist/"
        )
    return folder


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """Fashion-MNIST as installed by the Debian package dataset-fashion-mnist."""
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"{FASHION_DIR} not found: apt-get install dataset-fashion-mnist")
    return FASHION_DIR
