"""Checking an architecture from a file against the layer registry, allocating nothing.

A file's ``config`` (`Sequential.get_config`) is data, never code: every layer type must be
registered (`glassnet.nn.registry`), its options must be the ones its class declares in
``options`` (JSON types exactly: booleans are not integers, strings are short), and the shapes
must chain. Each layer type answers two questions about a config without being built:
``state_shapes(config, input_shape)`` (its parameters' and buffers' shapes by local name) and
``shape_after(config, input_shape)`` (its output shape). The file must hold exactly those
tensors, ``"<layer name>.<local name>"``, in the model's dtype.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ShapeError
from ..models import OUTPUTS
from ..nn.layer import Layer
from ..nn.options import KINDS, MAX_SIZE, Option
from ..nn.registry import LAYER_TYPES
from .checks import MAX_NAME, check_keys, check_name, clip, is_int, is_number, short
from .container import MAX_DIMS, TensorEntry, check_tensor
from .errors import Invalid

FLOAT_CODES = {"float32": "F32", "float64": "F64"}  # model dtypes and their safetensors codes
SEQUENTIAL_KEYS = {"output", "dtype", "seed", "input_shape", "layers"}
LAYER_KEYS = {"type", "name", "config"}
MAX_LAYERS = 10_000


@dataclass(frozen=True)
class Architecture:
    """A checked architecture: its shapes at both ends and its tensors' entries by full name."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    parameters: dict[str, TensorEntry]
    buffers: dict[str, TensorEntry]

    @property
    def tensors(self) -> dict[str, TensorEntry]:
        return {**self.parameters, **self.buffers}


def check_architecture(
    config: Any, input_shape: Any, table: Mapping[str, TensorEntry]
) -> Architecture:
    """Check a `Sequential.get_config` dict from a file and find its tensors in ``table``.

    ``input_shape`` is used when the config has none (files of older glassnet versions).
    Sizes are only compared, never allocated: a layer is built only when its class has no
    arithmetic ``shape_after`` of its own, and then only after the file was found to hold its
    parameters and buffers (so building costs no more memory than the file's size).
    """
    if not isinstance(config, dict):
        raise Invalid(f"config should be a JSON object, got {short(config)}")
    check_keys(config, SEQUENTIAL_KEYS, {"output", "dtype", "layers"}, "config")
    # A list or object is unhashable: check the JSON type before looking it up.
    if not isinstance(config["output"], str) or config["output"] not in OUTPUTS:
        raise Invalid(f"output is {short(config['output'])}; expected one of {list(OUTPUTS)}")
    if not isinstance(config["dtype"], str) or config["dtype"] not in FLOAT_CODES:
        raise Invalid(f"dtype is {short(config['dtype'])}; expected one of {list(FLOAT_CODES)}")
    dtype_code = FLOAT_CODES[config["dtype"]]
    seed = config.get("seed")
    if seed is not None and not (is_int(seed) and 0 <= seed < 2**128):
        raise Invalid(f"seed is {short(seed)}; expected null or a non-negative integer")
    layers = config["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise Invalid(f"layers should be a list of 1 to {MAX_LAYERS} layers")
    first = check_shape(config.get("input_shape", input_shape), "input_shape")
    shape = first
    parameters: dict[str, TensorEntry] = {}
    buffers: dict[str, TensorEntry] = {}
    names: set[str] = set()
    for index, spec in enumerate(layers):
        where = f"layer {index}"
        if not isinstance(spec, dict):
            raise Invalid(f"{where} should be a JSON object, got {short(spec)}")
        check_keys(spec, LAYER_KEYS, {"type", "name"}, where)
        kind, name, options = spec["type"], spec["name"], spec.get("config", {})
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise Invalid(
                f"{where} has type {short(kind)}, which is not one of the layer types a model "
                f"file may use: {sorted(LAYER_TYPES)}"
            )
        cls = LAYER_TYPES[kind]
        check_name(name, f"{where}'s name")
        if name in names:
            raise Invalid(f"two layers are named {name!r}")
        names.add(name)
        where = f"{where} ({name}, {kind})"
        if not isinstance(options, dict):
            raise Invalid(f"{where}'s config should be a JSON object, got {short(options)}")
        check_options(cls, options, where)
        state = _state_shapes(cls, options, shape, where)
        builds = any(state) and not has_own_shape_after(cls)
        if builds:  # the file holds this layer's state: building it costs no more than that
            _find_state(table, name, state, dtype_code, parameters, buffers)
        try:
            shape = check_shape(list(cls.shape_after(options, shape, name=name)), "output")
        except ShapeError as error:
            raise Invalid(f"{where} does not fit: {clip(str(error), 240)}") from None
        except (ValueError, TypeError) as error:  # NOTE: the layer's own checks of its config
            raise Invalid(f"{where} is invalid: {clip(str(error), 200)}") from None
        if not builds:
            _find_state(table, name, state, dtype_code, parameters, buffers)
    return Architecture(first, shape, parameters, buffers)


def check_options(cls: type[Layer], options: dict[str, Any], where: str) -> None:
    """The options of a layer spec against the ones ``cls`` declares (kinds and bounds)."""
    declared: dict[str, Option] = cls.options
    unknown = set(options) - set(declared)
    if unknown:
        raise Invalid(
            f"{where} has unknown options {short(sorted(unknown))}; "
            f"{cls.__name__} takes {sorted(declared)}"
        )
    missing = sorted(key for key, option in declared.items() if option.required)
    missing = [key for key in missing if key not in options]
    if missing:
        raise Invalid(f"{where} lacks the required options {missing}")
    for key, value in options.items():
        expected = option_problem(declared[key], value)
        if expected is not None:
            raise Invalid(f"{where} has {key}={short(value)}; expected {expected}")


def option_problem(option: Option, value: Any) -> str | None:
    """What ``value`` (JSON from a file) should have been for ``option``, or None if it fits."""
    kind = option.kind
    bounds = ""
    if option.low is not None or option.high is not None:
        low = "-∞" if option.low is None else option.low
        high = "∞" if option.high is None else option.high
        bounds = f" in [{low}, {high}]"

    def within(number: Any) -> bool:
        return (option.low is None or number >= option.low) and (
            option.high is None or number <= option.high
        )

    if kind == "int":
        ok = is_int(value) and within(value)
    elif kind == "real":
        ok = is_number(value) and within(value)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "text":
        ok, bounds = isinstance(value, str) and len(value) <= MAX_NAME, f" of ≤ {MAX_NAME} chars"
    elif kind == "initializer":
        ok = (isinstance(value, str) and len(value) <= MAX_NAME) or is_number(value)
    elif kind == "ints":
        shortest, longest = option.length
        values = [value] if is_int(value) else value
        ok = (
            isinstance(values, list)
            and shortest <= len(values) <= longest
            and all(is_int(n) and within(n) for n in values)
        )
        bounds += f", {shortest} to {longest} of them"
    else:  # "choice"
        ok = any(type(value) is type(choice) and value == choice for choice in option.choices)
        bounds = f": {list(option.choices)}"
    return None if ok else KINDS[kind] + bounds


def check_shape(shape: Any, what: str) -> tuple[int, ...]:
    """A per-sample shape from a file (or a layer): 1 to 8 sizes in [1, `MAX_SIZE`]."""
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= MAX_DIMS
        or not all(is_int(n) and 1 <= n <= MAX_SIZE for n in shape)
    ):
        raise Invalid(
            f"{what} is {short(shape)}; expected a list of 1 to {MAX_DIMS} sizes in "
            f"[1, {MAX_SIZE}] for one sample"
        )
    return tuple(shape)


def has_own_shape_after(cls: type[Layer]) -> bool:
    """Whether ``cls`` computes ``shape_after`` itself rather than by building (the default)."""
    return getattr(cls.shape_after, "__func__", None) is not getattr(
        Layer.shape_after, "__func__", None
    )


def _state_shapes(
    cls: type[Layer], options: dict[str, Any], shape: tuple[int, ...], where: str
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
    try:
        params, buffers = cls.state_shapes(options, shape)
    except (ShapeError, ValueError, TypeError, KeyError) as error:
        raise Invalid(f"{where} does not fit: {clip(str(error), 240)}") from None
    for local, state_shape in {**params, **buffers}.items():
        if len(state_shape) > MAX_DIMS or math.prod(state_shape) < 0:
            raise Invalid(f"{where} declares {local} of shape {short(state_shape)}")
    return params, buffers


def _find_state(
    table: Mapping[str, TensorEntry],
    layer_name: str,
    state: tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]],
    dtype_code: str,
    parameters: dict[str, TensorEntry],
    buffers: dict[str, TensorEntry],
) -> None:
    """Add a layer's parameters' and buffers' entries from ``table`` (all must be there)."""
    for shapes, found in zip(state, (parameters, buffers), strict=True):
        for local, shape in shapes.items():
            full = f"{layer_name}.{local}"
            if full in parameters or full in buffers:
                raise Invalid(f"two tensors of the architecture would be named {full!r}")
            found[full] = check_tensor(table, full, dtype_code, shape)
