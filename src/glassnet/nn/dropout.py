"""Inverted dropout: a regulariser that silences random inputs during training."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import check_real
from .layer import Layer
from .options import Option
from .registry import register


@register
class Dropout(Layer):
    """Inverted dropout: during training each input is zeroed with probability ``rate`` and the
    survivors are scaled by 1/(1 − rate), so nothing changes at inference.

    y = x ⊙ m / (1 − rate),  m ~ Bernoulli(1 − rate)

    Parameters
    ----------
    rate : float in [0, 1)
        The fraction of inputs dropped during training.
    rng : numpy.random.Generator or int, optional
        Source of the masks; `Sequential.fit` replaces it with the training generator.

    Shapes
    ------
    x : (batch, ...) → y : same shape.
    """

    uses_rng = True
    options = {"rate": Option("real", low=0.0, high=1.0)}

    def __init__(self, rate: float = 0.5, rng: Any = None, name: str | None = None) -> None:
        super().__init__(name)
        self.rate = check_real(rate, "rate", 0.0, 1.0)
        if self.rate >= 1.0:
            raise ValueError(f"Dropout rate must be below 1, got rate={rate!r}: it would drop all.")
        self.rng = np.random.default_rng(rng)
        self._scaled_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._scaled_mask = None
            return x
        keep = 1.0 - self.rate
        n_drawn, rows = self.random_rows(len(x))  # data parallel: the global batch's draws
        mask = self.rng.random((n_drawn, *x.shape[1:]), dtype=np.float32)[rows] < keep
        self._scaled_mask = mask.astype(x.dtype) / x.dtype.type(keep)
        return x * self._scaled_mask

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return grad_y if self._scaled_mask is None else grad_y * self._scaled_mask

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}
