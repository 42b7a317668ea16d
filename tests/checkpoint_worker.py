"""Train a small MNIST network with checkpoints, for test_checkpoint.py's SIGKILL tests.

    python checkpoint_worker.py MNIST_DIR CHECKPOINT RESULT (full | train | resume) [--pause]
        [--cnn]

- ``full``: train without checkpoints (the uninterrupted reference);
- ``train``: train with a `Checkpoint` every 7 batches. After each save the worker prints
  ``saved <n>`` and waits for a line on stdin before going on, so that the parent test can kill
  it at a chosen point; with ``--pause`` it also prints ``replacing <n>`` and waits just before
  the file is renamed into place (to be killed in the middle of a save);
- ``resume``: continue from CHECKPOINT (or start afresh if there is none), still saving.

Every mode ends by writing the final weights (raw float32 bytes) and the history (JSON) to
RESULT. The parent sets the BLAS thread count to 1, so every process computes the same bits.
With ``--cnn`` the network is convolutional (augmentation, Conv2D, BatchNorm with its running
statistics as buffers, pooling) and the images (n, 1, 28, 28) (issue 11).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import numpy as np

import glassnet as gn

SAMPLES, EPOCHS, BATCH_SIZE, EVERY, SEED = 2000, 3, 50, 7, 1


def read_idx(path: Path) -> np.ndarray:
    """A minimal IDX reader (the format of the MNIST files)."""
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")[:SAMPLES]
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")[:SAMPLES]
    return images.reshape(SAMPLES, -1).astype(np.float32) / 255.0, labels.astype(np.int64)


def small_cnn() -> gn.Sequential:
    layers = [
        gn.Augment(max_shift=2, max_rotation=10.0),
        gn.Conv2D(1, 4, 3, use_bias=False, rng=0),
        gn.BatchNorm(4),
        gn.ReLU(),
        gn.MaxPool2D(2),
        gn.Flatten(),
        gn.Dense(4 * 13 * 13, 10, rng=1),
    ]
    return gn.Sequential(layers, input_shape=(1, 28, 28), output="softmax", seed=0)


def wait_for_parent(message: str) -> None:
    print(message, flush=True)
    sys.stdin.readline()


class ReportingCheckpoint(gn.Checkpoint):
    """A checkpoint that tells the parent after every save and waits for its answer."""

    def save(self, epoch=None, logs=None):
        super().save(epoch, logs)
        wait_for_parent(f"saved {self.saves}")


def pause_before_renames() -> None:
    replace, count = os.replace, [0]

    def paused_replace(source, target):
        count[0] += 1
        wait_for_parent(f"replacing {count[0]}")
        replace(source, target)

    os.replace = paused_replace  # type: ignore[assignment]


def main() -> None:
    folder, checkpoint, result, mode = sys.argv[1:5]
    X, y = mnist(Path(folder))
    cnn = "--cnn" in sys.argv
    if cnn:
        X = X.reshape(-1, 1, 28, 28)
    fit_options = {"epochs": EPOCHS, "batch_size": BATCH_SIZE, "seed": SEED, "shuffle": True}
    if mode == "resume" and os.path.exists(checkpoint):
        saved = gn.load_checkpoint(checkpoint)
        model = saved.model
        history = saved.resume(X, y, callbacks=[gn.Checkpoint(checkpoint, every=EVERY)], seed=SEED)
    else:
        model = (
            small_cnn() if cnn else gn.MLP([784, 32, 10], activation="relu", dropout=0.2, seed=0)
        )
        callbacks: list[gn.Callback] = []
        if mode == "train":
            if "--pause" in sys.argv:
                pause_before_renames()
            callbacks = [ReportingCheckpoint(checkpoint, every=EVERY)]
        elif mode == "resume":
            callbacks = [gn.Checkpoint(checkpoint, every=EVERY)]
        history = model.fit(
            X, y, optimizer="adam", learning_rate=1e-3, callbacks=callbacks, **fit_options
        )
    Path(result).write_text(
        json.dumps({"weights": model.get_weights().tobytes().hex(), "history": history.to_dict()})
    )


if __name__ == "__main__":
    main()
