"""Model files: `save` a model to one file, `load` it back, trusting nothing in the file.

The format and every check are described in the `glassnet.io` package docstring. This module
ties the parts together: the container (`glassnet.io.container`), the document
(`glassnet.io.document`), the architecture (`glassnet.io.architecture`) and, for checkpoints,
`glassnet.io.checkpoint_format`, whose checks `read` runs for files of that format.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
from collections.abc import Callable, Mapping
from inspect import signature
from typing import Any, BinaryIO

import numpy as np

from .. import initializers
from ..models import Sequential, from_config
from ..nn.registry import layer_class
from ..parameter import Buffer, Parameter
from ..train.callbacks import History
from .atomic import atomic_write
from .checkpoint_format import check_checkpoint_file
from .checks import clip, short
from .container import (
    MAX_HEADER_BYTES,
    TensorEntry,
    entry_of,
    read_arrays,
    read_header,
    safetensors_writer,
    tensor_table,
)
from .document import (
    CHECKPOINT_FORMAT,
    FORMATS,
    MODEL_FORMAT,
    check_model_file,
    model_document,
    read_document,
    restore_history,
)
from .errors import Invalid, ModelFileError
from .untrusted_json import parse_json

Validator = Callable[[dict[str, Any], Mapping[str, TensorEntry]], None]
# the checks each format adds, run on the document and tensor table before anything is read
VALIDATORS: dict[str, Validator] = {
    MODEL_FORMAT: check_model_file,
    CHECKPOINT_FORMAT: check_checkpoint_file,
}

# ---------------------------------------------------------------------- saving


def save(
    model: Sequential,
    path: str | os.PathLike[str],
    *,
    preprocessing: Mapping[str, Any] | None = None,
    history: History | Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Save a model's architecture, weights and metadata to one file, atomically.

    Parameters
    ----------
    model : Sequential
        A model of registered layer types (`glassnet.nn.registry`).
    path : str or path-like
        The file to write (replaced atomically if it exists). ``.safetensors`` is a good
        extension: the file is a valid safetensors file.
    preprocessing : mapping, optional
        JSON-ready description of how raw inputs become model inputs, e.g.
        ``{"scale": 1 / 255, "image_size": [28, 28]}``. Default: ``model.preprocessing``.
    history : History or dict, optional
        The training history (per-epoch metrics) to keep, as a `History` or its ``to_dict()``.
        Default: ``model.history``, the last `fit`'s.
    metadata : mapping, optional
        Any other JSON-ready data to keep in the file (see `read_metadata`).

    Raises
    ------
    TypeError
        If ``model`` is not a `Sequential` of registered layers, or metadata is not JSON-ready.
    ValueError
        If a weight is NaN or infinite, or anything else would make the file fail to load
        (e.g. ``class_names`` that do not fit the outputs): `save` runs the loader's checks.
    ImportError
        If the ``safetensors`` package is missing.
    """
    document = model_document(model, preprocessing, metadata, history)
    tensors = parameter_tensors(model)
    atomic_write(path, encode(tensors, document))


def parameter_tensors(model: Sequential) -> dict[str, np.ndarray]:
    """``{"dense_0.W": array, ...}``: the model's parameters, then its buffers, all finite."""
    tensors = {}
    state: dict[str, Parameter | Buffer] = {**model.named_parameters(), **model.named_buffers()}
    for name, array in state.items():
        if not np.isfinite(array.value).all():
            raise ValueError(
                f"Parameter {name} holds NaN or infinite values, so the model cannot be saved "
                "(it would not load back). Train again with a lower learning rate."
            )
        tensors[name] = array.value
    return tensors


def encode(tensors: Mapping[str, np.ndarray], document: Mapping[str, Any]) -> bytes:
    """The bytes of a safetensors file holding ``tensors`` and ``document`` as metadata.

    The loader's own checks run first, so that every file written loads back.
    """
    write = safetensors_writer()
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    arrays = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    try:
        parsed = parse_json(text.encode("utf-8"), "the metadata")
        table = {name: entry_of(name, array) for name, array in arrays.items()}
        validator = VALIDATORS.get(parsed.get("format"))
        if validator is None:
            raise Invalid(f"format is {short(parsed.get('format'))}; expected one of {FORMATS}")
        validator(parsed, table)
    except Invalid as problem:
        raise ValueError(f"This model cannot be saved: {problem}.") from None
    data = bytes(write(arrays, metadata={"glassnet": text}))
    # The loader refuses a header over MAX_HEADER_BYTES before parsing it: so does the writer.
    header_size = int.from_bytes(data[:8], "little")
    if header_size > MAX_HEADER_BYTES:
        raise ValueError(
            f"This model cannot be saved: its header would take {header_size:,} bytes, more than "
            f"the {MAX_HEADER_BYTES:,} a model file may hold, so it would not load back. Keep "
            "large data out of the metadata, preprocessing and history."
        )
    return data


# ---------------------------------------------------------------------- loading


def load(path: str | os.PathLike[str] | BinaryIO) -> Sequential:
    """Load a model saved by `save` (or the model inside a checkpoint), trusting nothing in it.

    Parameters
    ----------
    path : str, path-like or binary file
        The file, or an open seekable binary file object (e.g. ``io.BytesIO``).

    Returns
    -------
    Sequential
        The model, with ``class_names``, ``preprocessing`` and ``history`` as saved. Its
        predictions are bit-identical to the saved model's.

    Raises
    ------
    ModelFileError
        If the file is damaged, hostile or not a glassnet model file (see the module docstring
        for every check). It is a ``ValueError``.
    FileNotFoundError
        If there is no such file.
    """
    document, arrays, name = read(path, FORMATS)
    try:
        return build_model(document, arrays)
    except Invalid as problem:
        raise ModelFileError(name, str(problem)) from None


def read_metadata(path: str | os.PathLike[str] | BinaryIO) -> dict[str, Any]:
    """The validated JSON document of a model file or checkpoint, without reading the weights.

    Returns
    -------
    dict
        ``format``, ``version``, ``config``, ``class_names``, ``preprocessing``, ``history``,
        ``metadata``... (see the module docstring).
    """
    document, _, _ = read(path, FORMATS, read_tensors=False)
    return document


def read(
    source: str | os.PathLike[str] | BinaryIO,
    formats: tuple[str, ...],
    read_tensors: bool = True,
) -> tuple[dict[str, Any], dict[str, np.ndarray], str]:
    """Read and check a glassnet file: its document, its tensors by name, and its display name.

    Every check of the `glassnet.io` docstring runs before the data area is read; the
    format-specific checks are the document's ``format``'s (`VALIDATORS`).
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open_regular(name) as file:
            return _read_open(file, name, formats, read_tensors)
    name = str(getattr(source, "name", "<file object>"))
    return _read_open(source, name, formats, read_tensors)


def open_regular(name: str) -> BinaryIO:
    """Open a regular file for reading; refuse a directory, FIFO, device or /proc file first.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer, and the
    type is checked on the open descriptor (no race with a rename). Files of /proc and /sys
    say they are regular but report size 0 and produce text as they are read: refused too.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(name, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(name, "it is not a regular file (a folder, pipe or device)")
        if info.st_size == 0:
            raise ModelFileError(name, "it is empty or not a regular file (size 0)")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _read_open(
    file: BinaryIO, name: str, formats: tuple[str, ...], read_tensors: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray], str]:
    try:
        start = file.tell()
        size = file.seek(0, os.SEEK_END) - start
        file.seek(start)
        header, header_size = read_header(file, size)
        data_size = size - 8 - header_size
        table = tensor_table(header, data_size)
        document = read_document(header, formats)
        VALIDATORS[document["format"]](document, table)
        if not read_tensors:
            return document, {}, name
        return document, read_arrays(file, table, data_size), name
    except Invalid as problem:
        raise ModelFileError(name, str(problem)) from None


def build_model(document: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> Sequential:
    """Build the checked architecture and copy the checked parameters and buffers into it.

    Every layer is built with the zeros initialiser for each of its options of kind
    ``"initializer"`` (no random draws, and no initialiser a file could name but glassnet not
    provide; the values are overwritten next), then gets back the initialisers it was saved
    with, for ``get_config`` and ``reset_parameters``: a layer keeps such an option as the
    attribute of the same name (Dense's ``weight_init`` and ``bias_init``).
    """
    config = document["config"]
    specs, saved = [], []
    for spec in config["layers"]:
        cls = layer_class(spec["type"])
        options = dict(spec.get("config", {}))
        defaults = signature(cls).parameters
        kept = {
            key: options.get(key, defaults[key].default)
            for key, option in cls.options.items()
            if option.kind == "initializer" and key in defaults
        }
        specs.append({**spec, "config": {**options, **dict.fromkeys(kept, "zeros")}})
        saved.append(kept)
    plain = {**config, "layers": specs}
    plain.setdefault("input_shape", document["input_shape"])
    try:
        model = from_config(plain)
    except Exception as error:  # NOTE: a layer's own checks (e.g. LeakyReLU alpha in [0, 1])
        raise Invalid(f"the architecture is invalid: {clip(str(error), 200)}") from None
    for layer, kept in zip(model.layers, saved, strict=True):
        for key, value in kept.items():
            setattr(layer, key, saved_initializer(value))
    for name, param in model.named_parameters().items():
        param.value[...] = arrays[name]
    for name, buffer in model.named_buffers().items():
        buffer.value[...] = arrays[name]
    model.class_names = None if document["class_names"] is None else list(document["class_names"])
    model.preprocessing = dict(document["preprocessing"])
    if document["history"] is not None:
        history = History()
        history.restore(restore_history(document["history"]))
        model.history = history
    return model


def saved_initializer(saved: str | float) -> initializers.Initializer:
    """The initialiser a layer was saved with, looked up by name (never evaluated)."""
    if not isinstance(saved, str):
        return initializers.constant(float(saved))
    if saved in initializers.INITIALIZERS:
        return initializers.INITIALIZERS[saved]
    if saved.startswith("constant(") and saved.endswith(")"):
        with contextlib.suppress(ValueError):
            value = float(saved[len("constant(") : -1])
            if math.isfinite(value):
                return initializers.constant(value)

    def unavailable(shape, rng=None, dtype=np.float32):
        raise ValueError(
            f"This layer was saved with the custom initializer {saved!r}, which a model file "
            "cannot hold. Set layer.weight_init (or bias_init) to a function before resetting."
        )

    unavailable.__name__ = saved
    return unavailable
