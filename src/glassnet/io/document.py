"""The JSON document of a model file: written from a model, and checked when read.

The document is the ``"glassnet"`` entry of the safetensors header's ``"__metadata__"`` (its
fields are listed in the `glassnet.io` package docstring). Checkpoints add two fields
(`glassnet.io.checkpoint_format`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..models import Sequential
from ..nn.registry import LAYER_TYPES, is_registered
from ..train.callbacks import History
from ..version import __version__
from .architecture import Architecture, check_architecture
from .checks import MAX_NAME, is_int, is_number, short
from .container import TensorEntry
from .errors import Invalid
from .untrusted_json import MAX_JSON_DEPTH, parse_json

FORMAT_VERSION = 1
MODEL_FORMAT = "glassnet-model"
CHECKPOINT_FORMAT = "glassnet-checkpoint"
FORMATS = (MODEL_FORMAT, CHECKPOINT_FORMAT)
MODEL_KEYS = {
    "format",
    "version",
    "glassnet_version",
    "config",
    "input_shape",
    "n_outputs",
    "class_names",
    "preprocessing",
    "history",
    "metadata",
}

# ---------------------------------------------------------------------- writing


def model_document(
    model: Sequential,
    preprocessing: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    history: History | Mapping[str, Any] | None = None,
    file_format: str = MODEL_FORMAT,
) -> dict[str, Any]:
    """The JSON document describing ``model`` (see `glassnet.io`), checked for saving."""
    if not isinstance(model, Sequential):
        raise TypeError(f"Only a Sequential model can be saved, got {type(model).__name__}.")
    for layer in model.layers:
        if not is_registered(layer):
            raise TypeError(
                f"Layer {layer.name!r} is a {type(layer).__name__}, which model files cannot "
                f"hold: they keep only the registered layer types {sorted(LAYER_TYPES)}, so that "
                "loading never runs code. Register the class with glassnet.register."
            )
    if preprocessing is None:
        preprocessing = getattr(model, "preprocessing", None) or {}
    if history is None:
        history = getattr(model, "history", None)
    if isinstance(history, History):
        history = history.to_dict()
    return {
        "format": file_format,
        "version": FORMAT_VERSION,
        "glassnet_version": __version__,
        "config": model.get_config(),
        "input_shape": list(model.input_shape),
        "n_outputs": model.n_outputs,
        "class_names": class_names_for_saving(model),
        "preprocessing": json_ready(preprocessing, "preprocessing"),
        "history": None if history is None else history_for_saving(history),
        "metadata": json_ready(metadata or {}, "metadata"),
    }


def class_names_for_saving(model: Sequential) -> list[str] | None:
    names = model.class_names
    if names is None:
        return None
    names = list(names)
    if not all(isinstance(name, str) for name in names):
        raise TypeError(
            f"class_names must be strings, got {[type(n).__name__ for n in names][:5]}. "
            "Use e.g. model.class_names = [str(c) for c in classes]."
        )
    allowed = class_name_counts(model.n_outputs)
    if len(names) not in allowed:
        raise ValueError(
            f"The model has {model.n_outputs} output(s), so class_names needs "
            f"{' or '.join(map(str, allowed))} names, got {len(names)}."
        )
    return [str(name) for name in names]


def class_name_counts(n_outputs: int) -> tuple[int, ...]:
    # One sigmoid output separates two classes; name both (class 0 first).
    return (1, 2) if n_outputs == 1 else (n_outputs,)


def history_for_saving(history: Mapping[str, Any]) -> dict[str, list[Any]]:
    saved: dict[str, list[Any]] = {}
    for key, values in history.items():
        if key == "epoch":
            saved[key] = [int(v) for v in values]
        else:  # JSON has no NaN: a diverged metric becomes null
            saved[str(key)] = [float(v) if math.isfinite(v) else None for v in values]
    return saved


def json_ready(value: Any, what: str, depth: int = 0) -> Any:
    """``value`` as plain JSON data (NumPy scalars and arrays converted), or a TypeError."""
    if depth > MAX_JSON_DEPTH - 4:
        raise TypeError(f"{what} is nested too deeply to save (or contains itself).")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} holds a non-finite number ({value}), which JSON cannot.")
        return value
    if isinstance(value, np.generic):
        return json_ready(value.item(), what, depth)
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist(), what, depth)
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{what} must have string keys, got {list(value)[:5]}.")
        return {key: json_ready(item, f"{what}[{key!r}]", depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item, what, depth + 1) for item in value]
    raise TypeError(
        f"{what} must hold JSON data (numbers, strings, lists, dicts), got "
        f"{type(value).__name__}. Convert it first, e.g. to a list or a string."
    )


# ---------------------------------------------------------------------- reading


def read_document(header: dict[str, Any], formats: tuple[str, ...]) -> dict[str, Any]:
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Invalid(
            "the header has no __metadata__ map of strings (a safetensors file, but not one "
            "written by glassnet)"
        )
    if "glassnet" not in metadata:
        raise Invalid(
            "the metadata has no 'glassnet' entry (a safetensors file, but not one written by "
            f"glassnet; its metadata keys: {short(sorted(metadata))})"
        )
    try:
        raw = metadata["glassnet"].encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("the glassnet metadata is not valid text") from None
    document = parse_json(raw, "the glassnet metadata")
    if not isinstance(document, dict):
        raise Invalid("the glassnet metadata is not a JSON object")
    file_format, version = document.get("format"), document.get("version")
    if not isinstance(file_format, str) or file_format not in FORMATS:
        raise Invalid(f"format is {short(file_format)}; expected one of {list(FORMATS)}")
    if file_format not in formats:
        raise Invalid(f"it is a {file_format} file; expected {' or '.join(formats)}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise Invalid(f"version is {short(version)}; expected a positive integer")
    if version > FORMAT_VERSION:
        raise Invalid(
            f"it has format version {version}, newer than this glassnet reads "
            f"({FORMAT_VERSION}); upgrade glassnet to load it"
        )
    return document


def check_model_document(
    document: dict[str, Any],
    table: Mapping[str, TensorEntry],
    extra_keys: frozenset[str] = frozenset(),
) -> Architecture:
    """Check the document's model part against the tensor table; return the architecture."""
    unknown = set(document) - MODEL_KEYS - extra_keys
    if unknown:
        raise Invalid(f"the metadata has unknown fields {short(sorted(unknown))}")
    missing = (MODEL_KEYS | extra_keys) - set(document)
    if missing:
        raise Invalid(f"the metadata lacks the fields {sorted(missing)}")
    input_shape = document["input_shape"]
    architecture = check_architecture(document["config"], input_shape, table)
    if input_shape != list(architecture.input_shape):
        raise Invalid(
            f"input_shape is {short(input_shape)}; expected {list(architecture.input_shape)}, "
            "the shape the first layer takes"
        )
    n_outputs = math.prod(architecture.output_shape)
    if document["n_outputs"] != n_outputs or not is_int(document["n_outputs"]):
        raise Invalid(
            f"n_outputs is {short(document['n_outputs'])} but the layers give {n_outputs}"
        )
    check_class_names(document["class_names"], n_outputs)
    for key in ("preprocessing", "metadata"):
        if not isinstance(document[key], dict):
            raise Invalid(f"{key} should be a JSON object, got {short(document[key])}")
    if document["history"] is not None:
        check_history(document["history"], "history")
    return architecture


def check_model_file(document: dict[str, Any], table: Mapping[str, TensorEntry]) -> None:
    """The checks of a model file: its document, and exactly the architecture's tensors."""
    architecture = check_model_document(document, table)
    extra = set(table) - set(architecture.tensors)
    if extra:
        raise Invalid(f"it has tensors the architecture does not use: {short(sorted(extra))}")


def check_class_names(names: Any, n_outputs: int) -> None:
    if names is None:
        return
    counts = class_name_counts(n_outputs)
    if (
        not isinstance(names, list)
        or len(names) not in counts
        or not all(isinstance(n, str) and len(n) <= MAX_NAME for n in names)
    ):
        raise Invalid(
            f"class_names is {short(names)}; expected null or {' or '.join(map(str, counts))} "
            "strings, one per output class"
        )


def check_history(history: Any, what: str) -> None:
    """A `History.to_dict` from a file: ``epoch`` integers and lists of numbers (null = NaN)."""
    if not isinstance(history, dict):
        raise Invalid(f"{what} should be a JSON object, got {short(history)}")
    for key, values in history.items():
        if not isinstance(values, list):
            raise Invalid(f"{what}[{short(key)}] should be a list, got {short(values)}")
        if key == "epoch":
            ok = all(is_int(v) and v >= 0 for v in values)
        else:
            ok = all(v is None or is_number(v) for v in values)
        if not ok:
            raise Invalid(f"{what}[{short(key)}] holds values that are not numbers")


def restore_history(saved: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The inverse of the null-for-NaN encoding: a dict `History.restore` accepts."""
    return {
        key: [math.nan if v is None else v for v in values] if key != "epoch" else list(values)
        for key, values in saved.items()
    }
