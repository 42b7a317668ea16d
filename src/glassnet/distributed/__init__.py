"""Beyond one machine: data-parallel training over MPI, and sweeps on joblib or Dask.

``mpi``: `MPICommunicator`, passed as ``fit(..., communicator=...)`` (needs the ``mpi`` extra);
``sweeps``: grids of training settings run on joblib processes or a Dask cluster (the ``dask``
extra). Neither imports its engine until it is used.
"""

from . import mpi, sweeps
from .mpi import DistributedError, MPICommunicator, launched_world_size
from .sweeps import expand_grid, parse_grid, run_sweep

__all__ = [
    "DistributedError",
    "MPICommunicator",
    "expand_grid",
    "launched_world_size",
    "mpi",
    "parse_grid",
    "run_sweep",
    "sweeps",
]
