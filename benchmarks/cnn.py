"""CNN benchmark (issue 11): LeNet-5 and cnn2 on Fashion-MNIST, glassnet against PyTorch eager.

Both frameworks get the same data (float32 (n, 1, 28, 28) in [0, 1]), the same initial weights
(glassnet's, copied into PyTorch with the kernel mapping of `Conv2D`'s docstring), the same
order of samples each epoch, batch 64 and Adam 1e-3, on ``--threads`` threads. glassnet runs on
both kernel paths: ``glassnet`` (``kernel="auto"``: numba when installed) and ``glassnet-numpy``
(``kernel="numpy"``, the reference). Printed per workload and framework: seconds per epoch, the
ratio to PyTorch, the training GFLOP/s and its share of the measured matmul peak, and the test
accuracy; then issue 11's targets, PASS or MISS. ``--profile`` adds where glassnet's time goes,
layer by layer, forward and backward, on both paths side by side (an A/B in one process).

    python benchmarks/cnn.py                      # the real run: 60,000 images, idle machine
    python benchmarks/cnn.py --epochs 10 --workloads cnn2   # the accuracy target
    python benchmarks/cnn.py --limit 640 --test-limit 500   # a smoke run

Targets (issue 11, measured alone on an idle machine): glassnet ≥ 1.5× faster than PyTorch eager
on both workloads; cnn2 ≥ 91.5 % on Fashion-MNIST's 10,000 test images after 10 epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

SPEED_TARGET = 1.5  # PyTorch eager's time ÷ glassnet's, both workloads
ACCURACY_TARGET = (10, 0.915)  # cnn2 after this many epochs, on the full test set

WORKLOADS = {
    # LeNet-5: 6 and 16 filters of 5×5 (the first padded to keep 28×28), pools, 120-84-10
    "lenet5": "conv6k5same-pool-conv16k5-pool-dense120-dense84",
    # cnn2: conv 32 3×3, pool, conv 64 3×3, pool, dense 128, 10
    "cnn2": "conv32-pool-conv64-pool-dense128",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="lenet5,cnn2")
    parser.add_argument("--peers", default="glassnet,glassnet-numpy,torch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images")
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--profile", action="store_true", help="glassnet's time per layer")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="glassnet's learning rate per epoch: constant 1e-3 (the speed comparison), or "
        "cosine: `glassnet train`'s default (a warm-up epoch, then half a cosine down to 0)",
    )
    return parser.parse_args(argv)


def set_threads(threads: int) -> None:
    # NOTE: BLAS reads these when NumPy (or torch) loads, so before any import of them.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def main(argv=None) -> int:
    args = parse_args(argv)
    set_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    from measure import matmul_peak
    from workloads import find_data, load_split

    import glassnet as gn
    from glassnet.cli.architecture import build_cnn

    peers = args.peers.split(",")
    if "torch" in peers:
        import torch

        torch.set_num_threads(args.threads)
    folder, _ = find_data("fashion-mnist", args.data_dir)
    X, y = load_split(folder, "train", args.limit)
    X_test, y_test = load_split(folder, "t10k", args.test_limit)
    X, X_test = X.reshape(-1, 1, 28, 28), X_test.reshape(-1, 1, 28, 28)
    peak = matmul_peak(1024, 5, "torch" in peers)
    print(f"matmul peak: {peak['peak_gflops']:.0f} GFLOP/s ({args.threads} threads)")
    results: dict = {
        "threads": args.threads,
        "matmul": peak,
        "epochs": args.epochs,
        "schedule": args.schedule,
        "full_data": args.limit is None and args.test_limit is None,
        "workloads": {},
    }
    orders = [np.random.default_rng(epoch).permutation(len(X)) for epoch in range(args.epochs)]
    for name in args.workloads.split(","):
        spec = WORKLOADS[name]
        model = build_cnn(spec, (1, 28, 28), 10, "softmax", "relu", seed=0)
        flops = training_flops_per_sample(model)
        row: dict = {"spec": spec, "training_flops_per_sample": flops, "frameworks": {}}
        weights = model.get_weights().copy()
        for peer in peers:
            model.set_weights(weights)
            if peer == "torch":
                seconds, accuracy = train_torch(model, X, y, X_test, y_test, orders)
            else:
                kernel = "numpy" if peer == "glassnet-numpy" else "auto"
                seconds, accuracy = train_glassnet(
                    model, X, y, X_test, y_test, orders, kernel, args.schedule, args.threads
                )
            epoch_s = float(np.median(seconds))
            gflops = flops * len(X) / epoch_s / 1e9
            row["frameworks"][peer] = {
                "epoch_seconds": seconds,
                "median_epoch_s": epoch_s,
                "gflops": gflops,
                "percent_of_peak": 100 * gflops / peak["peak_gflops"],
                "test_accuracy": accuracy,
            }
            time.sleep(0.3)  # OpenBLAS threads spin a little after a call
        torch_s = row["frameworks"].get("torch", {}).get("median_epoch_s")
        for figures in row["frameworks"].values():
            epoch_s = figures["median_epoch_s"]
            figures["speedup_vs_torch"] = None if torch_s is None else torch_s / epoch_s
        results["workloads"][name] = row
        if args.profile:
            row["profile_ms_per_batch"] = profile_layers(gn, model, X[:64], name)
    print_table(results)
    print_targets(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def training_flops_per_sample(model) -> int:
    """Multiply-adds ×2 of one training step per sample: forward, dL/dW and (but for the first
    layer with parameters) dL/dx, for every Conv2D and Dense layer."""
    import glassnet as gn

    total = 0
    shape = model.input_shape
    first = True
    for layer in model.layers:
        out = layer.output_shape(shape)
        if isinstance(layer, gn.Conv2D):
            macs = out[1] * out[2] * layer.W.value.size
        elif isinstance(layer, gn.Dense):
            macs = layer.W.value.size
        else:
            macs = 0
        if macs:
            total += 2 * macs * (2 if first else 3)
            first = False
        shape = out
    return total


def train_glassnet(
    model, X, y, X_test, y_test, orders, kernel="auto", schedule="constant", threads=1
):
    """Seconds per epoch and the test accuracy. ``threads``: each batch split over that many
    threads (`fit(threads=...)`, BLAS on one thread per share), as PyTorch gets them."""
    import glassnet as gn

    optimizer = gn.Adam(model.parameters(), learning_rate=1e-3, kernel=kernel)
    rate = (
        gn.schedules.CosineDecay(1e-3, total=max(len(orders), 2), warmup=1)
        if schedule == "cosine"
        else (lambda epoch: 1e-3)
    )
    # numba compiles (or loads from its cache) on first use: not part of an epoch's time
    model.fit(X[:64], y[:64], epochs=1, batch_size=64, optimizer="sgd", learning_rate=0.0,
              kernel=kernel, threads=threads)  # fmt: skip
    seconds = []
    for epoch, order in enumerate(orders):
        optimizer.learning_rate = float(rate(epoch))
        start = time.perf_counter()
        model.fit(
            X[order], y[order], epochs=1, batch_size=64, optimizer=optimizer, shuffle=False,
            kernel=kernel, threads=threads,
        )  # fmt: skip
        seconds.append(time.perf_counter() - start)
    accuracy = float((model.predict(X_test) == y_test).mean())
    return seconds, accuracy


def to_torch(model):
    """The same network in PyTorch, with glassnet's current weights."""
    import numpy as np
    import torch

    import glassnet as gn

    modules = []
    for layer in model.layers:
        if isinstance(layer, gn.Conv2D):
            (kh, kw), c, f = layer.kernel_size, layer.n_channels, layer.n_filters
            top, bottom, left, right = layer.padding
            conv = torch.nn.Conv2d(c, f, (kh, kw), padding=(top, left) if top == bottom else 0)
            if top != bottom or left != right:
                modules.append(torch.nn.ZeroPad2d((left, right, top, bottom)))
            w = layer.W.value.reshape(kh, kw, c, f).transpose(3, 2, 0, 1)  # → (F, C, kh, kw)
            conv.weight.data = torch.from_numpy(np.ascontiguousarray(w))
            conv.bias.data = torch.from_numpy(layer.b.value.copy())
            modules.append(conv)
        elif isinstance(layer, gn.MaxPool2D):
            modules.append(torch.nn.MaxPool2d(layer.pool_size, layer.stride))
        elif isinstance(layer, gn.Flatten):
            modules.append(torch.nn.Flatten())
        elif isinstance(layer, gn.Dense):
            linear = torch.nn.Linear(layer.n_inputs, layer.n_neurons)
            linear.weight.data = torch.from_numpy(np.ascontiguousarray(layer.W.value.T))
            linear.bias.data = torch.from_numpy(layer.b.value.copy())
            modules.append(linear)
        elif isinstance(layer, gn.ReLU):
            modules.append(torch.nn.ReLU())
        else:
            raise TypeError(f"no PyTorch twin for {layer!r}")
    return torch.nn.Sequential(*modules)


def train_torch(model, X, y, X_test, y_test, orders):
    import torch

    net = to_torch(model)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    seconds = []
    for order in orders:
        index = torch.from_numpy(order)
        start = time.perf_counter()
        Xe, ye = tX[index], ty[index]
        for begin in range(0, len(Xe), 64):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(Xe[begin : begin + 64]), ye[begin : begin + 64])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    with torch.no_grad():
        predicted = net(torch.from_numpy(X_test)).argmax(1).numpy()
    return seconds, float((predicted == y_test).mean())


def profile_layers(gn, model, xb, workload: str, repeats: int = 9) -> dict[str, dict[str, float]]:
    """Milliseconds per batch of each layer's forward and backward on both kernel paths, the
    paths taking turns batch by batch (the fastest of ``repeats``: the least disturbed)."""
    import numpy as np

    paths = ("numpy", "numba") if gn.kernels.numba_installed() else ("numpy",)
    times: dict[str, dict[str, list[float]]] = {path: {} for path in paths}
    for _ in range(repeats + 1):
        for path in paths:
            for layer in model.layers:
                if hasattr(layer, "kernel"):
                    layer.kernel = path
            h = xb
            for layer in model.layers:
                start = time.perf_counter()
                h = layer.forward(h, training=True)
                elapsed = time.perf_counter() - start
                times[path].setdefault(f"{layer.name} forward", []).append(elapsed)
            grad = np.ones_like(h) / len(h)
            for layer in reversed(model.layers):
                start = time.perf_counter()
                grad = layer.backward(grad)
                elapsed = time.perf_counter() - start
                times[path].setdefault(f"{layer.name} backward", []).append(elapsed)
                if grad is None:
                    break
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            layer.kernel = "auto"
    profile = {
        path: {key: 1000 * float(np.min(v[1:])) for key, v in found.items()}
        for path, found in times.items()
    }
    first = profile["numpy"]
    print(
        f"\n{workload}: glassnet, ms per batch of {len(xb)} (fastest of {repeats}), largest first:"
    )
    print(f"  {'':28s} {'NumPy':>8s}" + (f" {'numba':>8s} {'ratio':>6s}" if len(paths) > 1 else ""))
    for key in sorted(first, key=lambda k: -first[k])[:14]:
        line = f"  {key:28s} {first[key]:8.2f}"
        if len(paths) > 1:
            fast = profile["numba"][key]
            line += f" {fast:8.2f} {first[key] / max(fast, 1e-9):5.2f}×"
        print(line)
    totals = {path: sum(found.values()) for path, found in profile.items()}
    print("  total".ljust(31) + "".join(f" {totals[path]:8.2f}" for path in paths))
    return profile


def print_table(results: dict) -> None:
    print("\n| workload | framework | s/epoch | speed-up vs torch | GFLOP/s | % of peak | accuracy")
    print("|---|---|---:|---:|---:|---:|---:")
    for name, row in results["workloads"].items():
        for peer, f in row["frameworks"].items():
            speedup = "—" if f["speedup_vs_torch"] is None else f"{f['speedup_vs_torch']:.2f}×"
            print(
                f"| {name} | {peer} | {f['median_epoch_s']:.2f} | {speedup} | "
                f"{f['gflops']:.1f} | {f['percent_of_peak']:.1f} | {f['test_accuracy']:.4f}"
            )


def print_targets(results: dict) -> None:
    """Issue 11's targets as measured in this run (only full-data runs can pass them)."""
    print()
    full = results["full_data"]
    for name, row in results["workloads"].items():
        glassnet = row["frameworks"].get("glassnet")
        if glassnet is None or glassnet["speedup_vs_torch"] is None:
            continue
        ratio = glassnet["speedup_vs_torch"]
        verdict = ("PASS" if ratio >= SPEED_TARGET else "MISS") if full else "not the full data"
        print(f"target: {name} ≥ {SPEED_TARGET}× PyTorch eager: {ratio:.2f}× — {verdict}")
    epochs, goal = ACCURACY_TARGET
    cnn2 = results["workloads"].get("cnn2", {}).get("frameworks", {}).get("glassnet")
    if cnn2 is not None:
        accuracy = cnn2["test_accuracy"]
        verdict = "PASS" if accuracy >= goal else "MISS"
        if results["epochs"] < epochs or not full:
            verdict = f"needs --epochs {epochs} on the full data"
        print(
            f"target: cnn2 ≥ {100 * goal:.1f} % after {epochs} epochs: {100 * accuracy:.2f} % "
            f"after {results['epochs']} ({results['schedule']} learning rate) — {verdict}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
