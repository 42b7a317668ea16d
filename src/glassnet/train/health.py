"""Gradient health: how strong each layer's gradient is, and how much each step moves it.

Two numbers per layer with parameters, averaged over the batches of each epoch:

- the gradient norm ‖∂L/∂θ‖ (all the layer's parameters together): when it shrinks layer after
  layer towards the input, gradients are *vanishing* (deep sigmoid networks) and the first
  layers barely learn;
- the update ratio ‖Δθ‖ / ‖θ‖, the relative size of one step: around 1e-3 is a healthy pace,
  far below the layer is stuck, far above the learning rate is too high.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .callbacks import Callback


class GradientHealth(Callback):
    """Record per layer and epoch the mean gradient norm and update/weight ratio.

    Attributes
    ----------
    layers : list of str
        The names of the layers with parameters, input side first.
    grad_norm, update_ratio : dict[str, list[float]]
        One value per completed epoch for each layer.
    batch_grad_norm : dict[str, list[float]]
        The same per batch, for live charts.

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> X = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    >>> model = gn.MLP([3, 4, 2], seed=0); health = gn.GradientHealth()
    >>> _ = model.fit(X, (X[:, 0] > 0).astype(int), epochs=2, callbacks=[health], seed=0)
    >>> health.layers, len(health.grad_norm["dense_0"])
    (['dense_0', 'dense_1'], 2)
    """

    def __init__(self) -> None:
        self.layers: list[str] = []
        self.grad_norm: dict[str, list[float]] = {}
        self.update_ratio: dict[str, list[float]] = {}
        self.batch_grad_norm: dict[str, list[float]] = {}
        self._previous: dict[str, list[np.ndarray]] = {}
        self._sums: dict[str, list[float]] = {}

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        trained = [layer for layer in self.model.layers if layer.parameters()]
        self.layers = [str(layer.name) for layer in trained]
        for name in self.layers:
            self.grad_norm.setdefault(name, [])
            self.update_ratio.setdefault(name, [])
            self.batch_grad_norm.setdefault(name, [])
        self._remember()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._sums = {name: [0.0, 0.0, 0.0] for name in self.layers}  # grad, ratio, batches

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        # the gradients are still in .grad after the step; the weights before it are the
        # previous batch's weights after its step
        for layer in self.model.layers:
            if not layer.parameters():
                continue
            name, params = str(layer.name), layer.parameters()
            grad = _norm([p.grad for p in params])
            moved = _norm(
                [p.value - old for p, old in zip(params, self._previous[name], strict=True)]
            )
            weight = _norm([old for old in self._previous[name]])
            sums = self._sums[name]
            sums[0] += grad
            sums[1] += moved / weight if weight > 0 else 0.0
            sums[2] += 1
            self.batch_grad_norm[name].append(grad)
        self._remember()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        for name in self.layers:
            grad, ratio, batches = self._sums[name]
            self.grad_norm[name].append(grad / max(batches, 1))
            self.update_ratio[name].append(ratio / max(batches, 1))

    def _remember(self) -> None:
        self._previous = {
            str(layer.name): [p.value.copy() for p in layer.parameters()]
            for layer in self.model.layers
            if layer.parameters()
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"layers": [...], "grad_norm": {...}, "update_ratio": {...}}``."""
        return {
            "layers": list(self.layers),
            "grad_norm": {k: list(v) for k, v in self.grad_norm.items()},
            "update_ratio": {k: list(v) for k, v in self.update_ratio.items()},
        }


def _norm(arrays: list[np.ndarray]) -> float:
    """The L2 norm of several arrays taken together, in float64."""
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))
