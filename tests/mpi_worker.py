"""Train a small MNIST network data-parallel, for test_distributed.py (run under ``mpiexec``).

    mpiexec -n N python mpi_worker.py MNIST_DIR RESULT MODE [CHECKPOINT]

- ``full``: train EPOCHS epochs (the reference);
- ``stop``: train with a `Checkpoint`, stopping after batch STOP_AT of epoch 2 (on every rank);
- ``resume``: continue from CHECKPOINT to the end;
- ``kill``: rank N−1 kills itself with SIGKILL in the middle of epoch 2;
- ``fail``: rank N−1 raises in the middle of epoch 2 (a rank-local error);
- ``interrupt``: like ``stop``, but rank N−1 alone gets a Ctrl-C (SIGINT) after batch STOP_AT
  of epoch 2; every rank must stop after the same batch (the next one).

The network has a `Dropout` layer, so the ranks must also draw the same masks as one process.
Ranks ≥ 1 with ``N > 1`` write RESULT.rank<r>; every mode writes the final weights (raw float32
bytes) and RESULT[.rank<r>].stop.json (batches trained, interrupted), and rank 0 the history
(RESULT.json). One process (N = 1) trains without a communicator: the reference for "the same
global batch gives the same weights".
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.distributed import MPICommunicator, launched_world_size

SAMPLES, EPOCHS, BATCH_SIZE, SEED, STOP_AT = 2001, 3, 64, 3, 10


def read_idx(path: Path) -> np.ndarray:
    """A minimal IDX reader (the format of the MNIST files)."""
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    # 2,001 samples in batches of 64: the last batch (17 samples) is split 8 / 9 on 2 ranks.
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")[:SAMPLES]
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")[:SAMPLES]
    return images.reshape(SAMPLES, -1).astype(np.float32) / 255.0, labels.astype(np.int64)


class At(gn.Callback):
    """Do ``action`` after batch ``batch`` of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int, batch: int, action) -> None:
        self.epoch, self.batch, self.action, self.current = epoch, batch, action, -1

    def on_epoch_begin(self, epoch, logs):
        self.current = epoch

    def on_batch_end(self, batch, logs):
        if (self.current, batch) == (self.epoch, self.batch):
            self.action(self.model)


def stop(model) -> None:
    model.stop_training = True


def kill_self(model) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def interrupt_self(model) -> None:
    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends; fit's handler notes it


class Batches(gn.Callback):
    """Count the batches this rank trained."""

    def __init__(self) -> None:
        self.count = 0

    def on_batch_end(self, batch, logs):
        self.count += 1


def main() -> None:
    folder, result, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    checkpoint = sys.argv[4] if len(sys.argv) > 4 else None
    X, y = mnist(folder)
    comm = MPICommunicator() if launched_world_size() > 1 else None
    rank, size = (0, 1) if comm is None else (comm.rank, comm.size)
    last = rank == size - 1
    model = gn.MLP([784, 32, 10], activation="relu", dropout=0.2, seed=SEED)
    batches = Batches()
    callbacks: list[gn.Callback] = [batches]
    if mode in ("stop", "resume", "interrupt"):
        callbacks.append(gn.Checkpoint(checkpoint))
    if mode == "stop":
        callbacks.append(At(1, STOP_AT, stop))
    if mode == "interrupt" and last:
        callbacks.append(At(1, STOP_AT, interrupt_self))
    if mode == "kill" and last:
        callbacks.append(At(1, STOP_AT, kill_self))
    fit = dict(epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED, communicator=comm)
    if mode == "resume":
        loaded = gn.load_checkpoint(checkpoint)
        model = loaded.model
        history = loaded.resume(X, y, callbacks=callbacks, **fit)
    else:
        optimizer = gn.Adam(model.parameters(), learning_rate=1e-3, clip_norm=1.0)
        if mode == "fail" and last:
            callbacks.append(At(1, STOP_AT, lambda m: setattr(m.layers[0].W, "value", None)))
        history = model.fit(X, y, optimizer=optimizer, callbacks=callbacks, **fit)
    suffix = "" if rank == 0 else f".rank{rank}"
    Path(f"{result}{suffix}").write_bytes(model.get_weights().astype(np.float32).tobytes())
    stopped = {"batches": batches.count, "interrupted": history.interrupted}
    Path(f"{result}{suffix}.stop.json").write_text(json.dumps(stopped))
    if rank == 0:
        Path(f"{result}.json").write_text(json.dumps(history.to_dict()))


if __name__ == "__main__":
    main()
