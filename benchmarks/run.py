#!/usr/bin/env python3
"""Benchmark glassnet against PyTorch (CPU) and scikit-learn on the same workloads (issue 5).

    python benchmarks/run.py                            # every installed peer, every usable CPU
    python benchmarks/run.py --threads 1 --workloads seed --json seed.json
    python benchmarks/run.py --quick --peers glassnet   # a smoke run in a few seconds

One process trains the same networks on the same data with each framework in turn and prints a
Markdown report — median time per epoch, each peer's time ÷ glassnet's, test accuracy, GFLOP/s
against this machine's measured float32 matmul peak, prediction latency and throughput, peak
memory, import time, and issue 5's targets with PASS/MISS — followed by the same figures as JSON.
Peak memory is the one figure measured in fresh child processes (one per framework and
workload), because a process's peak cannot be split between frameworks.

The thread count must be in the environment before NumPy or PyTorch load their thread pools,
which is why this file imports only the standard library at the top and the rest after parsing.

Files: ``workloads.py`` (data, workloads, one trainer per framework), ``measure.py`` (timing,
matmul peak, memory, import time, machine), ``report.py`` (targets and Markdown).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import sys
import time
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path

PEERS = ("glassnet", "glassnet-numpy", "numpy", "torch", "torch-dataloader", "sklearn")
WORKLOADS = ("seed", "wide")
# NUMBA_NUM_THREADS: the threads of glassnet's compiled kernels (read when numba loads).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _name_list(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {', '.join(allowed)}; got {text!r}"
            )
        return names

    return parse


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark glassnet against PyTorch (CPU) and scikit-learn (issue 5)."
    )
    parser.add_argument(
        "--workloads",
        type=_name_list(WORKLOADS),
        default=list(WORKLOADS),
        help="comma-separated: seed, wide (default: both)",
    )
    parser.add_argument(
        "--peers",
        type=_name_list(PEERS),
        default=list(PEERS),
        help="comma-separated frameworks to run, missing ones skipped with a note (default: "
        + ",".join(PEERS)
        + ")",
    )
    parser.add_argument(
        "--epochs", type=_positive, help="override every workload's epochs (seed 5, wide 3)"
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=usable_cpus(),
        help=f"BLAS/OpenMP threads for every framework (default: the usable CPUs, {usable_cpus()})",
    )
    parser.add_argument(
        "--json",
        default="-",
        metavar="PATH",
        help="write the JSON here (default: '-', printed after the Markdown)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2,000 training and 1,000 test images, 1 epoch, short measurements",
    )
    parser.add_argument(
        "--dataset",
        choices=("fashion-mnist", "mnist"),
        default="fashion-mnist",
        help="the 60,000 training and 10,000 test images (default: fashion-mnist; mnist when "
        "present)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the four MNIST-format files (default: where glassnet.datasets finds "
        "them, e.g. /usr/share/datasets/fashion-mnist from Debian's dataset-fashion-mnist)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="initial weights and shuffling (default: 0)"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the per-framework memory processes"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for other processes to leave the CPUs (< 5 %% busy; "
        "default: 0, no wait)",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="measure nothing: print the report of an earlier run's JSON",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="an earlier run's JSON (e.g. benchmarks/results/...): the NumPy path's time is "
        "checked against its glassnet figures (target: without numba, no regression)",
    )
    parser.add_argument(
        "--no-compile-cost",
        action="store_true",
        help="skip the two fresh processes that measure numba's first-run compile cost",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # "framework:workload", internal
    args = parser.parse_args(argv)
    # Sizes of every measurement: the full run, or a smoke run that finishes in seconds.
    full = not args.quick
    args.train_limit = None if full else 2000
    args.test_limit = None if full else 1000
    args.warmup_batches = 100 if full else 5
    args.latency_calls, args.latency_block = (20_000, 100) if full else (1000, 50)
    args.throughput_batch, args.throughput_calls = (10_000, 10) if full else (1000, 3)
    args.budget_s = 3.0 if full else 0.3
    args.matmul_size, args.matmul_repeats = (4096, 3) if full else (512, 2)
    args.import_repeats = 5 if full else 3
    if args.quick and args.epochs is None:
        args.epochs = 1
    return args


def set_thread_count(threads: int) -> None:
    """Every BLAS and OpenMP runtime reads one of these when it loads."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    set_thread_count(args.threads)
    if args.child:
        import measure

        return measure.child_main(args)
    if args.from_json:
        import report

        results = json.loads(args.from_json.read_text())
        results["targets"] = report.check_targets(results)
        print(report.markdown(results))
        return 0
    return benchmark(args, argv)


def available_peers(requested: list[str], requirements: dict) -> tuple[list[str], dict]:
    peers, skipped = [], {}
    for key in requested:
        module, install = requirements[key]
        if find_spec(module) is None:
            skipped[key] = f"`{module}` is not installed (`{install}`)"
        else:
            peers.append(key)
    return peers, skipped


def benchmark(args: argparse.Namespace, argv: list[str]) -> int:
    started = time.perf_counter()
    import workloads as wl

    try:
        args.data_dir, data_found_by = wl.find_data(args.dataset, args.data_dir)
    except FileNotFoundError as error:
        print(f"benchmarks/run.py: {error}", file=sys.stderr)
        return 2
    dataset = wl.DATASETS[args.dataset]
    peers, skipped = available_peers(args.peers, wl.REQUIREMENTS)
    for key, note in skipped.items():
        progress(f"skipping {key}: {note}")
    if "glassnet" in peers:
        import glassnet  # noqa: F401  (loaded now so its version is reported)
    if any(key.startswith("torch") for key in peers):
        import torch

        torch.set_num_threads(args.threads)
    if "sklearn" in peers:
        import sklearn.neural_network  # noqa: F401  (loaded now so its version is reported)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=args.threads)  # also caps pools that ignore the environment

    import measure
    import report

    if args.wait_idle > 0:
        progress(f"waiting up to {args.wait_idle:g} s for the other processes to leave the CPUs")
        share = measure.wait_until_idle(args.wait_idle)
        progress(f"other processes now use {100 * share:.0f} % of the CPUs")
    whole_run = measure.OtherProcessesCpu()
    load_start = os.getloadavg()
    machine = measure.machine_info(args.threads)
    progress(f"float32 matmul peak ({args.matmul_size}×{args.matmul_size})")
    matmul = measure.matmul_peak(
        args.matmul_size, args.matmul_repeats, with_torch="torch" in sys.modules
    )
    compile_cost = None
    if "glassnet" in peers and not (args.quick or args.no_compile_cost):
        progress("numba's first-run compile cost (two fresh processes, empty cache, then warm)")
        compile_cost = measure.compile_cost()
    progress("import times")
    import_time = {
        module: measure.import_seconds(module, args.import_repeats)
        for module in ("glassnet", "numpy")
    }

    progress(f"loading {dataset} from {args.data_dir} (found by {data_found_by})")
    X, y = wl.load_split(args.data_dir, "train", args.train_limit)
    X_test, y_test = wl.load_split(args.data_dir, "t10k", args.test_limit)
    n_classes = int(max(y.max(), y_test.max())) + 1
    data = (X, y, X_test, y_test)

    results_by_workload = {}
    for name in args.workloads:
        workload = wl.WORKLOADS[name]
        if args.epochs is not None:
            workload = replace(workload, epochs=args.epochs)
        sizes = workload.sizes(X.shape[1], n_classes)
        weights = wl.initial_weights(workload, sizes, args.seed)
        flops_per_epoch = wl.training_flops_per_sample(sizes) * len(X)
        # the FLOP floor: this epoch's matrix products at the rate BLAS reaches on their shapes
        on_shapes = measure.matmul_on_shapes(sizes, workload.batch_size, args.matmul_repeats + 2)
        on_shapes["floor_epoch_s"] = flops_per_epoch / on_shapes["gflops"] / 1e9
        for key in peers:
            progress(f"{name}: warming up {key}")
            measure.warm_up(wl.TRAINERS[key], workload, weights, data, args)
        trainers = {key: wl.TRAINERS[key](workload, weights, args.seed) for key in peers}
        progress(f"{name}: {workload.epochs} epoch(s) of each, interleaved")
        seconds = measure.train_interleaved(trainers, X, y, workload.epochs)
        frameworks = {}
        for key, trainer in trainers.items():
            median = statistics.median(seconds[key])
            frameworks[key] = result = {
                "label": trainer.label,
                "version": trainer.version(),
                "epoch_seconds": seconds[key],
                "median_epoch_s": median,
                "test_accuracy": trainer.accuracy(X_test, y_test),
                "gflops": flops_per_epoch / median / 1e9,
                "percent_of_peak": 100 * flops_per_epoch / median / 1e9 / matmul["peak_gflops"],
                **trainer.notes(),
            }
            if key != "torch-dataloader":  # its network predicts exactly like PyTorch eager's
                progress(f"{name}: prediction with {key}")
                meter = measure.OtherProcessesCpu()
                result.update(measure.prediction(trainer, X_test, args))
                result["others_cpu_share_prediction"] = meter.share()
            progress(f"  {key}: {median:.3f} s/epoch, test accuracy {result['test_accuracy']:.4f}")
        del trainers
        if "glassnet" in frameworks:
            reference = frameworks["glassnet"]["median_epoch_s"]
            for result in frameworks.values():
                result["ratio_to_glassnet"] = result["median_epoch_s"] / reference
        results_by_workload[name] = {
            "description": workload.describe(X.shape[1], n_classes),
            "sizes": sizes,
            "epochs": workload.epochs,
            "batch_size": workload.batch_size,
            "parameters": wl.n_parameters(sizes),
            "flops_per_epoch": flops_per_epoch,
            "matmul_on_shapes": on_shapes,
            "load_average_after_each_round": seconds["load_average"],
            "others_cpu_share_each_round": seconds["others_cpu_share"],
            "frameworks": frameworks,
        }

    if not args.no_memory:
        for name, workload_results in results_by_workload.items():
            for key, result in workload_results["frameworks"].items():
                progress(f"memory: {name}, {key} (fresh process)")
                result["memory"] = measure.memory_in_child(key, name, args)

    reasons = []
    if args.quick:
        reasons.append("a --quick smoke run on a subset of the data")
    if args.epochs is not None and not args.quick:
        reasons.append(f"--epochs {args.epochs} instead of each workload's own")
    if args.dataset != "fashion-mnist":
        reasons.append(f"run on {dataset}, not Fashion-MNIST")
    command = "python benchmarks/run.py" + "".join(" " + shlex.quote(a) for a in argv)
    results = {
        "command": command,
        "started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "comparable_with_targets": not reasons,
        "not_comparable_because": reasons,
        "machine": machine,
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "others_cpu_share": whole_run.share(),
        "data": {
            "name": dataset,
            "dir": str(args.data_dir),
            "found_by": data_found_by,
            "train_samples": len(X),
            "test_samples": len(X_test),
            "features": X.shape[1],
            "classes": n_classes,
        },
        "matmul": matmul,
        "kernels": {"compile_cost": compile_cost},
        "baseline": baseline_figures(args.baseline),
        "import_time": import_time,
        "skipped": skipped,
        "workloads": results_by_workload,
        "method": method_notes(args),
    }
    results["targets"] = report.check_targets(results)
    results["elapsed_s"] = time.perf_counter() - started

    print(report.markdown(results))
    encoded = json.dumps(results, indent=2)
    if args.json == "-":
        print("## Results as JSON\n\n```json\n" + encoded + "\n```")
    else:
        Path(args.json).write_text(encoded + "\n")
        progress(f"JSON written to {args.json}")
    return 0


def baseline_figures(path: Path | None) -> dict | None:
    """glassnet's median s/epoch per workload in an earlier run's JSON, and where it came from."""
    if path is None:
        return None
    earlier = json.loads(path.read_text())
    medians = {
        name: w["frameworks"]["glassnet"]["median_epoch_s"]
        for name, w in earlier["workloads"].items()
        if "glassnet" in w["frameworks"]
    }
    commit = earlier.get("machine", {}).get("glassnet_commit")
    return {"path": str(path), "commit": commit, "median_epoch_s": medians}


def method_notes(args: argparse.Namespace) -> list[str]:
    return [
        "Same process, frameworks in turn, same float32 data, same hyperparameters, same "
        "initial weights for glassnet, bare NumPy and PyTorch (Glorot uniform for sigmoid, He "
        "normal for ReLU, zero biases); scikit-learn uses its own initialisation.",
        "s/epoch: wall time of each full shuffled pass over the training set, median over the "
        "epochs. The frameworks take turns epoch by epoch (rotating order, 0.3 s pause between), "
        "so a change in the machine's load hits them alike. Warm-up excluded: first a throwaway "
        f"model of each framework trains on {args.warmup_batches} batches and predicts; the "
        "timed models start fresh from the shared weights.",
        "time ÷ glassnet's: the peer's median s/epoch divided by glassnet's in the same run "
        "(above 1: glassnet is faster).",
        'glassnet: `kernel="auto"` (numba\'s compiled kernels when installed; the kernel '
        "column of the JSON says which ran); glassnet, NumPy path: the same with "
        '`kernel="numpy"`, what a machine without numba runs. Compiled kernels are cached on '
        "disk; the first-run compile cost is measured apart, in two fresh processes (an empty "
        "cache, then the filled one). "
        "glassnet: `MLP`, then `fit(epochs=1)` per turn, continuing with the same optimizer "
        "and shuffling generator, timed by an `on_epoch_begin`/`on_epoch_end` callback (fit's "
        "one-off input checks, as in `fit(epochs=N)`, fall outside; JSON `fit_call_seconds` "
        "has them in). PyTorch eager: `X[perm[i:i+B]]` slicing, no "
        "DataLoader, no `loss.item()`. PyTorch + DataLoader: `DataLoader(TensorDataset(X, y), "
        "shuffle=True)` with `loss.item()` per batch, as the tutorials write it. scikit-learn: "
        "`MLPClassifier(alpha=0, nesterovs_momentum=False)`, one `partial_fit` per epoch (its "
        "input checks included, as for anyone who trains it that way). Bare "
        "NumPy loop: the same math without a library, a floor for glassnet's overhead.",
        "GFLOP/s: matrix-product FLOPs per epoch (per sample 6·Σ n_in·n_out − 2·n_in₀·n_out₀: "
        "forward, dL/dW and dL/dx except the first layer's) ÷ median s/epoch; elementwise work "
        "is not counted. % of peak: against the best float32 `A @ B` measured first. FLOP "
        "floor: the epoch's FLOPs at the rate NumPy's BLAS reaches on the step's own product "
        "shapes (forward, dL/dW, dL/dx at that batch size), i.e. the time of the matrix "
        "products alone.",
        f"Prediction: class probabilities from the trained network; 1 sample: median over blocks "
        f"of {args.latency_block} calls (up to {args.latency_calls:,} calls); batch: median of up "
        f"to {args.throughput_calls} calls on {args.throughput_batch:,} test images. PyTorch: "
        "`softmax(model(x))` under `inference_mode`, input already a tensor. PyTorch + "
        "DataLoader trains differently but predicts the same way, so it is not repeated.",
        "Memory: a fresh process per framework and workload imports the framework and loads the "
        "training set (baseline), resets the kernel's peak-RSS counter, trains one epoch and "
        "reads the peak (VmHWM); the whole process counts, interpreter and libraries included.",
        "Import time: median of fresh `python -c 'import glassnet'` runs minus `python -c pass`, "
        "with bytecode written first (as an installed package has it).",
        f"Threads: {args.threads} for every framework, set in OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS "
        "before NumPy, numba and PyTorch load, torch.set_num_threads, and threadpoolctl.",
    ]


if __name__ == "__main__":
    sys.exit(main())
