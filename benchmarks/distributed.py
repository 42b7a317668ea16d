"""Data-parallel training over MPI: 1 vs N ranks on one machine, and a cost model (issue 16).

    python benchmarks/distributed.py            # wide MLP and cnn2, Fashion-MNIST, 1 and 2 ranks
    python benchmarks/distributed.py --workloads cnn2 --samples 512 --epochs 1   # a smoke run

For each workload and rank count the script launches ``mpiexec -n N`` (N = 1: one plain
process, no MPI) of itself in ``--worker`` mode, each rank with one BLAS thread, training with
the same seed:

- ``wide``, the workload of ``workloads.py``: 784-512-512-10, ReLU, Adam 1e-3, global batch 128;
- ``cnn2``, as in ``cnn.py``: `glassnet.CNN` with conv 32 3×3, pool, conv 64 3×3, pool,
  dense 128, 10 (ReLU), Adam 1e-3, global batch 64 — little gradient per step for its compute.

Rank 0 reports per epoch: its time, the time spent in the gradient Allreduce, and the steps.

The cost model it prints (and writes with --json):

- compute per step   C(N) = (epoch time − Allreduce time) / steps, measured;
- bytes per Allreduce  B = 4 · parameters (the packed float32 gradient buffer);
- a ring Allreduce sends and receives 2·(N−1)/N · B per rank per step, so keeping communication
  below the compute of one step needs a link of bandwidth ≥ 2·(N−1)/N · B / C(N);
- N machines pay off while C(1)/N + 2·(N−1)/N · B / bandwidth + latency < C(1), i.e. when the
  global batch is large enough that each rank's share still costs more than sending the gradient.

Figures measured while other work runs on the machine are not comparable; the lead measures
alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import WORKLOADS, find_data, load_split  # noqa: E402

SEED = 0
CNN2 = "cnn2"  # conv 32 3×3, pool, conv 64 3×3, pool, dense 128, 10
CNN2_BATCH, CNN2_LEARNING_RATE = 64, 1e-3  # as benchmarks/cnn.py trains it
NAMES = [*sorted(WORKLOADS), CNN2]


def build(name: str, X: np.ndarray, n_classes: int):
    """The workload's model, inputs, global batch size and learning rate."""
    import glassnet as gn

    if name == CNN2:
        model = gn.CNN((1, 28, 28), [32, 64], dense=[128], n_classes=n_classes, seed=SEED)
        return model, X.reshape(-1, 1, 28, 28), CNN2_BATCH, CNN2_LEARNING_RATE
    workload = WORKLOADS[name]
    sizes = workload.sizes(X.shape[1], n_classes)
    model = gn.MLP(sizes, activation=workload.activation, seed=SEED)
    return model, X, workload.batch_size, workload.learning_rate


def describe(name: str) -> str:
    if name == CNN2:
        layers = "conv 32 3×3, pool, conv 64 3×3, pool, dense 128, 10"
        return f"cnn2: {layers}, relu, Adam, global batch {CNN2_BATCH}"
    workload = WORKLOADS[name]
    sizes = "-".join(map(str, workload.sizes(784, 10)))
    return f"{name}: {sizes}, {workload.activation}, Adam, global batch {workload.batch_size}"


def worker(args: argparse.Namespace) -> None:
    """One rank: train and, on rank 0, print one JSON line of timings."""
    import glassnet as gn
    from glassnet.distributed import MPICommunicator, launched_world_size

    folder = Path(args.data)
    X, y = load_split(folder, "train", args.samples)
    comm = MPICommunicator() if launched_world_size() > 1 else None
    model, X, batch_size, learning_rate = build(args.workload, X, int(y.max()) + 1)
    optimizer = gn.Adam(model.parameters(), learning_rate=learning_rate)

    class Timer(gn.Callback):
        def __init__(self) -> None:
            self.epochs: list[dict[str, float]] = []

        def on_epoch_begin(self, epoch, logs):
            self.started = time.perf_counter()
            self.reduce0 = comm.allreduce_seconds if comm else 0.0
            self.steps0 = comm.steps if comm else 0

        def on_epoch_end(self, epoch, logs):
            self.epochs.append(
                {
                    "seconds": time.perf_counter() - self.started,
                    "allreduce_seconds": (comm.allreduce_seconds if comm else 0.0) - self.reduce0,
                    "steps": (comm.steps if comm else 0) - self.steps0,
                    "loss": logs["loss"],
                }
            )

    timer = Timer()
    model.fit(
        X,
        y,
        epochs=args.epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        seed=SEED,
        callbacks=[timer],
        communicator=comm,
    )
    if comm is None or comm.rank == 0:
        record = {
            "ranks": 1 if comm is None else comm.size,
            "samples": len(X),
            "steps_per_epoch": -(-len(X) // batch_size),
            "gradient_bytes": int(model._grads.nbytes),
            "epochs": timer.epochs,
        }
        print(json.dumps(record), flush=True)


def launch(n: int, workload: str, args: argparse.Namespace, data: Path) -> dict:
    command = [sys.executable, __file__, "--worker", "--data", str(data)]
    command += ["--workload", workload, "--samples", str(args.samples)]
    command += ["--epochs", str(args.epochs)]
    if n > 1:
        mpiexec = shutil.which("mpiexec")
        if mpiexec is None:
            raise SystemExit("mpiexec is missing: apt-get install openmpi-bin libopenmpi-dev")
        command = [mpiexec, "-n", str(n), "--oversubscribe", *command]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{workload} on {n} ranks failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(record: dict) -> dict:
    """Median epoch figures (the first epoch dropped when there are more: warm-up)."""
    epochs = record["epochs"][1:] or record["epochs"]
    seconds = float(np.median([e["seconds"] for e in epochs]))
    reduce = float(np.median([e["allreduce_seconds"] for e in epochs]))
    steps = record["steps_per_epoch"]
    return {
        "ranks": record["ranks"],
        "epoch_seconds": seconds,
        "allreduce_ms_per_step": 1e3 * reduce / steps,
        "compute_ms_per_step": 1e3 * (seconds - reduce) / steps,
        "gradient_bytes": record["gradient_bytes"],
    }


def cost_model(rows: list[dict]) -> dict:
    one = next(r for r in rows if r["ranks"] == 1)
    model = {"compute_ms_per_step_1_rank": one["compute_ms_per_step"]}
    model["bytes_per_allreduce"] = one["gradient_bytes"]
    for row in rows:
        n = row["ranks"]
        row["speed_up"] = one["epoch_seconds"] / row["epoch_seconds"]
        if n > 1:
            sent = 2 * (n - 1) / n * row["gradient_bytes"]  # ring Allreduce, per rank and step
            # bandwidth at which sending the gradient takes as long as one step's compute
            row["bandwidth_needed_GB_s"] = sent / (row["compute_ms_per_step"] * 1e-3) / 1e9
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help="Folder of the IDX files.")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--workloads", default="wide,cnn2", help=f"Some of {','.join(NAMES)}.")
    parser.add_argument("--workload", default="wide", choices=NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--ranks", default="1,2", help="Rank counts, e.g. 1,2.")
    parser.add_argument("--json", default=None, help="Write the results here.")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    data = Path(args.data) if args.data else find_data(args.dataset, None)[0]
    names = args.workloads.split(",")
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(NAMES)}")
    ranks = [int(n) for n in args.ranks.split(",")]
    if 1 not in ranks:
        ranks.insert(0, 1)
    results = {}
    for name in names:
        records = [launch(n, name, args, data) for n in ranks]
        rows = [summarise(record) for record in records]
        model = cost_model(rows)
        results[name] = {"rows": rows, "cost_model": model}
        print(f"{describe(name)}; {args.samples} samples, {args.epochs} epochs; 1 BLAS thread/rank")
        print(
            f"parameters: {model['bytes_per_allreduce'] // 4:,}  bytes per Allreduce: "
            f"{model['bytes_per_allreduce']:,}"
        )
        print(
            "| ranks | s / epoch | speed-up | compute ms / step | Allreduce ms / step | "
            "bandwidth needed GB/s |"
        )
        print("|---|---|---|---|---|---|")
        for r in rows:
            need = r.get("bandwidth_needed_GB_s")
            print(
                f"| {r['ranks']} | {r['epoch_seconds']:.3f} | {r['speed_up']:.2f} | "
                f"{r['compute_ms_per_step']:.2f} | {r['allreduce_ms_per_step']:.3f} | "
                f"{'-' if need is None else f'{need:.2f}'} |"
            )
        print()
    if args.json:
        Path(args.json).write_text(json.dumps({"workloads": results}, indent=2))


if __name__ == "__main__":
    main()
