"""Training step by step from the page: a `glassnet.Stepper` session, and the toy data sets.

A session owns its own model and `Stepper`; the page asks for one step (or a few) at a time,
and for undo. The digits session hands a copy of its model to the page after each request, so
the network view and the drawing's prediction follow training; the toy session (2-D points:
AND, OR, XOR, circles) answers with its decision boundary on a grid instead.

Each step also records the gradient's health per layer: ‖∂L/∂θ‖ and ‖Δθ‖/‖θ‖.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import MLP, GradientHealth, Sequential, Stepper, from_config
from ..train.stepper import StepRecord

TOY_DATASETS = ("and", "or", "xor", "circles")
TOY_EXTENT = (-0.5, 1.5)  # the square the toy points and the boundary grid cover
BOUNDARY_SIDE = 41  # grid points per side of the decision-boundary picture
MAX_CURVE_POINTS = 400


def toy_data(name: str, n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2-D points and 0/1 labels: noisy corners of the unit square labelled by AND, OR or XOR,
    or two circles (inside: 1), all within `TOY_EXTENT`.

    Shapes
    ------
    X : (n, 2) float32; y : (n,) int64
    """
    rng = np.random.default_rng(seed)
    if name == "circles":
        angle = rng.uniform(0, 2 * np.pi, n)
        inside = np.arange(n) % 2 == 0
        radius = np.where(inside, rng.uniform(0.0, 0.35, n), rng.uniform(0.6, 0.9, n))
        X = 0.5 + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        return X.astype(np.float32), inside.astype(np.int64)
    corners = rng.integers(0, 2, (n, 2))
    X = corners + rng.normal(0, 0.12, (n, 2))
    a, b = corners[:, 0] == 1, corners[:, 1] == 1
    truth = {"and": a & b, "or": a | b, "xor": a ^ b}[name]
    return X.astype(np.float32), truth.astype(np.int64)


def layer_norms(record: StepRecord, model: Sequential) -> tuple[dict[str, float], dict[str, float]]:
    """Per layer with parameters: ‖∂L/∂θ‖ and ‖Δθ‖/‖θ before‖ of one step (in float64)."""
    grads, ratios = {}, {}
    for layer in model.layers:
        names = [p.name for p in layer.parameters()]
        if not names:
            continue
        g = sum(float(np.vdot(record.gradients[n], record.gradients[n])) for n in names)
        d = sum(float(np.vdot(record.updates[n], record.updates[n])) for n in names)
        before = [model.parameter(n).value - record.updates[n] for n in names]
        w = sum(float(np.vdot(v, v)) for v in before)
        grads[str(layer.name)] = float(np.sqrt(g))
        ratios[str(layer.name)] = float(np.sqrt(d / w)) if w > 0 else 0.0
    return grads, ratios


@dataclass
class StepSession:
    """One step-by-step training run of the page."""

    kind: str  # "digits" or "toy"
    dataset: str
    model: Sequential
    stepper: Stepper
    settings: dict[str, Any]
    grad_norm: list[dict[str, float]] = field(default_factory=list)  # one per step
    update_ratio: list[dict[str, float]] = field(default_factory=list)
    # steps run in a worker thread; one request at a time touches the session
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def step(self, n: int) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging step raises instead
            for _ in range(n):
                record = self.stepper.step()
                grads, ratios = layer_norms(record, self.model)
                self.grad_norm.append(grads)
                self.update_ratio.append(ratios)

    def undo(self) -> None:
        self.stepper.undo()
        self.grad_norm.pop()
        self.update_ratio.pop()

    def copy_of_model(self) -> Sequential:
        """A copy of the model for the page to serve (the session keeps training its own)."""
        copy = from_config(self.model.get_config())
        copy.set_weights(self.model.get_weights())
        copy.class_names = self.model.class_names
        copy.preprocessing = dict(self.model.preprocessing)
        return copy

    def summary(self, neuron: tuple[int, int] | None = None) -> dict[str, Any]:
        s = self.stepper
        last = s.last
        layers = [str(la.name) for la in self.model.layers if la.parameters()]
        result: dict[str, Any] = {
            "session": self.kind,
            "dataset": self.dataset,
            "settings": self.settings,
            "epoch": s.epoch,
            "batch": s.batch,
            "n_batches": s.n_batches,
            "steps": s.steps_taken,
            "can_undo": s.can_undo,
            "loss": None if last is None else last.loss,
            "learning_rate": s.optimizer.current_learning_rate,
            "losses": _thin(s.losses),
            "health": {
                "layers": layers,
                "grad_norm": {n: _thin([h[n] for h in self.grad_norm]) for n in layers},
                "update_ratio": {n: _thin([h[n] for h in self.update_ratio]) for n in layers},
            },
            "step": None if last is None else _record_summary(last),
        }
        if neuron is not None:
            result["neuron"] = self.neuron_weights(*neuron)
        if self.kind == "toy":
            result["boundary"] = self.boundary()
        return result

    def neuron_weights(self, layer: int, index: int) -> dict[str, Any]:
        """The incoming weights and bias of neuron ``index`` of Dense layer ``layer``, before and
        after the last step (equal before any step)."""
        dense = [la for la in self.model.layers if la.parameters()]
        d = dense[layer]
        W, b = d.named_parameters()["W"], d.named_parameters().get("b")
        after = W.value[:, index].astype(float)
        bias_after = float(b.value[index]) if b is not None else 0.0
        last = self.stepper.last
        before, bias_before = after, bias_after
        if last is not None:
            before = after - last.updates[W.name][:, index]
            if b is not None:
                bias_before = bias_after - float(last.updates[b.name][index])
        return {
            "layer": layer,
            "index": index,
            "layer_name": str(d.name),
            "before": before.tolist(),
            "after": after.tolist(),
            "bias_before": bias_before,
            "bias_after": bias_after,
        }

    def boundary(self) -> dict[str, Any]:
        """P(class 1) on a grid over the toy square, and the training points."""
        low, high = TOY_EXTENT
        axis = np.linspace(low, high, BOUNDARY_SIDE, dtype=np.float32)
        gx, gy = np.meshgrid(axis, axis)  # row r is y = axis[r]
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        with np.errstate(over="ignore", invalid="ignore"):
            p = self.model.predict_proba(grid)[:, 1].reshape(BOUNDARY_SIDE, BOUNDARY_SIDE)
        X, y = self.stepper.run.X, self.stepper.run.y
        accuracy = float(np.mean(self.model.predict(X) == y.ravel()))
        return {
            "extent": [low, high],
            "side": BOUNDARY_SIDE,
            "p": np.round(p, 4).tolist(),
            "points": np.round(X, 4).tolist(),
            "labels": y.ravel().astype(int).tolist(),
            "accuracy": accuracy,
        }


def new_session(
    kind: str,
    dataset: str,
    X: np.ndarray,
    y: np.ndarray,
    settings: dict[str, Any],
    class_names: list[str] | None = None,
    preprocessing: dict[str, Any] | None = None,
) -> StepSession:
    """A fresh MLP on ``X, y`` and its Stepper, from validated settings."""
    n_classes = len(class_names) if class_names else int(y.max()) + 1
    sizes = [X.shape[1], *settings["hidden"], n_classes if kind == "digits" else 1]
    model = MLP(sizes, activation=settings["activation"], seed=settings["seed"])
    model.class_names = class_names
    model.preprocessing = dict(preprocessing or {})
    stepper = Stepper(
        model,
        X,
        y,
        settings["optimizer"],
        settings["batch_size"],
        learning_rate=settings["learning_rate"],
        seed=settings["seed"],
    )
    return StepSession(kind, dataset, model, stepper, settings)


def compare_health(
    X: np.ndarray, y: np.ndarray, epochs: int = 1, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """6-layer sigmoid and ReLU MLPs trained alike on the same data, with `GradientHealth`:
    the vanishing gradient of the sigmoid net next to the ReLU one's."""
    result = {}
    for activation in ("sigmoid", "relu"):
        model = MLP([X.shape[1], *[32] * 5, int(y.max()) + 1], activation=activation, seed=seed)
        health = GradientHealth()
        model.fit(
            X, y, epochs=epochs, batch_size=64, optimizer="sgd", learning_rate=0.05,
            callbacks=[health], seed=seed,
        )  # fmt: skip
        result[activation] = {
            "layers": health.layers,
            "batch_grad_norm": {k: _thin(v) for k, v in health.batch_grad_norm.items()},
            "grad_norm": health.grad_norm,
            "update_ratio": health.update_ratio,
        }
    return result


def _record_summary(record: StepRecord) -> dict[str, Any]:
    return {
        "epoch": record.epoch,
        "batch": record.batch,
        "samples": len(record.X),
        "loss": record.loss,
        "learning_rate": record.learning_rate,
        "rows": None if record.rows is None else record.rows[:16].tolist(),
        "labels": np.asarray(record.y).ravel()[:16].tolist(),
        "delta_norm": {name: float(np.linalg.norm(delta)) for name, delta in record.deltas.items()},
    }


def _thin(values: list[float]) -> list[float]:
    """At most MAX_CURVE_POINTS values, evenly spaced, always with the last one."""
    if len(values) <= MAX_CURVE_POINTS:
        return [float(v) for v in values]
    keep = np.linspace(0, len(values) - 1, MAX_CURVE_POINTS).round().astype(int)
    return [float(values[i]) for i in keep]
