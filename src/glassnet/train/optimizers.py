"""Optimizers: gradient descent and its modern variants.

An optimizer holds the parameters it updates and, per parameter, a small state (velocities,
moment estimates) created on the first step. ``step()`` reads each parameter's ``.grad`` and
updates ``.value`` in place; every subclass writes its rule once, in ``_update(param, state, lr)``.

When the parameters are packed into one buffer (as in every `Sequential`), the rule is applied
once to the whole buffer: the rules are elementwise, so the result is identical and the update
costs a handful of NumPy calls instead of a handful per array. All updates are in place (``out=``)
and allocate nothing after the first step.

``kernel="numba"`` (the default "auto" when numba is installed) runs each rule as one compiled
pass over the buffer instead (`glassnet.kernels.updates`): the same formula per element, in the
same order, so the weights come out bit-identical; the NumPy code below stays the reference and
the fallback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import kernels
from ..errors import check_real
from ..parameter import Parameter, flat_view

LearningRate = float | Callable[[int], float]


class Optimizer:
    """Base class.

    Parameters
    ----------
    parameters : iterable of Parameter
        Usually ``model.parameters()``.
    learning_rate : float or schedule
        A number, or a callable ``t -> lr`` evaluated at each step ``t`` (see `glassnet.schedules`).
    clip_norm : float, optional
        If given, gradients are rescaled before each step so that their global L2 norm (over all
        parameters together) is at most ``clip_norm``.

    Attributes
    ----------
    iterations : int
        Steps taken so far.
    state : dict
        Per-parameter state, keyed by parameter name (``"*"`` for a packed buffer).
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        learning_rate: LearningRate = 0.01,
        clip_norm: float | None = None,
        kernel: str = "auto",
    ) -> None:
        self.kernel = kernels.resolve(kernel)
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(
                "The optimizer received no parameters: the model has nothing to learn."
            )
        self.find_targets()
        if not callable(learning_rate):
            check_real(learning_rate, "learning_rate", 0.0)
        self.learning_rate = learning_rate
        self.clip_norm = None if clip_norm is None else check_real(clip_norm, "clip_norm", 0.0)
        self.iterations = 0
        self.state: dict[str, dict[str, Any]] = {}

    def find_targets(self) -> None:
        """Update the packed buffer as one array when the parameters tile one (see module doc)."""
        packed = flat_view(self.parameters)
        # the one Parameter spanning the packed buffer (None when the parameters are not packed)
        self.packed = packed
        self._targets = [packed] if packed is not None else self.parameters
        self._compilable = all(map(compilable, self._targets))

    @property
    def current_learning_rate(self) -> float:
        """The learning rate the next step will use."""
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    def step(self) -> None:
        """Update every parameter from its gradient."""
        lr = self.current_learning_rate
        compiled = self.kernel == "numba" and self._compilable
        scale = 1.0
        if self.clip_norm is not None:
            if compiled:  # the norm in one compiled pass; the kernels rescale as they update
                update = kernels.compiled_updates()
                norm = math.sqrt(sum(update.sum_of_squares(flat(p.grad)) for p in self._targets))
                scale = clip_scale(norm, self.clip_norm)
            else:
                clip_gradients(self._targets, self.clip_norm)
        for param in self._targets:
            state = self.state_for(param)
            if compiled:
                self._update_compiled(param, state, lr, scale)
            else:
                self._update(param, state, lr)
        self.iterations += 1

    def state_for(self, param: Parameter) -> dict[str, Any]:
        """The state of ``param`` (or of the packed buffer, ``self.packed``), created if new."""
        state = self.state.get(param.name)
        if state is None:
            state = self.state[param.name] = self._new_state(param)
        return state

    def fused_rule(self, lr: float) -> tuple[str, tuple[np.ndarray, ...], tuple, tuple] | None:
        """The next step's update of the packed buffer, for a compiled training step that makes
        it itself (`glassnet.train.fused`): ``(rule, state arrays, scalars, flags)`` as the
        kernels of `glassnet.kernels.training` take them, or None when this optimizer (or its
        gradient clipping, which needs the whole gradient first) has no such rule. The caller
        counts the step (``iterations``) once it is made.
        """
        return None

    def _new_state(self, param: Parameter) -> dict[str, Any]:
        # "scratch" is a work buffer, so updates allocate nothing after the first step.
        return {"scratch": np.empty_like(param.value)}

    def _update(self, param: Parameter, state: dict[str, Any], lr: float) -> None:
        raise NotImplementedError

    def _update_compiled(
        self, param: Parameter, state: dict[str, Any], lr: float, scale: float
    ) -> None:
        """`_update` as one compiled pass, the gradient first multiplied by ``scale`` (clipping).

        A subclass without a compiled kernel runs its NumPy rule.
        """
        if scale != 1.0:
            param.grad *= scale
        self._update(param, state, lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: the step count and copies of the state arrays."""
        return {
            "iterations": self.iterations,
            "state": {
                name: {k: np.array(v) for k, v in s.items() if not k.startswith("scratch")}
                for name, s in self.state.items()
            },
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (shapes must match this optimizer's parameters)."""
        targets = {p.name: p for p in self._targets}
        restored: dict[str, dict[str, Any]] = {}
        for name, arrays in saved["state"].items():
            if name not in targets:
                raise ValueError(f"Optimizer state names parameter {name!r}, which is not here.")
            fresh = self._new_state(targets[name])
            for key, value in arrays.items():
                if key not in fresh or np.shape(fresh[key]) != np.shape(value):
                    raise ValueError(f"Optimizer state {name}.{key} does not match its parameter.")
                fresh[key] = np.array(value, dtype=np.asarray(fresh[key]).dtype)
            restored[name] = fresh
        self.state = restored
        self.iterations = int(saved["iterations"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


def compilable(param: Parameter) -> bool:
    """Can a compiled kernel update ``param``? float32/float64, contiguous value and gradient."""
    value, grad = param.value, param.grad
    return (
        value.dtype in (np.float32, np.float64)
        and value.flags.c_contiguous
        and grad.flags.c_contiguous
    )


def flat(array: np.ndarray) -> np.ndarray:
    """A contiguous array as a 1-D view (no copy), as the compiled kernels take it."""
    return array.reshape(-1)


def clip_scale(norm: float, max_norm: float) -> float:
    """The factor that brings a gradient of L2 norm ``norm`` down to at most ``max_norm``."""
    return max_norm / (norm + 1e-12) if norm > max_norm else 1.0


def l2_gradient(param: Parameter, weight_decay: float, out: np.ndarray) -> np.ndarray:
    """g + λ·w written into ``out``: L2 regularisation folded into the gradient."""
    np.multiply(param.value, weight_decay, out=out)
    out += param.grad
    return out


def clip_gradients(parameters: Iterable[Parameter], max_norm: float) -> float:
    """Rescale gradients in place so their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping.
    """
    parameters = list(parameters)
    norm = math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in parameters))
    scale = clip_scale(norm, max_norm)
    if scale != 1.0:
        for p in parameters:
            p.grad *= scale
    return norm


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    g ← g + λ·w                      (weight decay, if λ > 0)
    v ← μ·v + g                      (momentum, if μ > 0; PyTorch's convention, v starts at 0)
    w ← w − lr·v                     or, with Nesterov, w ← w − lr·(g + μ·v)

    Without momentum this is the textbook rule w ← w − lr·∂L/∂w.

    Examples
    --------
    >>> w = Parameter(np.array([1.0, -2.0]), "w"); w.grad[:] = [0.5, 0.5]
    >>> SGD([w], learning_rate=0.1).step(); w.value
    array([ 0.95, -2.05])
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        kernel: str = "auto",
    ) -> None:
        super().__init__(parameters, learning_rate, clip_norm, kernel)
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0.0)
        if nesterov and self.momentum == 0.0:
            raise ValueError("Nesterov momentum needs momentum > 0, got momentum=0.")
        self.nesterov = bool(nesterov)

    def _new_state(self, param):
        state = super()._new_state(param)
        if self.momentum:
            state["velocity"] = np.zeros_like(param.value)
        return state

    def _update(self, param, state, lr):
        w, g, scratch = param.value, param.grad, state["scratch"]
        if self.weight_decay:
            g = l2_gradient(param, self.weight_decay, out=scratch)
        if not self.momentum:
            np.multiply(g, lr, out=scratch)
            w -= scratch  # w − lr·g
            return
        v = state["velocity"]
        v *= self.momentum
        v += g  # v = μv + g
        if self.nesterov:
            np.multiply(g, lr, out=scratch)
            w -= scratch
            np.multiply(v, lr * self.momentum, out=scratch)
            w -= scratch  # w − lr·(g + μv)
        else:
            np.multiply(v, lr, out=scratch)
            w -= scratch  # w − lr·v

    def fused_rule(self, lr):
        if self.packed is None or self.clip_norm is not None:
            return None
        state = self.state_for(self.packed)
        v = state.get("velocity", state["scratch"])  # (not read without momentum)
        scalars, flags = kernels.compiled_updates().sgd_arguments(
            v.dtype, lr, self.momentum, self.weight_decay, self.nesterov, 1.0
        )
        return "sgd", (flat(v),), scalars, flags

    def _update_compiled(self, param, state, lr, scale):
        v = state.get("velocity", state["scratch"])  # (not read without momentum)
        kernels.compiled_updates().sgd(
            flat(param.value),
            flat(param.grad),
            flat(v),
            lr,
            self.momentum,
            self.weight_decay,
            self.nesterov,
            scale,
        )


class Adam(Optimizer):
    """Adam: gradient descent with running averages of the gradient and its square.

    m ← β₁·m + (1 − β₁)·g
    v ← β₂·v + (1 − β₂)·g²
    w ← w − lr · m̂ / (√v̂ + ε),  with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)  (bias correction)

    ``weight_decay`` adds λ·w to the gradient (L2 regularisation, as PyTorch's Adam); use `AdamW`
    for decoupled weight decay.
    """

    decoupled = False  # AdamW: the decay shrinks w instead of joining the gradient

    def __init__(
        self,
        parameters: Iterable[Parameter],
        learning_rate: LearningRate = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        kernel: str = "auto",
    ) -> None:
        super().__init__(parameters, learning_rate, clip_norm, kernel)
        self.beta1 = check_real(beta1, "beta1", 0.0, 1.0)
        self.beta2 = check_real(beta2, "beta2", 0.0, 1.0)
        self.epsilon = check_real(epsilon, "epsilon", 0.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0.0)

    def _new_state(self, param):
        state = super()._new_state(param)
        state["m"] = np.zeros_like(param.value)
        state["v"] = np.zeros_like(param.value)
        if self.weight_decay and not self.decoupled:
            # g + λ·w needs its own buffer: "scratch" is overwritten while g is still needed
            state["scratch_decay"] = np.empty_like(param.value)
        return state

    def _decay(self, param, state, lr):
        """Adam adds λ·w to the gradient; AdamW overrides this to shrink w directly."""
        if self.weight_decay:
            # NOTE: not "scratch": _update overwrites that buffer while it still needs g.
            out = state.get("scratch_decay")
            if out is None:
                out = state["scratch_decay"] = np.empty_like(param.value)
            return l2_gradient(param, self.weight_decay, out=out)
        return param.grad

    def _update(self, param, state, lr):
        m, v, scratch = state["m"], state["v"], state["scratch"]
        g = self._decay(param, state, lr)
        t = self.iterations + 1
        # m += (1 − β₁)(g − m) and v += (1 − β₂)(g² − v): the two running averages above.
        np.subtract(g, m, out=scratch)
        scratch *= 1.0 - self.beta1
        m += scratch
        np.square(g, out=scratch)
        scratch -= v
        scratch *= 1.0 - self.beta2
        v += scratch
        # lr·m̂/(√v̂ + ε) = (lr·√(1−β₂ᵗ)/(1−β₁ᵗ)) · m / (√v + ε·√(1−β₂ᵗ)): no m̂, v̂ arrays needed.
        root_correction = math.sqrt(1.0 - self.beta2**t)
        step_size = lr * root_correction / (1.0 - self.beta1**t)
        np.sqrt(v, out=scratch)
        scratch += self.epsilon * root_correction
        np.divide(m, scratch, out=scratch)
        scratch *= step_size
        param.value -= scratch

    def _corrected(self, lr: float) -> tuple[float, float]:
        """ε′ = ε·√(1−β₂ᵗ) and step = lr·√(1−β₂ᵗ)/(1−β₁ᵗ) of the next step t (see `_update`)."""
        t = self.iterations + 1
        root_correction = math.sqrt(1.0 - self.beta2**t)
        return self.epsilon * root_correction, lr * root_correction / (1.0 - self.beta1**t)

    def fused_rule(self, lr):
        if self.packed is None or self.clip_norm is not None:
            return None
        state = self.state_for(self.packed)
        eps, step = self._corrected(lr)
        decay = self.weight_decay
        scalars, flags = kernels.compiled_updates().adam_arguments(
            state["m"].dtype, self.beta1, self.beta2, eps, step, decay, self.decoupled,
            1.0 - lr * decay, 1.0,
        )  # fmt: skip
        return "adam", (flat(state["m"]), flat(state["v"])), scalars, flags

    def _update_compiled(self, param, state, lr, scale):
        eps, step = self._corrected(lr)
        decay = self.weight_decay
        kernels.compiled_updates().adam(
            flat(param.value),
            flat(param.grad),
            flat(state["m"]),
            flat(state["v"]),
            self.beta1,
            self.beta2,
            eps,
            step,
            decay,
            self.decoupled,
            1.0 - lr * decay,  # AdamW's shrink factor
            scale,
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): w ← w − lr·λ·w, then the Adam step.

    The decay does not pass through the moment estimates, so it shrinks every weight at the same
    relative rate whatever its gradient history.
    """

    decoupled = True

    def __init__(
        self,
        parameters: Iterable[Parameter],
        learning_rate: LearningRate = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.01,
        clip_norm: float | None = None,
        kernel: str = "auto",
    ) -> None:
        super().__init__(
            parameters, learning_rate, beta1, beta2, epsilon, weight_decay, clip_norm, kernel
        )

    def _decay(self, param, state, lr):
        if self.weight_decay:
            param.value *= 1.0 - lr * self.weight_decay
        return param.grad


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    g ← g + λ·w                      (weight decay, if λ > 0)
    s ← ρ·s + (1 − ρ)·g²
    w ← w − lr · g / (√s + ε)
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        kernel: str = "auto",
    ) -> None:
        super().__init__(parameters, learning_rate, clip_norm, kernel)
        self.rho = check_real(rho, "rho", 0.0, 1.0)
        self.epsilon = check_real(epsilon, "epsilon", 0.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0.0)

    def _new_state(self, param):
        state = super()._new_state(param)
        state["square_avg"] = np.zeros_like(param.value)
        if self.weight_decay:
            state["scratch_decay"] = np.empty_like(param.value)
        return state

    def _update(self, param, state, lr):
        s, scratch, g = state["square_avg"], state["scratch"], param.grad
        if self.weight_decay:
            g = l2_gradient(param, self.weight_decay, out=state["scratch_decay"])
        np.square(g, out=scratch)
        scratch -= s
        scratch *= 1.0 - self.rho
        s += scratch  # s = ρs + (1 − ρ)g²
        np.sqrt(s, out=scratch)
        scratch += self.epsilon
        np.divide(g, scratch, out=scratch)
        scratch *= lr
        param.value -= scratch

    def _update_compiled(self, param, state, lr, scale):
        kernels.compiled_updates().rmsprop(
            flat(param.value),
            flat(param.grad),
            flat(state["square_avg"]),
            self.rho,
            self.epsilon,
            lr,
            self.weight_decay,
            scale,
        )


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
}


def get(name: str, parameters: Iterable[Parameter], **options: Any) -> Optimizer:
    """Build an optimizer by name: ``get("adam", model.parameters(), learning_rate=1e-3)``."""
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}. Expected one of {sorted(OPTIMIZERS)}.")
    return OPTIMIZERS[key](parameters, **options)
