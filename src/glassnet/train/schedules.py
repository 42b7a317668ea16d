"""Learning-rate schedules: callables ``schedule(t) -> learning_rate``.

``t`` counts whatever the schedule is driven by: optimizer steps when the schedule is given to an
optimizer as its ``learning_rate`` (the low-level loop and `fit` alike), or epochs when it is given
to the `LearningRateScheduler` callback.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import check_positive_int, check_real


class Schedule:
    """Base class: a learning rate as a function of the step (or epoch) count ``t`` ≥ 0."""

    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """lr(t) = learning_rate."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = check_real(learning_rate, "learning_rate", 0.0)

    def __call__(self, t: int) -> float:
        return self.learning_rate


class StepDecay(Schedule):
    """lr(t) = learning_rate · factor^⌊t / every⌋: multiply by ``factor`` every ``every`` steps."""

    def __init__(self, learning_rate: float, factor: float = 0.5, every: int = 10) -> None:
        self.learning_rate = check_real(learning_rate, "learning_rate", 0.0)
        self.factor = check_real(factor, "factor", 0.0)
        self.every = check_positive_int(every, "every")

    def __call__(self, t: int) -> float:
        return self.learning_rate * self.factor ** (t // self.every)


class ExponentialDecay(Schedule):
    """lr(t) = learning_rate · rate^(t / every): a smooth version of `StepDecay`."""

    def __init__(self, learning_rate: float, rate: float = 0.96, every: int = 1) -> None:
        self.learning_rate = check_real(learning_rate, "learning_rate", 0.0)
        self.rate = check_real(rate, "rate", 0.0)
        self.every = check_positive_int(every, "every")

    def __call__(self, t: int) -> float:
        return self.learning_rate * self.rate ** (t / self.every)


class CosineDecay(Schedule):
    """Linear warm-up over ``warmup`` steps, then half a cosine down to ``minimum`` at ``total``.

    lr(t) = learning_rate · (t + 1) / (warmup + 1)                          for t < warmup
    lr(t) = minimum + ½ (learning_rate − minimum)(1 + cos(π · progress))   after, where
    progress = (t − warmup) / (total − warmup), capped at 1.
    """

    def __init__(
        self, learning_rate: float, total: int, warmup: int = 0, minimum: float = 0.0
    ) -> None:
        self.learning_rate = check_real(learning_rate, "learning_rate", 0.0)
        self.total = check_positive_int(total, "total")
        self.warmup = int(warmup)
        if not 0 <= self.warmup < self.total:
            raise ValueError(
                f"warmup must be in [0, total), got warmup={warmup!r}, total={total!r}."
            )
        self.minimum = check_real(minimum, "minimum", 0.0)

    def __call__(self, t: int) -> float:
        if t < self.warmup:
            return self.learning_rate * (t + 1) / (self.warmup + 1)
        progress = min(1.0, (t - self.warmup) / max(1, self.total - self.warmup))
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.minimum + (self.learning_rate - self.minimum) * cosine


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineDecay,
}
