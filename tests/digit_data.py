"""An MNIST folder made of the real test set (``../shared/data/mnist``), for tests that train
from a named data set: the files a download would leave, holding slices of the 10,000 digits."""

from __future__ import annotations

from pathlib import Path

from glassnet import datasets


def mnist_folder(mnist_dir: Path, root: Path, n_train: int, test_from: int) -> Path:
    """``root/mnist`` with the test set's first ``n_train`` digits as training files and those
    from ``test_from`` on as test files; returns ``root`` (what ``--data-dir`` takes)."""
    images = datasets.read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = datasets.read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    folder = root / "mnist"
    folder.mkdir()
    datasets.write_idx(folder / "train-images-idx3-ubyte.gz", images[:n_train])
    datasets.write_idx(folder / "train-labels-idx1-ubyte.gz", labels[:n_train])
    datasets.write_idx(folder / "t10k-images-idx3-ubyte.gz", images[test_from:])
    datasets.write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[test_from:])
    return root
