"""The layer registry: layer types by name, for configs, model files and the inspector.

A new layer type is one file with a class decorated by `register`; `from_config`, the model-file
reader and the inspector find it here, and nothing else needs to know it exists. Only registered
types can be built from data, so a model file never names code to run.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .layer import Layer

LAYER_TYPES: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: make ``cls`` buildable from configs and model files by its name."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"Only Layer subclasses can be registered, got {cls!r}.")
    existing = LAYER_TYPES.get(cls.__name__)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"A layer type named {cls.__name__!r} is already registered ({existing.__module__}); "
            "give the new class another name."
        )
    LAYER_TYPES[cls.__name__] = cls
    return cls


def layer_class(type_name: str) -> type[Layer]:
    """The registered layer class called ``type_name`` (e.g. ``"Dense"``)."""
    cls = LAYER_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise ValueError(f"Unknown layer type {type_name!r}; allowed: {sorted(LAYER_TYPES)}.")
    return cls


def is_registered(layer: Layer) -> bool:
    """True when ``layer``'s own class (not a subclass of it) is the registered one."""
    return LAYER_TYPES.get(type(layer).__name__) is type(layer)


def build_layer(spec: dict[str, Any], dtype: Any = np.float32) -> Layer:
    """A layer from ``{"type": ..., "name": ..., "config": {...}}`` (`Sequential.get_config`)."""
    cls = layer_class(spec["type"])
    options = dict(spec.get("config", {}))
    if takes_dtype(cls):
        options["dtype"] = dtype
    return cls(name=spec.get("name"), **options)


def takes_dtype(cls: type[Layer]) -> bool:
    """Whether the layer type's constructor takes a ``dtype`` (layers with parameters do)."""
    return "dtype" in inspect.signature(cls).parameters
