"""The `Layer` contract that every layer keeps.

- ``forward(x, training=False) -> y`` computes the output and caches only what backward needs;
- ``backward(grad_y) -> grad_x`` receives dL/dy for the last forward call, writes dL/dθ into each
  parameter's ``.grad`` (overwriting it) and returns dL/dx (or None when ``input_grad`` is off);
- ``output_shape(input_shape) -> tuple`` maps a per-sample shape (no batch axis) to the output's,
  allocating nothing, and raises `ShapeError` naming the layer when the input does not fit;
- ``state_shapes(config, input_shape)`` and ``shape_after(config, input_shape)``, classmethods,
  answer from a config alone (a model file's) what shapes a layer's parameters and buffers would
  have and what output shape it would give, allocating nothing;
- ``named_parameters()`` / ``named_buffers()`` give the layer's trainable arrays and its
  non-trainable state under local names (``"W"``, ``"b"``, ``"running_mean"``...); `Sequential`
  only adds the layer's name as a prefix;
- ``get_config()`` returns the constructor arguments as JSON-ready data.

Arrays are batches: the first axis is the sample, the rest is the per-sample shape.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..errors import ShapeError
from ..parameter import Buffer, Parameter


class Layer:
    """Base class of all layers.

    Class attributes
    ----------------
    input_rank : int or None
        The per-sample rank the layer accepts (1 for ``(batch, features)``, 3 for
        ``(batch, channels, height, width)``); None for elementwise layers, which take any.
    uses_rng : bool
        True for layers that draw random numbers in training (Dropout); `fit` gives them its
        generator, so that a seed makes training repeatable. They draw per sample through
        `random_rows`, so that data-parallel ranks draw what one process would.
    options : dict
        The constructor options a model file may hold, each with its JSON kind (see
        `glassnet.nn.options`), so that files are checked without building anything.

    Attributes
    ----------
    name : str or None
        Set by `Sequential` when the layer is added (``"dense_0"``, ``"sigmoid_1"``...).
    input_grad : bool
        When False, ``backward`` may skip computing dL/dx and return None. `Sequential` clears it
        for every layer up to the first one with parameters, whose input gradient nobody uses.
    batch_shard : (start, stop, total) or None
        Data-parallel training only (set by `fit` on ``uses_rng`` layers for each step): this
        rank's rows ``[start, stop)`` of the global mini-batch of ``total`` samples.
    """

    input_rank: ClassVar[int | None] = None
    uses_rng: ClassVar[bool] = False
    options: ClassVar[dict[str, Any]] = {}
    batch_shard: tuple[int, int, int] | None = None

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.input_grad = True

    # ------------------------------------------------------------------ computing

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training)

    def random_rows(self, n: int) -> tuple[int, slice]:
        """For a batch of ``n`` samples: how many samples to draw random numbers for, and which
        of those rows are this batch's.

        One process: ``(n, all n)``. Data parallel (``batch_shard`` set), every rank draws for
        the whole global batch from the shared generator and keeps its own rows, so that the
        generators stay identical on every rank (a resumed run is exact) and N ranks use the
        very numbers one process would. A layer draws ``(total, ...)`` numbers per sample with
        the samples first, then takes ``[rows]``.
        """
        shard = self.batch_shard
        if shard is None or shard[1] - shard[0] != n:  # not a data-parallel step's shard
            return n, slice(0, n)
        start, stop, total = shard
        return total, slice(start, stop)

    # ------------------------------------------------------------------ shapes

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The per-sample input shape the layer's configuration fixes (Dense: ``(n_inputs,)``)."""
        return None

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the layer's parameters, or None for a layer without any."""
        return None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample output shape for a per-sample input shape (elementwise: the same)."""
        self.check_input_shape(input_shape)
        return tuple(input_shape)

    def check_input_shape(self, input_shape: tuple[int, ...], batch: int | None = None) -> None:
        """Raise `ShapeError` unless ``input_shape`` (per sample) has the rank and sizes needed.

        The one place where a layer's input is checked, with the one message template: what
        the layer expects, what it got and, for a rank mismatch, the likely fix.
        """
        expected = self.input_shape
        rank_ok = self.input_rank is None or len(input_shape) == self.input_rank
        if rank_ok and (expected is None or tuple(input_shape) == expected):
            return
        got = tuple(input_shape) if batch is None else (batch, *input_shape)
        want = expected if expected is not None else ("…",) * (self.input_rank or 0)
        wanted = "(batch, " + ", ".join(map(str, want)) + ")"
        raise ShapeError(
            f"{self.describe()} expects {wanted}, got {got}.{self.reshape_hint(tuple(input_shape))}"
        )

    def check_input(self, x: np.ndarray) -> None:
        """`check_input_shape` for a batch ``x``, cheap when the shape is right."""
        if x.ndim == 0:
            raise ShapeError(f"{self.describe()} expects a batch of inputs, got a scalar.")
        self.check_input_shape(x.shape[1:], batch=x.shape[0])

    def reshape_hint(self, input_shape: tuple[int, ...]) -> str:
        """A likely fix for an input of the wrong rank (the error's last sentence)."""
        rank = self.input_rank
        if rank == 1 and len(input_shape) > 1:
            return " Did you forget to flatten?"
        expected = self.input_shape
        if (
            rank is not None
            and expected is not None
            and math.prod(input_shape) == math.prod(expected)
        ):
            return f" Reshape with X.reshape(-1, {', '.join(map(str, expected))})."
        return ""

    def describe(self) -> str:
        """The layer as error messages name it, e.g. ``Dense 'dense_0' (784 → 16)``."""
        name = f" '{self.name}'" if self.name else ""
        sizes = self.size_label()
        return f"{type(self).__name__}{name}" + (f" ({sizes})" if sizes else "")

    def size_label(self) -> str:
        """A short description of the layer's sizes for messages (``784 → 16``); may be empty."""
        return ""

    # ------------------------------------------------------------------ parameters and buffers

    def named_parameters(self) -> dict[str, Parameter]:
        """The trainable arrays under their local names, e.g. ``{"W": ..., "b": ...}``."""
        return {}

    def named_buffers(self) -> dict[str, Buffer]:
        """Non-trainable state under local names (e.g. ``{"running_mean": ...}``)."""
        return {}

    def parameters(self) -> list[Parameter]:
        return list(self.named_parameters().values())

    def buffers(self) -> list[Buffer]:
        return list(self.named_buffers().values())

    @classmethod
    def state_shapes(
        cls, config: dict[str, Any], input_shape: tuple[int, ...]
    ) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """The shapes of the parameters and buffers a layer of this ``config`` would have.

        Used to check model files against their architecture without allocating anything, so a
        layer type with parameters must override it. Returns ``(parameters, buffers)`` by local
        name. ``config`` has passed the checks of ``options``.
        """
        return {}, {}

    @classmethod
    def shape_after(
        cls, config: dict[str, Any], input_shape: tuple[int, ...], name: str | None = None
    ) -> tuple[int, ...]:
        """The output shape a layer of this ``config`` would give for ``input_shape``.

        The class-level twin of `output_shape`, used with `state_shapes` to check a model file's
        architecture before anything is built. Raises `ShapeError` naming the layer (``name``)
        when ``input_shape`` does not fit. ``config`` has passed the checks of ``options``.

        The default builds the layer and asks its `output_shape`: cheap, and only right, for a
        layer without parameters. A layer type with parameters overrides it with the
        arithmetic, allocating nothing (as `Dense` does).
        """
        return cls(name=name, **config).output_shape(tuple(input_shape))

    # ------------------------------------------------------------------ configuration

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
