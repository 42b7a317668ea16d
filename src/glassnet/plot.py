"""Pictures of training and of the network, with matplotlib.

Every ``plot_*`` function draws into the ``Axes`` it is given and returns it; none calls
``show()``, so they work in notebooks, scripts and the command line alike. `save_run_plots` is the
one function that makes figures and writes PNG files (what ``glassnet plot`` calls).
Requires the ``plot`` extra: ``pip install "glassnet[plot]"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError('Plots need matplotlib: pip install "glassnet[plot]".') from error
    return plt


def plot_history(ax, history: Mapping[str, Sequence[float]], metric: str = "loss"):
    """Training and validation curves of one metric per epoch (``"loss"``, ``"accuracy"``...)."""
    values = history.get(metric, [])
    epochs = np.arange(1, len(values) + 1)
    ax.plot(epochs, values, marker="o", label=f"train {metric}")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.set_xticks(epochs[:: max(1, len(epochs) // 10)])
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per epoch")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_confusion_matrix(ax, matrix: np.ndarray, class_names: Sequence[str] | None = None):
    """Counts of true class (rows) against predicted class (columns), with the numbers written."""
    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if matrix[i, j] > threshold else "black",
            )
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    return ax


#: The one colour convention for weight signs, shared with the lab's page (its app.js):
#: positive weights blue, negative orange, zero white.
WEIGHT_POSITIVE = "#2563eb"
WEIGHT_NEGATIVE = "#e4572e"


def weight_colormap():
    """The diverging colour map of weights: orange (negative) → white (0) → blue (positive)."""
    from matplotlib.colors import LinearSegmentedColormap  # the plot extra, loaded on use

    return LinearSegmentedColormap.from_list(
        "glassnet_weights", [WEIGHT_NEGATIVE, "#ffffff", WEIGHT_POSITIVE]
    )


def plot_neuron_weights(ax, weights: np.ndarray, image_shape: tuple[int, ...], title: str = ""):
    """One neuron's incoming weights as a picture: what the neuron "looks for" in the input.

    Positive weights are blue, negative orange (as in the lab), on a scale symmetric around 0.
    """
    limit = float(np.abs(weights).max()) or 1.0
    ax.imshow(
        np.asarray(weights).reshape(image_shape), cmap=weight_colormap(), vmin=-limit, vmax=limit
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    return ax


def plot_activations(ax, trace: Any):
    """Every layer's activations for one input, a row of coloured cells per layer."""
    layers = trace.layers
    width = max(layer.n_neurons for layer in layers)
    grid = np.full((len(layers), width), np.nan)
    for row, layer in enumerate(layers):
        grid[row, : layer.n_neurons] = layer.a
    image = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(layers)), [f"{la.name} ({la.activation})" for la in layers])
    ax.set_xlabel("neuron")
    ax.set_title(f"activations for one input (prediction: {trace.prediction})")
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    return ax


def plot_filter(ax, kernel: np.ndarray, title: str = ""):
    """One convolution filter's kernel (C, kh, kw) as a picture: red positive, blue negative.

    A 3-channel kernel is shown as colours (each channel scaled to [0, 1] together); other
    channel counts as the mean over channels.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.shape[0] == 3:
        low, high = kernel.min(), kernel.max()
        ax.imshow(((kernel - low) / ((high - low) or 1.0)).transpose(1, 2, 0))
    else:
        picture = kernel.mean(axis=0)
        limit = float(np.abs(picture).max()) or 1.0
        ax.imshow(picture, cmap="bwr", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    return ax


def plot_feature_map(ax, feature_map: np.ndarray, title: str = ""):
    """One feature map (H, W) as a heat map."""
    ax.imshow(np.asarray(feature_map), cmap="viridis", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)
    return ax


def _conv_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]


def save_conv_plots(out_dir: str | Path, model: Any, sample: np.ndarray | None) -> list[Path]:
    """``filters.png`` (the first conv layer's filters) and, for ``sample``,
    ``feature_maps.png`` (up to 8 maps of every conv and pooling layer); return the paths."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    written: list[Path] = []
    first = _conv_layers(model)[0]
    kh, kw = first.kernel_size
    kernels = first.W.value.reshape(kh, kw, first.n_channels, first.n_filters)  # (kh, kw, C, F)
    n = first.n_filters
    columns = min(8, n)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.4 * rows), squeeze=False)
    for f, ax in enumerate(np.ravel(axes)):
        if f < n:
            plot_filter(ax, kernels[..., f].transpose(2, 0, 1), f"filter {f}")
        else:
            ax.axis("off")
    fig.suptitle(f"{first.name}: each filter's {kh}×{kw} kernel")
    path = out_dir / "filters.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(path)
    if sample is not None:
        maps = [m for m in model.trace(sample).maps if m.output.ndim == 3]
        shown = 8
        fig, axes = plt.subplots(
            len(maps), shown, figsize=(1.3 * shown, 1.4 * len(maps)), squeeze=False
        )
        for row, fm in zip(axes, maps, strict=True):
            for c, ax in enumerate(row):
                if c < fm.output.shape[0]:
                    plot_feature_map(ax, fm.output[c], f"{fm.name} [{c}]")
                else:
                    ax.axis("off")
        fig.suptitle("feature maps of one test image, layer by layer")
        path = out_dir / "feature_maps.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def plot_gradient_health(ax, health: Any, metric: str = "grad_norm"):
    """A `GradientHealth` record: one line per layer across epochs, on a log scale.

    ``metric`` is ``"grad_norm"`` (‖∂L/∂θ‖: vanishing gradients show as the first layers'
    lines far below the last ones') or ``"update_ratio"`` (‖Δθ‖/‖θ‖, healthy near 1e-3).
    ``health`` is the callback or its ``to_dict()``.
    """
    data = health.to_dict() if hasattr(health, "to_dict") else health
    if metric not in ("grad_norm", "update_ratio"):
        raise ValueError(f"metric must be 'grad_norm' or 'update_ratio', got metric={metric!r}.")
    for name in data["layers"]:
        values = data[metric][name]
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    label = "gradient norm ‖∂L/∂θ‖" if metric == "grad_norm" else "update ratio ‖Δθ‖/‖θ‖"
    ax.set_ylabel(label)
    ax.set_title(f"{label} per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return ax


def save_run_plots(
    out_dir: str | Path,
    history: Mapping[str, Sequence[float]],
    model: Any = None,
    confusion: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    sample: np.ndarray | None = None,
    image_shape: tuple[int, ...] | None = None,
) -> list[Path]:
    """Write the PNG files of a training run; return their paths.

    ``curves.png`` (loss and accuracy), ``confusion.png``, ``weights.png`` (the first layer's
    weights as images, for image inputs) and ``activations.png`` (every layer for ``sample``);
    for a convolutional network ``filters.png`` and ``feature_maps.png`` instead of
    ``weights.png`` (see `save_conv_plots`).
    """
    plt = _pyplot()
    out_dir = Path(out_dir)
    written: list[Path] = []

    def save(fig, name: str) -> None:
        path = out_dir / name
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    metrics = ["loss"] + (["accuracy"] if "accuracy" in history else [])
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.5))
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        plot_history(ax, history, metric)
    save(fig, "curves.png")
    if confusion is not None:
        fig, ax = plt.subplots(figsize=(7, 6))
        plot_confusion_matrix(ax, confusion, class_names)
        save(fig, "confusion.png")
    if model is not None and _conv_layers(model):
        written += save_conv_plots(out_dir, model, sample)
    elif model is not None and image_shape is not None:
        W = model.parameter(f"{model.layers[0].name}.W").value  # (inputs, neurons)
        n = W.shape[1]
        columns = min(8, n)
        rows = math.ceil(n / columns)
        fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.7 * rows))
        for j, ax in enumerate(np.ravel(axes)):
            if j < n:
                plot_neuron_weights(ax, W[:, j], image_shape, f"neuron {j}")
            else:
                ax.axis("off")
        fig.suptitle(
            "first hidden layer: each neuron's incoming weights\n"
            "blue: positive weight, orange: negative, white: 0 (each on its own scale)",
            fontsize=9,
        )
        save(fig, "weights.png")
    if model is not None and sample is not None:
        fig, ax = plt.subplots(figsize=(9, 1 + 0.6 * len(model.trace(sample).layers)))
        plot_activations(ax, model.trace(sample))
        save(fig, "activations.png")
    return written


def plot_learning_map(ax, stats: Any, highlight: int | None = None):
    """A learning map: each training example at (variability, confidence), coloured by correctness.

    ``stats`` is a `glassnet.train.cartography.MapStatistics`. Easy examples sit top left (high
    confidence, low variability), ambiguous ones in the middle (high variability), hard-to-learn
    ones (often mislabelled) bottom left. ``highlight`` outlines the first examples of the
    ranking (default: the hardest 5%).
    """
    points = ax.scatter(
        stats.variability,
        stats.confidence,
        c=stats.correctness,
        cmap="RdYlGn",
        vmin=0.0,
        vmax=1.0,
        s=3,
        alpha=0.6,
        linewidths=0,
    )
    count = max(1, len(stats.ranking) // 20) if highlight is None else highlight
    hardest = stats.ranking[:count]
    ax.scatter(
        stats.variability[hardest],
        stats.confidence[hardest],
        s=12,
        facecolors="none",
        edgecolors="black",
        linewidths=0.5,
        label=f"hardest {count} (ranking)",
    )
    ax.set_xlabel("variability (std of p(label) over epochs)")
    ax.set_ylabel("confidence (mean p(label) over epochs)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"learning map of {len(stats.ranking):,} training examples")
    ax.legend(loc="lower right", fontsize=8)
    ax.figure.colorbar(points, ax=ax, fraction=0.046, label="correctness (fraction of epochs)")
    return ax


def plot_image_grid(axes, images: np.ndarray, image_shape: tuple[int, ...], captions=()):
    """Images (n, pixels) in the grid of ``axes`` (any shape), with a caption under each."""
    captions = list(captions)
    for k, ax in enumerate(np.ravel(axes)):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(images):
            ax.axis("off")
            continue
        ax.imshow(np.asarray(images[k]).reshape(image_shape), cmap="gray_r")
        if k < len(captions):
            ax.set_xlabel(captions[k], fontsize=7)
    return axes


def plot_runs(ax, runs: Sequence[Mapping[str, Any]], metric: str = "loss"):
    """Overlay the curves of several runs; a branch's curve starts with a marker at its branch.

    Each run is ``{"name", "history", "branched_at"}`` (``branched_at``: the epoch count where
    it left its parent, or None); train curves are solid, validation curves dashed.
    """
    for run in runs:
        history = run["history"]
        values = history.get(metric, [])
        epochs = np.arange(1, len(values) + 1)
        (line,) = ax.plot(epochs, values, label=f"{run['name']} {metric}")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], linestyle="--", color=line.get_color())
        at = run.get("branched_at")
        if at and 0 < at <= len(values):
            ax.axvline(at, color=line.get_color(), linestyle=":", linewidth=1)
            ax.plot([at], [values[at - 1]], marker="D", color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per epoch (dashed: validation; ◆: where a branch left its parent)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax
