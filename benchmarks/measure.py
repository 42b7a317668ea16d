"""How the benchmark measures: epochs, prediction latency, matmul peak, memory, import time.

Imported only after `run.py` has set the thread count (BLAS reads it when NumPy loads).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from workloads import TRAINERS, WORKLOADS, Trainer, initial_weights, load_split, n_parameters

RUN_PY = Path(__file__).resolve().parent / "run.py"
PAUSE_S = 0.3  # between frameworks: OpenBLAS threads spin ~0.1 s after a call before sleeping


# ---------------------------------------------------------------------------------- timing


def seconds_per_call(
    call: Callable[[], object], calls: int, block: int, budget_s: float
) -> tuple[float, int]:
    """Median seconds per call, timed in blocks of ``block`` calls (timer cost amortised).

    Stops after ``calls`` calls, or earlier once ``budget_s`` has passed and at least 5 blocks
    are in. One untimed block first. Returns (median seconds per call, calls timed).
    """
    for _ in range(block):
        call()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    done = 0
    while done < calls:
        start = time.perf_counter()
        for _ in range(block):
            call()
        samples.append((time.perf_counter() - start) / block)
        done += block
        if len(samples) >= 5 and time.perf_counter() > deadline:
            break
    return statistics.median(samples), done


def warm_up(trainer_cls: type[Trainer], workload, weights, data, settings) -> None:
    """Run a throwaway model of ``trainer_cls`` so one-time costs land outside the timing.

    It trains on the first ``settings.warmup_batches`` batches (plus the epoch's short last
    batch, whose shape is new to the BLAS) and predicts a few times: lazy imports, first-call
    dispatch, thread-pool start and allocator growth all happen here.
    """
    X, y, X_test, _ = data
    size = workload.batch_size
    warm = min(len(X), settings.warmup_batches * size)
    rows = np.r_[0:warm, len(X) - len(X) % size : len(X)]
    throwaway = trainer_cls(workload, weights, settings.seed)
    throwaway.train(X[rows], y[rows], 1)
    for batch in (X_test[:1], X_test[: settings.throughput_batch]):
        predict = throwaway.predictor(batch)
        for _ in range(3):
            predict()
    del throwaway, predict
    gc.collect()


def train_interleaved(trainers: dict[str, Trainer], X, y, epochs: int) -> dict[str, list]:
    """Train every framework for ``epochs`` epochs, one epoch each in turn.

    Interleaving spreads any change in the machine's load (other processes on a shared machine)
    over all frameworks alike, instead of penalising whichever ran while it lasted. The order
    rotates every round, and a short pause between frameworks lets the previous one's
    spin-waiting BLAS/OpenMP threads go to sleep. Returns each framework's epoch times, and per
    round the 1-minute load average after it (``"load_average"``) and the share of the CPUs other
    processes used during it (``"others_cpu_share"``).
    """
    keys = list(trainers)
    seconds: dict[str, list] = {key: [] for key in keys}
    load, others = [], []
    for epoch in range(epochs):
        meter = OtherProcessesCpu()
        shift = epoch % len(keys)
        for key in keys[shift:] + keys[:shift]:
            seconds[key] += trainers[key].train(X, y, 1)
            time.sleep(PAUSE_S)
        load.append(os.getloadavg()[0])
        others.append(meter.share())
    seconds["load_average"], seconds["others_cpu_share"] = load, others
    return seconds


def prediction(trainer: Trainer, X_test, settings) -> dict:
    """One-sample latency and batch throughput of ``trainer``'s class probabilities."""
    latency, calls = seconds_per_call(
        trainer.predictor(X_test[:1]),
        settings.latency_calls,
        block=settings.latency_block,
        budget_s=settings.budget_s,
    )
    batch = X_test[: settings.throughput_batch]
    batch_s, batch_calls = seconds_per_call(
        trainer.predictor(batch), settings.throughput_calls, block=1, budget_s=settings.budget_s
    )
    time.sleep(PAUSE_S)
    return {
        "latency_us": latency * 1e6,
        "latency_calls": calls,
        "throughput_batch": len(batch),
        "throughput_per_s": len(batch) / batch_s,
        "throughput_calls": batch_calls,
    }


class OtherProcessesCpu:
    """The share of all CPUs that *other* processes used since this object was made.

    System-wide busy time from /proc/stat minus this process's own CPU time: on a shared machine
    it says how much the figures could have been disturbed (0 % = the machine was ours).
    """

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        ticks = os.sysconf("SC_CLK_TCK")
        total, idle = sum(values) / ticks, (values[3] + values[4]) / ticks  # idle + iowait
        mine = os.times()  # this process and its finished children (import-time, memory runs)
        return total, idle, mine.user + mine.system + mine.children_user + mine.children_system

    def share(self) -> float | None:
        if not Path("/proc/stat").exists():
            return None
        total, idle, mine = self._read()
        total0, idle0, mine0 = self._start
        capacity = total - total0  # CPU-seconds of all CPUs together
        if capacity <= 0:
            return 0.0
        others = (capacity - (idle - idle0)) - (mine - mine0)
        return min(max(others / capacity, 0.0), 1.0)


def wait_until_idle(max_wait_s: float, threshold: float = 0.05, window_s: float = 2.0) -> float:
    """Wait (up to ``max_wait_s``) until other processes use under ``threshold`` of the CPUs
    over a ``window_s`` window. Returns their share in the last window."""
    deadline = time.monotonic() + max_wait_s
    while True:
        meter = OtherProcessesCpu()
        time.sleep(window_s)
        share = meter.share() or 0.0
        if share < threshold or time.monotonic() >= deadline:
            return share


# ---------------------------------------------------------------------------------- hardware


def matmul_peak(size: int, repeats: int, with_torch: bool) -> dict:
    """The machine's float32 matrix-multiply rate: best of ``repeats`` ``A @ B`` (size × size).

    Measured with NumPy's BLAS and, if loaded, PyTorch's; the higher is the peak the GFLOP/s
    figures are compared with. 2·size³ FLOPs per product.
    """
    rng = np.random.default_rng(0)
    A = rng.random((size, size), dtype=np.float32)
    B = rng.random((size, size), dtype=np.float32)
    C = np.empty((size, size), np.float32)
    flops = 2.0 * size**3

    def best(product: Callable[[], object]) -> float:
        product()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            product()
            times.append(time.perf_counter() - start)
        return flops / min(times) / 1e9

    result = {"size": size, "repeats": repeats}
    result["numpy_gflops"] = best(lambda: np.matmul(A, B, out=C))
    if with_torch:
        import torch

        tA, tB, tC = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C)
        result["torch_gflops"] = best(lambda: torch.matmul(tA, tB, out=tC))
    result["peak_gflops"] = max(v for k, v in result.items() if k.endswith("_gflops"))
    return result


def matmul_on_shapes(sizes: list[int], batch: int, repeats: int) -> dict:
    """The float32 matmul rate on one training step's own products (NumPy's BLAS).

    For each Dense layer (n_in → n_out) of the network: the forward x·W (batch × n_in by
    n_in × n_out), dL/dW = xᵀ·g and, except for the first layer, dL/dx = g·Wᵀ — the products
    `workloads.training_flops_per_sample` counts. Best of ``repeats`` whole steps. A network's
    FLOP floor per epoch is its FLOPs ÷ this rate: the time of the matrix products alone.
    """
    rng = np.random.default_rng(0)
    products = []
    flops = 0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        x = rng.random((batch, n_in), dtype=np.float32)
        W = rng.random((n_in, n_out), dtype=np.float32)
        g = rng.random((batch, n_out), dtype=np.float32)
        products += [(x, W), (x.T, g)] + ([(g, W.T)] if i > 0 else [])
        flops += 2 * batch * n_in * n_out * (3 if i > 0 else 2)

    def step() -> None:
        for a, b in products:
            a.dot(b)

    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(10):
            step()
        times.append((time.perf_counter() - start) / 10)
    return {"sizes": sizes, "batch": batch, "gflops": flops / min(times) / 1e9}


COMPILE_SCRIPT = """
import json, sys, time
import numpy as np
start = time.perf_counter()
import glassnet as gn
rng = np.random.default_rng(0)
X = rng.random((256, 784), dtype=np.float32); y = rng.integers(0, 10, 256)
# the compiled one-call step (small networks), then the layer-by-layer kernels (784-128-10 is
# past the compiled step's size limit), then the compiled one-sample prediction
for sizes, activation, optimizer in (
    ([784, 16, 10], "sigmoid", "sgd"),
    ([784, 16, 10], "relu", "adam"),
    ([784, 128, 10], "relu", "adam"),
):
    model = gn.MLP(sizes, activation=activation, seed=0)
    model.fit(X, y, epochs=1, batch_size=128, optimizer=optimizer, kernel="numba")
    model.predict_proba(X[:1])
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def compile_cost() -> dict:
    """First-run cost of the numba kernels: a fresh process on an empty cache, then a warm one.

    Each process imports glassnet, trains three tiny networks (sigmoid + SGD and ReLU + Adam on
    the compiled one-call step, ReLU + Adam layer by layer) for two batches on the numba path
    and predicts one sample with each; the first compiles every kernel it meets and caches it
    on disk, the second loads them. Returns both wall times and their difference, or an error.
    """
    if importlib.util.find_spec("numba") is None:
        return {"error": "numba is not installed (pip install glassnet[fast])"}
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        # a private cache directory, so that "cold" really starts from nothing
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-c", COMPILE_SCRIPT],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
                return {"error": f"exit {done.returncode}: {tail[0]}"}
            runs.append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    import numba

    return {
        "numba": numba.__version__,
        "cold_s": runs[0],
        "warm_s": runs[1],
        "compile_s": runs[0] - runs[1],
    }


def import_seconds(module: str, repeats: int) -> dict:
    """Median wall time of ``python -c "import module"`` minus that of ``python -c pass``.

    Fresh interpreters, the two interleaved so that a change of load hits both alike. With
    bytecode, as an installed package has it (pip compiles it at install): an untimed first
    import writes it, and PYTHONDONTWRITEBYTECODE, set in some shells, is left out; without
    bytecode every import would compile the sources (~0.1 s for glassnet's).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        return time.perf_counter() - start

    run(f"import {module}")  # writes the bytecode, if it is missing or stale
    bare, loaded = [], []
    for _ in range(repeats):
        bare.append(run("pass"))
        loaded.append(run(f"import {module}"))
    net = statistics.median(loaded) - statistics.median(bare)
    return {"seconds": max(net, 0.0), "interpreter_s": statistics.median(bare), "runs": repeats}


def machine_info(threads: int) -> dict:
    """CPU, memory, OS, library versions and the thread pools each BLAS actually uses."""
    info: dict = {"python": platform.python_version(), "platform": platform.platform()}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        info["cpu"] = models[0].strip() if models else platform.processor()
    else:
        info["cpu"] = platform.processor()
    info["logical_cpus"] = os.cpu_count()
    info["usable_cpus"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())
        info["memory_gib"] = round(int(match.group(1)) / 2**20, 1) if match else None
    info["numpy"] = np.__version__
    for name in ("glassnet", "torch", "sklearn"):
        if name in sys.modules:
            info[name] = sys.modules[name].__version__
    info["glassnet_commit"] = _git_commit(Path(__file__).resolve().parents[1])
    info["threads"] = {
        "requested": threads,
        "environment": {
            k: os.environ.get(k)
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        },
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["threads"]["torch.get_num_threads"] = torch.get_num_threads()
        info["torch_blas"] = "MKL" if torch.backends.mkl.is_available() else "other"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["threads"]["threadpoolctl"] = "not installed: pools not verified"
    else:
        info["threads"]["threadpoolctl"] = [
            {
                "library": _owner(pool.get("filepath", "")),
                **{k: pool.get(k) for k in ("internal_api", "num_threads", "version")},
                "architecture": pool.get("architecture"),
            }
            for pool in threadpool_info()
        ]
    return info


def _git_commit(repo: Path) -> str | None:
    """The checked-out commit of the glassnet being measured, "+dirty" with local changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _owner(filepath: str) -> str:
    """The Python package that ships a shared library: ".../numpy.libs/libx.so" → "numpy"."""
    parts = Path(filepath).parts
    if "site-packages" in parts:
        owner = parts[parts.index("site-packages") + 1]
        return owner.removesuffix(".libs").replace("scikit_learn", "sklearn")
    return Path(filepath).name


# ---------------------------------------------------------------------------------- memory


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field} line")
    return int(match.group(1))


def _reset_peak() -> bool:
    """Reset this process's peak resident size (VmHWM) to its current size (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_in_child(key: str, workload_name: str, args) -> dict:
    """Run `child_main` for one framework and workload in a fresh process; return its report."""
    command = [sys.executable, str(RUN_PY), "--child", f"{key}:{workload_name}"]
    command += ["--threads", str(args.threads), "--data-dir", str(args.data_dir)]
    command += ["--seed", str(args.seed)] + (["--quick"] if args.quick else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {done.returncode}: {tail[0]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(args) -> int:
    """Measure one framework's resident memory while training one epoch of one workload.

    Imports the framework and loads the training set first, then records the resident size
    (baseline) and resets the peak; the peak after one epoch is the memory training needed on top
    of that (one epoch reaches the steady state: every buffer and optimizer state exists after the
    first batches). Prints one JSON line.
    """
    if not Path("/proc/self/status").exists():
        print(json.dumps({"error": "resident memory is read from /proc (Linux only)"}))
        return 0
    key, workload_name = args.child.split(":")
    trainer_cls = TRAINERS[key]
    workload = WORKLOADS[workload_name]
    for module in trainer_cls.imports:
        __import__(module)
    X, y = load_split(args.data_dir, "train", limit=args.train_limit)
    sizes = workload.sizes(X.shape[1], int(y.max()) + 1)
    weights = initial_weights(workload, sizes, args.seed)
    gc.collect()
    baseline_kib = _status_kib("VmRSS")
    reset = _reset_peak()
    trainer = trainer_cls(workload, weights, args.seed)
    trainer.train(X, y, 1)
    # VmHWM belongs to this process image (ru_maxrss would carry the parent's peak over exec).
    peak_kib = _status_kib("VmHWM")
    mib = 1 / 1024
    report = {
        "framework": key,
        "workload": workload_name,
        "epochs": 1,
        "baseline_mib": baseline_kib * mib,
        "peak_training_mib": peak_kib * mib,
        "peak_is_training_only": reset,  # False: the peak since start, loading included
        "data_mib": (X.nbytes + y.nbytes) / 2**20,
        "parameters_mib": n_parameters(sizes) * 4 / 2**20,
    }
    report["increment_mib"] = report["peak_training_mib"] - report["baseline_mib"]
    print(json.dumps(report))
    return 0
