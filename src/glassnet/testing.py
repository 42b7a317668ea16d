"""Checks for layers, losses and models: finite-difference gradient tests, shipped for users.

Every backward pass in glassnet is tested against central differences,

    ∂f/∂θᵢ ≈ (f(θ + εeᵢ) − f(θ − εeᵢ)) / 2ε,

in float64. For a layer, f(x) = Σ forward(x) ⊙ G for a fixed random G, whose exact gradient is
what ``backward(G)`` returns. Large tensors are checked along random directions d instead of every
entry: d·∇f ≈ (f(θ + εd) − f(θ − εd)) / 2ε.

Use the same checks for your own layers::

    from glassnet.testing import check_layer_gradients
    check_layer_gradients(MyLayer(..., dtype=np.float64), input_shape=(4, 3))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .parameter import Parameter


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖ / (‖a‖ + ‖b‖), 0 when both are 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, epsilon: float = 1e-6) -> np.ndarray:
    """Central differences of ``f()`` with respect to every entry of ``x`` (perturbed in place)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + epsilon
        plus = f()
        flat[i] = original - epsilon
        minus = f()
        flat[i] = original
        flat_grad[i] = (plus - minus) / (2 * epsilon)
    return grad


def _directional_error(f, x, analytic, rng, directions, epsilon) -> float:
    """Compare d·∇f with the central difference along ``directions`` random unit vectors d."""
    exact, approx = [], []
    for _ in range(directions):
        d = rng.standard_normal(x.shape)
        d /= np.linalg.norm(d)
        original = x.copy()
        x += epsilon * d
        plus = f()
        x[...] = original - epsilon * d
        minus = f()
        x[...] = original
        exact.append(float(np.vdot(d, analytic)))
        approx.append((plus - minus) / (2 * epsilon))
    return relative_error(np.array(exact), np.array(approx))


def check_gradient(
    f: Callable[[], float],
    x: np.ndarray,
    analytic: np.ndarray,
    name: str,
    tolerance: float = 1e-6,
    max_entries: int = 2000,
    rng: np.random.Generator | None = None,
) -> float:
    """Assert that ``analytic`` is the gradient of ``f`` at ``x``; return the relative error."""
    if x.dtype != np.float64:
        raise TypeError(f"Gradient checks need float64 arrays; {name} is {x.dtype}.")
    if x.size <= max_entries:
        error = relative_error(analytic, numerical_gradient(f, x))
    else:
        error = _directional_error(f, x, analytic, rng or np.random.default_rng(0), 20, 1e-6)
    if not error < tolerance:
        raise AssertionError(
            f"Gradient of {name} is wrong: relative error {error:.3g} (tolerance {tolerance:g})."
        )
    return error


def check_layer_gradients(
    layer: Any,
    input_shape: tuple[int, ...],
    *,
    training: bool = False,
    seed: int = 0,
    tolerance: float = 1e-6,
    inputs: np.ndarray | None = None,
) -> dict[str, float]:
    """Check a layer's ``backward`` (input and parameter gradients) by finite differences.

    Layers holding a random generator (``layer.rng``, e.g. `Dropout`) are reseeded before every
    forward pass, so their random mask stays fixed during the check.

    Returns
    -------
    dict mapping "x" and each parameter name to its relative error (all below ``tolerance``).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape) if inputs is None else np.array(inputs, np.float64)
    has_rng = hasattr(layer, "rng")

    def forward() -> np.ndarray:
        if has_rng:
            layer.rng = np.random.default_rng(seed + 1)
        return layer.forward(x, training=training)

    upstream = rng.standard_normal(forward().shape)

    def f() -> float:
        return float(np.vdot(forward(), upstream))

    forward()
    layer.input_grad = True
    grad_x = layer.backward(upstream)
    params: dict[str, Parameter] = layer.named_parameters()
    analytic = {name: p.grad.copy() for name, p in params.items()}
    errors = {"x": check_gradient(f, x, grad_x, f"{type(layer).__name__} input", tolerance)}
    for name, p in params.items():
        errors[name] = check_gradient(
            f, p.value, analytic[name], f"{type(layer).__name__} {name}", tolerance
        )
    return errors


def check_loss_gradient(
    loss: Any, pred: np.ndarray, target: np.ndarray, tolerance: float = 1e-6
) -> float:
    """Check ``loss.gradient(pred, target)`` by finite differences; return the relative error."""
    pred = np.array(pred, np.float64)
    analytic = loss.gradient(pred, target)
    value, grad = loss.value_and_gradient(pred, target)
    if not np.isclose(value, loss.value(pred, target)) or not np.allclose(grad, analytic):
        raise AssertionError(
            f"{type(loss).__name__}.value_and_gradient disagrees with value/gradient."
        )
    return check_gradient(
        lambda: loss.value(pred, target), pred, analytic, f"{type(loss).__name__}", tolerance
    )


def check_model_gradients(
    model: Any, X: np.ndarray, y: np.ndarray, loss: Any, tolerance: float = 1e-6
) -> dict[str, float]:
    """Check every parameter gradient of a whole (float64) model under ``loss``."""

    def f() -> float:
        return loss.value(model.forward(X, training=False), y)

    out = model.forward(X)
    model.backward(loss.gradient(out, y))
    analytic = {p.name: p.grad.copy() for p in model.parameters()}
    return {
        p.name: check_gradient(f, p.value, analytic[p.name], p.name, tolerance)
        for p in model.parameters()
    }
