#!/usr/bin/env python3
"""Finding flipped labels with a learning map: Fashion-MNIST with 5% of its labels flipped.

    python benchmarks/label_noise.py                      # the target: 60,000 images, 10 epochs
    python benchmarks/label_noise.py --samples 3000 --epochs 2 --hidden 32   # a smoke run

Flips ``--noise`` of the training labels at random (each to one of the other classes), trains a
784-128-10 ReLU network (Adam, 1e-3, cosine schedule with a warm-up epoch, batches of 32: what
``glassnet train --activation relu --hidden 128`` does) with a `LearningMap`, and reports which
share of the flipped examples the hardest ``noise`` share of each ranking holds:

- glassnet's ranking (`glassnet.train.cartography.statistics`; target ≥ 90%),
- plain mean confidence (mean p(label) over the epochs; ~87% here),
- cleanlab's ``find_label_issues`` and its label-quality ranking, if cleanlab is installed
  (``pip install cleanlab``; a benchmark-only peer), given out-of-sample probabilities from
  ``--folds``-fold cross-validation of the same network (what cleanlab asks for), which costs
  ``folds`` more trainings.

It also states the map's memory, and its time cost against the same fit without the map.
Accuracy figures are reproducible (fixed seeds); the times are only meaningful on an idle machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import glassnet as gn
from glassnet import datasets
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


def train(X, y, args, callbacks=()) -> gn.Sequential:
    model = gn.MLP([X.shape[1], args.hidden, 10], activation="relu", output="softmax", seed=0)
    schedule = gn.schedules.CosineDecay(1e-3, total=max(args.epochs, 2), warmup=1)
    model.fit(
        X,
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
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=2, help="cleanlab's cross-validation")
    parser.add_argument("--seed", type=int, default=1, help="which labels are flipped")
    args = parser.parse_args()

    data = datasets.load("fashion-mnist", "train")
    X, y = data.X[: args.samples], data.labels[: args.samples].astype(np.int64)
    flipped = flip_labels(y, args.noise, 10, args.seed)
    count = len(flipped)
    print(
        f"Fashion-MNIST: {len(X):,} training images, {count:,} labels flipped "
        f"({args.noise:.0%}); 784-{args.hidden}-10 ReLU, {args.epochs} epochs"
    )

    started = time.perf_counter()
    train(X, y, args)
    plain_seconds = time.perf_counter() - started
    learning_map = LearningMap()
    started = time.perf_counter()
    train(X, y, args, [learning_map])
    map_seconds = time.perf_counter() - started
    stats = learning_map.statistics()
    mean_confidence = np.argsort(stats.confidence, kind="stable")
    print(
        f"map memory: {learning_map.nbytes / 1e6:.2f} MB ({learning_map.nbytes / len(X):.0f} "
        f"bytes per example = 4 × {args.epochs} epochs + 6); fit {plain_seconds:.1f} s without "
        f"the map, {map_seconds:.1f} s with it (to be measured alone)"
    )
    print(f"share of the flipped labels in the hardest {count:,} examples:")
    print(f"  glassnet map ranking     {held(stats.ranking, flipped, count):.1%}   (target ≥ 90%)")
    print(f"  mean confidence          {held(mean_confidence, flipped, count):.1%}")

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
        probabilities[folds == fold] = model.predict_proba(X[folds == fold])
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
