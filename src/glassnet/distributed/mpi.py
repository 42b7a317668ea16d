"""Data-parallel training over MPI: one process per rank, one Allreduce of the gradient per step.

Under ``mpiexec -n N`` every rank runs the same script with the same data and settings. For each
global mini-batch (``batch_size`` samples cut from one sample order, rank 0's, broadcast each
epoch) rank ``r`` takes the contiguous rows ``[n·r/N, n·(r+1)/N)``, computes the mean gradient
``g_r`` of its ``n_r`` rows, and one Allreduce makes every rank's packed gradient buffer::

    g = Σ_r (n_r / n) · g_r        # the mean gradient of the whole global batch

so each optimizer then takes the same step (clipping, if any, sees this global gradient) and the
weights stay bit-identical everywhere (checked at every epoch end by a CRC32 of the packed
weights). The same Allreduce, one step earlier, sums a small status vector: a failure flag, the
batch's loss, correct count and samples, and the Ctrl-Cs received. The logs are therefore global,
a rank whose step raised stops every rank, which then raise together instead of waiting for it
forever, and a Ctrl-C on any rank stops every rank after the same batch.

Layers that draw random numbers (dropout, augmentation) draw them for the whole global batch on
every rank and keep their shard's rows (`glassnet.nn.Layer.random_rows`, set up by the fit
loop): every rank's generator goes through the same states as one process's would, so N ranks
use one process's dropout masks and a checkpoint's generator state (rank 0's) fits every rank.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import zlib
from typing import Any

import numpy as np

__all__ = ["DistributedError", "MPICommunicator", "launched_world_size"]

# The launcher's variables that say how many ranks this job has: Open MPI, then MPICH/Hydra
# and Intel MPI (PMI), then PMIx launchers.
WORLD_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE")


class DistributedError(ConnectionError):
    """Another rank failed, or the ranks no longer agree (a ``ConnectionError``, an OSError)."""


def launched_world_size() -> int:
    """How many ranks the MPI launcher started this process among (1 when not under mpiexec).

    Read from the launcher's environment, so that nothing imports MPI outside of an MPI job.
    """
    for name in WORLD_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


class MPICommunicator:
    """The ranks of an MPI job, for ``fit(..., communicator=MPICommunicator())``.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator to train over. Default: ``MPI.COMM_WORLD``.

    Attributes
    ----------
    rank, size : int
        This process's rank and the number of ranks.
    allreduce_seconds : float
        Time spent in the gradient Allreduce so far (for benchmarks); ``steps`` counts them.

    Notes
    -----
    Made in the main thread, it turns SIGTERM into a `DistributedError`: that is how ``mpiexec``
    ends the surviving ranks when one dies, and the error says so instead of a silent exit.
    A Ctrl-C (SIGINT) or SIGUSR1 on any rank stops every rank after the same batch (`fit`
    reports ``history.interrupted``; rank 0's callbacks save). Open MPI's ``mpiexec`` passes
    SIGUSR1 on to every rank, so ``kill -USR1 <pid of mpiexec>`` is the graceful stop; a
    Ctrl-C at mpiexec's terminal reaches mpiexec alone (each rank has its own process group),
    which then ends the job at once.

    Examples
    --------
    Save as ``train.py`` and run ``mpiexec -n 2 python train.py``::

        comm = MPICommunicator()
        model.fit(X, y, epochs=5, batch_size=256, seed=0, communicator=comm)
        if comm.rank == 0:
            glassnet.save(model, "model.glassnet")
    """

    def __init__(self, comm: Any = None) -> None:
        try:
            # Lazy: importing mpi4py initialises MPI, which only an MPI job should pay for.
            from mpi4py import MPI
        except ImportError:
            raise ImportError(
                'Training over MPI needs mpi4py and an MPI library: pip install "glassnet[mpi]" '
                "and, on Debian, apt-get install openmpi-bin libopenmpi-dev."
            ) from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank: int = self.comm.Get_rank()
        self.size: int = self.comm.Get_size()
        # [failed ranks, Σ loss·n, Σ correct, Σ n, stop requests (Ctrl-C, SIGUSR1)], summed
        # over the ranks at every step
        self._status = np.zeros(5, dtype=np.float64)
        self.allreduce_seconds = 0.0
        self.steps = 0
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._terminated)

    def __repr__(self) -> str:
        return f"MPICommunicator(rank={self.rank}, size={self.size})"

    # -- the three hooks of the fit loop (glassnet.train.loop.Communicator) --------------------

    def same_order(self, order: np.ndarray) -> np.ndarray:
        """Rank 0's sample order on every rank (the generators agree; this makes sure)."""
        order = np.ascontiguousarray(order, dtype=np.int64)
        self.comm.Bcast(order, root=0)
        return order

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's contiguous rows of the global batch ``[start, stop)``: n/N of them."""
        n = stop - start
        return start + n * self.rank // self.size, start + n * (self.rank + 1) // self.size

    def forward_backward(
        self,
        step: Any,
        model: Any,
        loss: Any,
        xb: np.ndarray,
        yb: np.ndarray,
        n_global: int,
        interrupt: Any,
    ) -> tuple[float, int, int]:
        """``step(model, loss, xb, yb)`` on this rank's rows, then the global gradient and sums.

        ``step`` returns (mean loss, correct) of the local rows and fills ``model._grads``.
        Returns the global batch's (mean loss, correct, samples), the same on every rank, and
        sets ``interrupt.raised`` on every rank if any rank's ``interrupt.requested`` is set
        (a Ctrl-C that arrives after this reduction counts in the next step's).
        """
        n_local = len(xb)
        failure: Exception | None = None
        batch_loss, correct = 0.0, 0
        try:
            if n_local:
                batch_loss, correct = step(model, loss, xb, yb)
            else:  # a last batch smaller than the number of ranks: nothing to add here (nor
                # any dropout mask drawn: this rank's generator falls behind; see the README)
                model._grads.fill(0)
        except Exception as error:  # every rank must reach the Allreduce below, so catch all
            failure = error
        status = self._status
        status[:] = (
            failure is not None,
            batch_loss * n_local,
            correct,
            n_local,
            interrupt.requested,
        )
        # The ranks wait for each other here (after each one's compute), so this reduction is
        # waited for in Python: a SIGTERM from the launcher, sent when another rank died, then
        # becomes a DistributedError with a message instead of an endless wait in C.
        self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, status, op=self.MPI.SUM))
        if status[0]:
            self._stop(failure)
        if status[4]:  # a stop request on some rank: every rank stops after this batch
            interrupt.raised = True
        total_loss, total_correct, seen = float(status[1]), int(status[2]), int(status[3])
        if not np.isfinite(total_loss):  # every rank sees it: fit restores and raises
            return total_loss, total_correct, seen
        grads = model._grads  # the packed gradient buffer: one message for all parameters
        grads *= grads.dtype.type(n_local / n_global)
        started = time.perf_counter()
        self.comm.Allreduce(self.MPI.IN_PLACE, grads, op=self.MPI.SUM)
        self.allreduce_seconds += time.perf_counter() - started
        self.steps += 1
        return total_loss / max(seen, 1), total_correct, seen

    def end_epoch(self, model: Any, epoch: int) -> None:
        """Check, by a CRC32 of the packed weights, that every rank holds the same weights."""
        checksum = zlib.crc32(np.ascontiguousarray(model._values).data)
        checksums = self.comm.allgather(checksum)
        if len(set(checksums)) > 1:
            differing = [r for r, c in enumerate(checksums) if c != checksums[0]]
            raise DistributedError(
                f"After epoch {epoch + 1} the weights of ranks {differing} differ from rank 0's "
                "(CRC32 of the packed weights). Every rank must get the same data, model and "
                "settings; a layer that keeps per-rank state (such as batch statistics computed "
                "on each rank's shard) cannot be trained data-parallel yet."
            )

    # -- failures -------------------------------------------------------------------------------

    def _wait(self, request: Any) -> None:
        """Wait for a non-blocking collective, letting Python signal handlers run meanwhile."""
        while not request.Test():
            time.sleep(0)  # yield the core: with one rank per core a busy loop would steal it

    def _stop(self, failure: Exception | None) -> None:
        """Some rank's step raised: tell every rank who and why, and raise on all of them."""
        mine = None if failure is None else f"{type(failure).__name__}: {failure}"
        messages = self.comm.allgather(mine)
        if failure is not None:
            raise failure
        first = next(r for r, m in enumerate(messages) if m is not None)
        raise DistributedError(
            f"Rank {first} of {self.size} failed during training, so every rank stopped: "
            f"{messages[first]}"
        )

    def _terminated(self, signum: int, frame: Any) -> None:
        # mpiexec sends SIGTERM to the surviving ranks when one dies (killed, out of memory),
        # and to every rank when it gets a Ctrl-C itself: Open MPI passes no SIGINT on.
        raise DistributedError(
            f"Rank {self.rank} of {self.size}: the MPI launcher ended the job while this rank was "
            "training; another rank died (killed, or out of memory), so its gradients will "
            "never arrive. Look for the rank mpiexec names below. (Or mpiexec got a Ctrl-C, "
            "which Open MPI does not pass on: to stop every rank after the same batch and keep "
            "the run, send SIGUSR1 to mpiexec instead, kill -USR1 <pid of mpiexec>.)"
        )
