#!/usr/bin/env python3
"""Finding flipped labels with a learning map: Fashion-MNIST with 5% of its labels flipped.

    python benchmarks/label_noise.py                      # the target: 60,000 images, 10 epochs
    python benchmarks/label_noise.py --model mlp          # the 784-128-10 ReLU network instead
    python benchmarks/label_noise.py --samples 3000 --epochs 2 --hidden 32   # a smoke run

Flips ``--noise`` of the training labels at random (each to one of the other classes), trains
with a `LearningMap` and reports which share of the flipped examples the hardest ``noise`` share
of each ranking holds. The network (``--model``):

- ``cnn`` (default): conv16-pool-conv32-pool-dense64, ReLU — what
  ``glassnet train fashion-mnist --arch conv16-pool-conv32-pool-dense64 --validation-split 0
  --map`` trains. More accurate on Fashion-MNIST than the MLP, it leaves fewer clean examples
  it cannot fit, which is what crowds the flips out of the hardest 5% (see the README).
- ``mlp``: 784-``hidden``-10 ReLU (``glassnet train --activation relu --hidden 128``).

Both: Adam, 1e-3, cosine schedule with a warm-up epoch, batches of 32, seed 0 (the CLI's
defaults for ReLU). The rankings:

- glassnet's ranking (`glassnet.train.cartography.statistics`; target ≥ 90%),
- plain mean confidence (mean p(label) over the epochs),
- cleanlab's ``find_label_issues`` and its label-quality ranking, if cleanlab is installed
  (``pip install cleanlab``; a benchmark-only peer), given out-of-sample probabilities from
  ``--folds``-fold cross-validation of the same network (what cleanlab asks for), which costs
  ``folds`` more trainings (``--folds 0``: skip).

It also states the map's memory and, unless ``--no-timing``, its time cost against the same fit
without the map. The shares are accuracy figures, reproducible with the fixed seeds, whatever
the machine's load; the times are only meaningful on an idle machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import glassnet as gn
from glassnet import datasets
from glassnet.models import architecture
from glassnet.train.cartography import LearningMap


def flip_labels(y: np.ndarray, share: float, n_classes: int, seed: int) -> np.ndarray:
    """The indices of ``share`` of the labels, each changed in place to another class."""
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(y), int(round(share * len(y))), replace=False)
    y[flipped] = (y[flipped] + rng.integers(1, n_classes, len(flipped))) % n_classes
    return flipped


def held(ranking: np.ndarray, flipped: np.ndarray, count: int) -> float:
    """The share of ``flipped`` among the first ``count`` of ``ranking``."""
    return float(np.isin(ranking[:count], flipped).sum() / len(flipped))


CNN_SPEC = "conv16-pool-conv32-pool-dense64"  # with --arch: relu, as glassnet train does


def build(args) -> gn.Sequential:
    if args.model == "cnn":
        return architecture.build_cnn(CNN_SPEC, (1, 28, 28), 10, "softmax", "relu", seed=0)
    return gn.MLP([784, args.hidden, 10], activation="relu", output="softmax", seed=0)


def train(X, y, args, callbacks=()) -> gn.Sequential:
    model = build(args)
    schedule = gn.schedules.CosineDecay(1e-3, total=max(args.epochs, 2), warmup=1)
    model.fit(
        X.reshape(len(X), *model.input_shape),  # a CNN takes (n, 1, 28, 28)
        y,
        epochs=args.epochs,
        batch_size=32,
        optimizer="adam",
        learning_rate=1e-3,
        seed=0,
        callbacks=[gn.LearningRateScheduler(schedule), *callbacks],
    )
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=128, help="the MLP's hidden layer")
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=2, help="cleanlab's cross-validation")
    parser.add_argument("--seed", type=int, default=1, help="which labels are flipped")
    parser.add_argument("--no-timing", action="store_true", help="skip the fit without the map")
    args = parser.parse_args()

    data = datasets.load("fashion-mnist", "train")
    X, y = data.X[: args.samples], data.labels[: args.samples].astype(np.int64)
    flipped = flip_labels(y, args.noise, 10, args.seed)
    count = len(flipped)
    network = CNN_SPEC if args.model == "cnn" else f"784-{args.hidden}-10"
    print(
        f"Fashion-MNIST: {len(X):,} training images, {count:,} labels flipped "
        f"({args.noise:.0%}); {network} ReLU, {args.epochs} epochs",
        flush=True,
    )

    plain_seconds = None
    if not args.no_timing:  # first, so that the fit with the map does not pay the warm-up
        started = time.perf_counter()
        train(X, y, args)
        plain_seconds = time.perf_counter() - started
    learning_map = LearningMap()
    started = time.perf_counter()
    train(X, y, args, [learning_map])
    map_seconds = time.perf_counter() - started
    stats = learning_map.statistics()
    mean_confidence = np.argsort(stats.confidence, kind="stable")
    print(f"share of the flipped labels in the hardest {count:,} examples:")
    print(f"  glassnet map ranking     {held(stats.ranking, flipped, count):.1%}   (target ≥ 90%)")
    print(f"  mean confidence          {held(mean_confidence, flipped, count):.1%}", flush=True)
    print(
        f"map memory: {learning_map.nbytes / 1e6:.2f} MB ({learning_map.nbytes / len(X):.0f} "
        f"bytes per example = 4 × {args.epochs} epochs + 6); fit with the map "
        f"{map_seconds:.1f} s",
        end="",
    )
    if plain_seconds is None:
        print()
    else:
        print(f", {plain_seconds:.1f} s without it (to be measured alone)", flush=True)
    if not args.folds:
        return 0

    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        print("  cleanlab                 not installed (pip install cleanlab)")
        return 0
    started = time.perf_counter()
    probabilities = np.zeros((len(X), 10))
    folds = np.random.default_rng(0).permutation(len(X)) % args.folds
    for fold in range(args.folds):
        model = train(X[folds != fold], y[folds != fold], args)
        held_out = X[folds == fold]
        probabilities[folds == fold] = model.predict_proba(
            held_out.reshape(len(held_out), *model.input_shape)
        )
    cv_seconds = time.perf_counter() - started
    issues = find_label_issues(y, probabilities, return_indices_ranked_by="self_confidence")
    quality = np.argsort(get_label_quality_scores(y, probabilities), kind="stable")
    found = np.isin(issues, flipped).sum()
    print(
        f"  cleanlab label quality   {held(quality, flipped, count):.1%}   "
        f"({args.folds}-fold cross-validated probabilities: {cv_seconds:.1f} s more training)"
    )
    print(
        f"  cleanlab find_label_issues flags {len(issues):,}: {found / max(len(issues), 1):.1%} "
        f"of them flipped, {found / count:.1%} of the flipped found"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
