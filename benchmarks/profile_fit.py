#!/usr/bin/env python3
"""Where glassnet's training time goes: per-call cost of each stage of the training step.

    python benchmarks/profile_fit.py                 # seed workload, 1 thread
    python benchmarks/profile_fit.py --workload wide --threads 2 --cprofile
    python benchmarks/profile_fit.py --workload wide --kernel numpy   # without numba's kernels

Runs the textbook step that `fit` runs — index the batch, each layer's forward, the fused loss,
each layer's backward, the optimizer step — with a timer around every stage, and prints the
microseconds per call of each next to one epoch of `fit` itself (the difference is fit's own
per-batch bookkeeping, or, where fit takes a compiled step of `glassnet.train.fused` — the
one-call step of small networks or the chain step of big ones — what that step saves); then
that step alone on the same batches, where one applies, and
the same for a one-sample `predict_proba`. ``--cprofile`` adds
cProfile's view of one `fit` epoch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="seed", choices=("seed", "wide"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--kernel", default="auto", choices=("auto", "numpy", "numba"))
    args = parser.parse_args()
    for variable in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMBA_NUM_THREADS",
    ):
        os.environ[variable] = str(args.threads)  # before NumPy loads its BLAS

    import numpy as np
    import workloads as wl

    import glassnet as gn
    from glassnet import kernels
    from glassnet.train import fused

    data_dir, _ = wl.find_data("fashion-mnist", None)
    X, y = wl.load_split(data_dir, "train", args.samples)
    workload = wl.WORKLOADS[args.workload]
    sizes = workload.sizes(X.shape[1], int(y.max()) + 1)
    weights = wl.initial_weights(workload, sizes, 0)

    # One epoch of fit, as the benchmark times it (after a warm-up epoch on a slice).
    wl.GlassnetTrainer.kernel = args.kernel
    trainer = wl.GlassnetTrainer(workload, weights, 0)
    trainer.train(X[:3200], y[:3200], 1)
    fit_epoch = trainer.train(X, y, 1)[0]
    fit_step = trainer.step

    # The same step, stage by stage.
    trainer = wl.GlassnetTrainer(workload, weights, 0)
    model, optimizer = trainer.model, trainer.optimizer
    loss_fn = gn.SoftmaxCrossEntropy()
    loss_fn.kernel = args.kernel
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            layer.kernel = args.kernel
    size = workload.batch_size
    totals: dict[str, float] = {}
    clock = time.perf_counter

    def add(stage: str, seconds: float) -> None:
        totals[stage] = totals.get(stage, 0.0) + seconds

    order = np.random.default_rng(0).permutation(len(X))
    n_batches = 0
    start_all = clock()
    for first in range(0, len(X), size):
        t = clock()
        rows = order[first : first + size]
        xb, yb = X.take(rows, axis=0), y.take(rows, axis=0)  # as fit gathers them
        add("index the batch X.take(rows)...", clock() - t)
        a = xb
        for layer in model.layers:
            t = clock()
            a = layer.forward(a, training=True)
            add(f"{layer.name}.forward", clock() - t)
        t = clock()
        _, grad = loss_fn.value_and_gradient(a, yb)
        add("loss value_and_gradient", clock() - t)
        for layer in reversed(model.layers):
            t = clock()
            grad = layer.backward(grad)
            add(f"{layer.name}.backward", clock() - t)
        t = clock()
        optimizer.step()
        add(f"{type(optimizer).__name__}.step", clock() - t)
        n_batches += 1
    loop_epoch = clock() - start_all

    print(f"{args.workload}: {workload.describe(X.shape[1], sizes[-1])}; threads={args.threads}")
    print(f"kernel={args.kernel!r}: the optimizer ran on {optimizer.kernel}")
    print(f"{n_batches} batches. fit epoch {fit_epoch:.3f} s = {1e6 * fit_epoch / n_batches:.1f}")
    print(f"µs/batch; the stage-by-stage loop {loop_epoch:.3f} s (timers included).\n")
    staged = sum(totals.values())
    print(f"{'stage':<36}{'µs/call':>9}{'share':>8}")
    for stage, seconds in totals.items():
        print(f"{stage:<36}{1e6 * seconds / n_batches:9.1f}{100 * seconds / staged:7.1f}%")
    print(f"{'sum of stages':<36}{1e6 * staged / n_batches:9.1f}")
    rest = fit_epoch - staged
    print(f"{'fit minus stages (its bookkeeping)':<36}{1e6 * rest / n_batches:9.1f}")
    print(f"(fit's step: {fit_step}; on the compiled step the difference is its gain)")

    # The compiled one-call step (glassnet.train.fused) on the same batches, where it applies.
    grab = {}

    class Grab(gn.Callback):
        def on_train_begin(self, logs):
            grab["run"] = self.model.current_fit

    fresh = wl.GlassnetTrainer(workload, weights, 0)
    fresh.model.fit(X[:size], y[:size], epochs=1, batch_size=size, optimizer=fresh.optimizer,
                    callbacks=[Grab()], kernel=args.kernel)  # fmt: skip
    path = kernels.resolve(args.kernel)
    why = fused.blocker(fresh.model, grab["run"], path)
    why_chain = fused.chain_blocker(fresh.model, grab["run"], path)
    if why is None or why_chain is None:
        run = grab["run"]
        run.X, run.y = X, y
        one_call = why is None
        compiled = (
            fused.FusedStep(fresh.model, run) if one_call else fused.ChainStep(fresh.model, run)
        )
        start = clock()
        for first in range(0, len(X), size):
            compiled.step(order[first : first + size])
        seconds = clock() - start
        label = "compiled step (one call a batch)" if one_call else "chain step (NumPy products)"
        print(f"{label:<36}{1e6 * seconds / n_batches:9.1f}")
        print(f"{'  sum of stages ÷ that step':<36}{staged / seconds:9.2f}×")
    else:
        print(f"compiled step: not taken ({why}); chain step: not taken ({why_chain})")

    # One-sample predict_proba, piece by piece (medians over many calls).
    x1 = X[:1]
    calls = 20_000

    def per_call(function) -> float:
        for _ in range(1000):
            function()
        start = clock()
        for _ in range(calls):
            function()
        return 1e6 * (clock() - start) / calls

    pieces = {"predict_proba(x), whole call": lambda: model.predict_proba(x1)}
    pieces["  check_inputs(x)"] = lambda: model.check_inputs(x1)
    outputs = [x1]
    for layer in model.layers:
        outputs.append(layer.forward(outputs[-1]))
    for layer, inp in zip(model.layers, outputs, strict=False):
        pieces[f"  {layer.name}.forward"] = lambda layer=layer, inp=inp: layer.forward(inp)
    softmax = gn.activations.get(model.output)
    pieces[f"  {model.output} of the raw outputs"] = lambda: softmax.function(outputs[-1].copy())
    pieces["  (the .copy() inside the line above)"] = lambda: outputs[-1].copy()
    print(f"\n{'one-sample prediction':<36}{'µs/call':>9}")
    for piece, function in pieces.items():
        print(f"{piece:<36}{per_call(function):9.2f}")

    # The lean path on each kernel (model.kernel), as predict_proba takes it for a few samples.
    checked = model.check_inputs(x1)
    paths = ["numpy"] + (["numba"] if kernels.numba_installed() else [])
    for path in paths:
        model.kernel = path
        start = clock()
        model.predict_proba(x1)  # builds the plan; on numba, compiles or loads the disk cache
        first = 1e6 * (clock() - start)
        whole = per_call(lambda: model.predict_proba(x1))
        lean = per_call(lambda: model.lean_proba(checked))
        print(f"{f'predict_proba(x), kernel={path!r}':<36}{whole:9.2f}")
        print(f"{'  of which lean_proba':<36}{lean:9.2f}")
        print(f"{'  first call (plan, compile/cache)':<36}{first:9.0f}")
    model.kernel = args.kernel

    if args.cprofile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(trainer.train, X, y, 1)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    return 0


if __name__ == "__main__":
    sys.exit(main())
