"""Data augmentation as a layer: random shifts, flips and small rotations, in training only."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, check_real
from .layer import Layer
from .options import Option
from .registry import register


@register
class Augment(Layer):
    """Random shifts (crops), horizontal flips and small rotations of image batches in training.

    Each training batch gets, per sample, a shift of up to ``max_shift`` pixels along each axis
    (the pixels shifted in are zeros: a random crop of the zero-padded image), a mirror image with
    probability 0.5 if ``horizontal_flip``, and a rotation by up to ``max_rotation`` degrees about
    the centre. All three are one inverse map from output to source pixel, rounded to the nearest
    pixel, applied to the whole batch by one gather (no loop over samples). At inference the layer
    is the identity: a model file records only its options, and a trace skips it.

    Digits want shifts and small rotations but no flips (a mirrored 2 is no digit); photos want
    flips.

    Parameters
    ----------
    max_shift : int
        Largest shift in pixels (0: none).
    horizontal_flip : bool
    max_rotation : float
        Largest rotation in degrees, in [0, 180] (0: none).
    rng : numpy.random.Generator or int, optional
        Replaced by `fit`'s generator, so a seed makes the augmentation repeatable.

    Shapes
    ------
    x : (batch, C, H, W) → y : same shape.
    """

    input_rank = 3
    uses_rng = True
    options = {
        "max_shift": Option("int", low=0, high=1024),
        "horizontal_flip": Option("bool"),
        "max_rotation": Option("real", low=0.0, high=180.0),
    }

    def __init__(
        self,
        max_shift: int = 2,
        horizontal_flip: bool = False,
        max_rotation: float = 0.0,
        rng: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)):
            raise TypeError(f"max_shift must be a whole number, got max_shift={max_shift!r}.")
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got max_shift={max_shift!r}.")
        self.max_shift = int(max_shift)
        self.horizontal_flip = bool(horizontal_flip)
        self.max_rotation = check_real(max_rotation, "max_rotation", 0.0, 180.0)
        self.rng = np.random.default_rng(rng)
        self._source: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def is_identity(self) -> bool:
        """True when the options change nothing even in training."""
        return self.max_shift == 0 and not self.horizontal_flip and self.max_rotation == 0

    def _source_pixels(self, n: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For every sample and output pixel, the source row and column, and whether it is
        inside the image: three (n, h, w) arrays."""
        rng = self.rng
        drawn, mine = self.random_rows(n)  # data parallel: the global batch's draws, our rows
        dy = rng.integers(-self.max_shift, self.max_shift + 1, size=drawn)[mine]
        dx = rng.integers(-self.max_shift, self.max_shift + 1, size=drawn)[mine]
        angle = np.radians(rng.uniform(-self.max_rotation, self.max_rotation, size=drawn)[mine])
        flip = rng.random(drawn)[mine] < 0.5 if self.horizontal_flip else np.zeros(n, bool)
        cy, cx = (h - 1) / 2, (w - 1) / 2
        rows = np.arange(h, dtype=np.float64)[None, :, None] - cy  # (1, h, 1) about the centre
        cols = np.arange(w, dtype=np.float64)[None, None, :] - cx  # (1, 1, w)
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        # inverse map: rotate the output grid back by −angle, undo the shift, then the flip
        src_r = cos * rows - sin * cols + cy - dy[:, None, None]
        src_c = sin * rows + cos * cols + cx - dx[:, None, None]
        src_c = np.where(flip[:, None, None], (w - 1) - src_c, src_c)
        r = np.rint(src_r).astype(np.intp)
        c = np.rint(src_c).astype(np.intp)
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        return np.clip(r, 0, h - 1), np.clip(c, 0, w - 1), inside

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 4:
            self.check_input(x)
        if not training or self.is_identity:
            self._source = None
            return x
        n, _, h, w = x.shape
        r, c, inside = self._source_pixels(n, h, w)
        self._source = (r, c, inside)
        samples = np.arange(n)[:, None, None, None]
        channels = np.arange(x.shape[1])[None, :, None, None]
        y = x[samples, channels, r[:, None], c[:, None]]  # (n, C, h, w): one gather
        y *= inside[:, None].astype(x.dtype)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        if self._source is None:
            return grad_y
        # the adjoint of the gather: every output pixel's gradient goes back to its source
        r, c, inside = self._source
        n, ch, h, w = grad_y.shape
        grad_x = np.zeros_like(grad_y)
        samples = np.arange(n)[:, None, None, None]
        channels = np.arange(ch)[None, :, None, None]
        np.add.at(
            grad_x,
            (samples, channels, r[:, None], c[:, None]),
            grad_y * inside[:, None].astype(grad_y.dtype),
        )
        return grad_x

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self.check_input_shape(tuple(input_shape))
        return tuple(input_shape)

    @classmethod
    def shape_after(cls, config, input_shape, name=None):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            label = f"Augment{f' {name!r}' if name else ''}"
            raise ShapeError(f"{label} expects (batch, C, H, W), got {input_shape}.")
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            "max_shift": self.max_shift,
            "horizontal_flip": self.horizontal_flip,
            "max_rotation": self.max_rotation,
        }

    def size_label(self) -> str:
        parts = [f"shift ±{self.max_shift}"] if self.max_shift else []
        parts += ["flips"] if self.horizontal_flip else []
        parts += [f"rotation ±{self.max_rotation:g}°"] if self.max_rotation else []
        return ", ".join(parts)
