"""Model files: the weights in safetensors, the architecture and metadata in JSON, in one file.

>>> model.save("digits.safetensors")             # doctest: +SKIP
>>> model = glassnet.load("digits.safetensors")  # doctest: +SKIP

File format
-----------
A model file is an ordinary `safetensors <https://github.com/huggingface/safetensors>`_ file
(any safetensors reader can open its weights; the extension is up to you)::

    [8 bytes: N, unsigned little-endian] [N bytes: JSON header] [the tensors' bytes, back to back]

- The tensors are the model's parameters under their names: ``"dense_0.W"`` of shape
  (n_inputs, n_neurons), ``"dense_0.b"`` of shape (n_neurons,)... as little-endian ``F32`` or
  ``F64`` (the model's dtype).
- The header's ``"__metadata__"`` holds one string entry, ``"glassnet"``, a JSON document::

      {"format": "glassnet-model", "version": 1, "glassnet_version": "0.1.0",
       "config": model.get_config(),   # output, dtype, seed and the layers with their options
       "input_shape": [784], "n_outputs": 10,
       "class_names": ["0", "1", ...] or null,
       "preprocessing": {"scale": 0.00392156862745098, ...},  # model.preprocessing
       "history": {"epoch": [0, 1], "loss": [...], ...} or null,  # model.history (per epoch)
       "metadata": {...}}                                       # free, from save(metadata=...)

  Non-finite numbers in the history are written as null. A checkpoint (`glassnet.checkpoints`)
  is the same file with ``"format": "glassnet-checkpoint"`` and more tensors and fields.

Loading trusts nothing
----------------------
Nothing in a file is executed (no pickle, no eval: layers come from the allow-list
`glassnet.model.LAYER_TYPES`), and everything is checked before the model is built or any weight
is read, so a damaged or hostile file raises `ModelFileError` (a ``ValueError``) and never makes
the loader allocate more than the file's own size warrants:

1. The header length N must fit in the file and be at most `MAX_HEADER_BYTES`.
2. The header must be UTF-8 JSON, an object, nested at most `MAX_JSON_DEPTH` levels (checked by a
   linear scan *before* parsing, so no ``RecursionError``), without duplicate keys, NaN,
   Infinity or numbers longer than 60 characters. The ``glassnet`` document likewise.
3. Every tensor has a dtype from an allow-list, a shape of at most 8 non-negative integers and
   ``data_offsets`` whose length is exactly its shape's byte size (computed with Python integers,
   so no overflow); together the tensors tile the data area exactly: no gap, no overlap, nothing
   out of range, no trailing bytes.
4. The format and version are known; the architecture is valid (allow-listed layer types, known
   options of JSON scalar types, sizes that chain); and the tensors are exactly the parameters
   it needs, by name, dtype and shape: none missing, none extra.
5. Only then are the weights read, with one bounded read, and they must be finite.

A missing file raises the usual ``FileNotFoundError``.

Writes are atomic
-----------------
`atomic_write` writes a temporary file ``.<name>.<pid>-<random>.tmp`` in the target's directory,
flushes and fsyncs it, renames it over the target with ``os.replace`` (atomic on POSIX and
Windows) and fsyncs the directory. A crash at any moment leaves either the old file or the new one
in place, never a mixture; the next save to the same path deletes temporary files left by
crashed saves (those whose process is gone, or older than a day).

Saving needs the ``safetensors`` package (``pip install "glassnet[io]"``); loading does not.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from inspect import signature
from typing import Any, BinaryIO

import numpy as np

from . import initializers
from .models import OUTPUTS, Sequential, from_config
from .nn import Dense
from .nn.registry import LAYER_TYPES
from .train.callbacks import History

__all__ = [
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "ModelFileError",
    "atomic_write",
    "load",
    "read_metadata",
    "save",
]

FORMAT_VERSION = 1
MODEL_FORMAT = "glassnet-model"
CHECKPOINT_FORMAT = "glassnet-checkpoint"
FORMATS = (MODEL_FORMAT, CHECKPOINT_FORMAT)
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64

# safetensors dtype codes that glassnet reads, as little-endian NumPy dtypes.
DTYPES: dict[str, np.dtype[Any]] = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
}
FLOAT_CODES = {"float32": "F32", "float64": "F64"}

_MAX_NAME = 256  # characters in a tensor, layer or class name
_MAX_DIMS = 8
_MAX_NUMBER_TEXT = 60  # characters in a JSON number
_SCAN_CHUNK = 1 << 20
_STALE_SECONDS = 24 * 3600
_HINT = (
    "The file is damaged, was not written by glassnet, or was modified; save the model again "
    "from the trained model."
)


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be loaded: damaged, hostile or not glassnet's.

    Attributes
    ----------
    path : str
        The file.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str, problem: str, hint: str = _HINT) -> None:
        super().__init__(f"Cannot load {path!r}: {problem}. {hint}")
        self.path = path
        self.problem = problem


class _Invalid(Exception):
    """A problem found while validating a file; `ModelFileError` adds the file name."""


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
        A model made of the built-in layers (`glassnet.model.LAYER_TYPES`).
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
        If ``model`` is not a `Sequential` of built-in layers, or metadata is not JSON-ready.
    ValueError
        If a weight is NaN or infinite, or anything else would make the file fail to load
        (e.g. ``class_names`` that do not fit the outputs): `save` runs the loader's checks.
    ImportError
        If the ``safetensors`` package is missing.
    """
    document = model_document(model, preprocessing, metadata, history)
    tensors = parameter_tensors(model)
    atomic_write(path, encode(tensors, document))


def model_document(
    model: Sequential,
    preprocessing: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    history: History | Mapping[str, Any] | None = None,
    file_format: str = MODEL_FORMAT,
) -> dict[str, Any]:
    """The JSON document describing ``model`` (see the module docstring), checked for saving."""
    if not isinstance(model, Sequential):
        raise TypeError(f"Only a Sequential model can be saved, got {type(model).__name__}.")
    for layer in model.layers:
        kind = type(layer).__name__
        if LAYER_TYPES.get(kind) is not type(layer):
            raise TypeError(
                f"Layer {layer.name!r} is a {kind}, which model files cannot hold: they keep only "
                f"the built-in layers {sorted(LAYER_TYPES)}, so that loading never runs code."
            )
    if preprocessing is None:
        preprocessing = getattr(model, "preprocessing", None) or {}
    if history is None:
        history = getattr(model, "history", None)
    if isinstance(history, History):
        history = history.to_dict()
    from . import __version__

    return {
        "format": file_format,
        "version": FORMAT_VERSION,
        "glassnet_version": __version__,
        "config": model.get_config(),
        "input_shape": [model.n_inputs],
        "n_outputs": model.n_outputs,
        "class_names": _class_names_for_saving(model),
        "preprocessing": _json_ready(preprocessing, "preprocessing"),
        "history": None if history is None else _history_for_saving(history),
        "metadata": _json_ready(metadata or {}, "metadata"),
    }


def parameter_tensors(model: Sequential) -> dict[str, np.ndarray]:
    """``{"dense_0.W": array, ...}``: the model's parameters, refusing non-finite values."""
    tensors = {}
    for name, param in model.named_parameters().items():
        if not np.isfinite(param.value).all():
            raise ValueError(
                f"Parameter {name} holds NaN or infinite values, so the model cannot be saved "
                "(it would not load back). Train again with a lower learning rate."
            )
        tensors[name] = param.value
    return tensors


def encode(tensors: Mapping[str, np.ndarray], document: Mapping[str, Any]) -> bytes:
    """The bytes of a safetensors file holding ``tensors`` and ``document`` as metadata."""
    try:
        from safetensors.numpy import save as safetensors_save
    except ImportError as error:
        raise ImportError(
            'Saving model files needs the safetensors package: pip install "glassnet[io]" '
            "(or pip install safetensors)."
        ) from error
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    arrays = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    codes = {np.dtype(dtype): code for code, dtype in DTYPES.items()}
    try:  # the loader's own checks, so that every file written loads back
        parsed = parse_json(text.encode("utf-8"), "the metadata")
        table = {}
        for name, array in arrays.items():
            if array.dtype.newbyteorder("<") not in codes:
                raise _Invalid(f"{name} has dtype {array.dtype}; files hold {sorted(DTYPES)}")
            code = codes[array.dtype.newbyteorder("<")]
            table[name] = TensorEntry(code, array.shape, 0, array.nbytes)
        _validator(parsed["format"])(parsed, table)
    except _Invalid as problem:
        raise ValueError(f"This model cannot be saved: {problem}.") from None
    return bytes(safetensors_save(arrays, metadata={"glassnet": text}))


def _class_names_for_saving(model: Sequential) -> list[str] | None:
    names = model.class_names
    if names is None:
        return None
    names = list(names)
    if not all(isinstance(name, str) for name in names):
        raise TypeError(
            f"class_names must be strings, got {[type(n).__name__ for n in names][:5]}. "
            "Use e.g. model.class_names = [str(c) for c in classes]."
        )
    allowed = _class_name_counts(model.n_outputs)
    if len(names) not in allowed:
        raise ValueError(
            f"The model has {model.n_outputs} output(s), so class_names needs "
            f"{' or '.join(map(str, allowed))} names, got {len(names)}."
        )
    return [str(name) for name in names]


def _class_name_counts(n_outputs: int) -> tuple[int, ...]:
    # One sigmoid output separates two classes; name both (class 0 first).
    return (1, 2) if n_outputs == 1 else (n_outputs,)


def _history_for_saving(history: Mapping[str, Any]) -> dict[str, list[Any]]:
    saved: dict[str, list[Any]] = {}
    for key, values in history.items():
        if key == "epoch":
            saved[key] = [int(v) for v in values]
        else:  # JSON has no NaN: a diverged metric becomes null
            saved[str(key)] = [float(v) if math.isfinite(v) else None for v in values]
    return saved


def _json_ready(value: Any, what: str, depth: int = 0) -> Any:
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
        return _json_ready(value.item(), what, depth)
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist(), what, depth)
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{what} must have string keys, got {list(value)[:5]}.")
        return {
            key: _json_ready(item, f"{what}[{key!r}]", depth + 1) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_json_ready(item, what, depth + 1) for item in value]
    raise TypeError(
        f"{what} must hold JSON data (numbers, strings, lists, dicts), got "
        f"{type(value).__name__}. Convert it first, e.g. to a list or a string."
    )


# ---------------------------------------------------------------------- atomic writes


def atomic_write(path: str | os.PathLike[str], data: bytes | Callable[[BinaryIO], None]) -> None:
    """Write a file so that a crash leaves either the old content or the new one, never a mix.

    Parameters
    ----------
    path : str or path-like
        The target. Its directory must exist.
    data : bytes or callable
        The content, or a function that writes it to the binary file it receives.

    Notes
    -----
    The content goes to ``.<name>.<pid>-<random>.tmp`` beside the target, is flushed and fsynced,
    then renamed over the target (``os.replace``) and the directory is fsynced. On an error the
    temporary file is removed. Temporary files left for the same target by crashed writes are
    deleted first (see `remove_stale_temporaries`). Writers racing on one path each produce a
    complete file; the last rename wins. An existing target keeps its permission bits.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    remove_stale_temporaries(target)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        existing_mode: int | None = os.stat(target).st_mode & 0o7777
    except OSError:
        existing_mode = None
    with _LOCK:
        _WRITING.add(temporary)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        with os.fdopen(descriptor, "wb") as file:
            if existing_mode is not None and hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), existing_mode)
            if callable(data):
                data(file)
            else:
                file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    finally:
        with _LOCK:
            _WRITING.discard(temporary)
    _fsync_directory(folder)


_O_BINARY = getattr(os, "O_BINARY", 0)
_LOCK = threading.Lock()
_WRITING: set[str] = set()  # temporary files this process is writing right now
_TEMPORARY = re.compile(r"(\d+)-[0-9a-f]{8}")


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[str]:
    """Delete the temporary files that crashed `atomic_write` calls left for ``path``.

    A temporary file is stale when no running process is writing it: its process is gone (or is
    this one, which is not writing it), checked on POSIX; or it is more than a day old. Returns
    the paths removed.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    prefix, removed = f".{name}.", list[str]()
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        match = _TEMPORARY.fullmatch(entry[len(prefix) : -len(".tmp")])
        candidate = os.path.join(folder, entry)
        if match is None:
            continue  # not one of ours
        with _LOCK:
            if candidate in _WRITING:
                continue
        try:
            old = time.time() - os.stat(candidate).st_mtime > _STALE_SECONDS
            if old or not _process_alive(int(match.group(1))):
                os.remove(candidate)
                removed.append(candidate)
        except OSError:
            continue  # already gone, or not ours to remove
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not writing it (checked by the caller): a crash leftover
    if os.name != "posix":
        return True  # unknown: leave it to the age rule
    try:
        os.kill(pid, 0)  # signal 0 sends nothing: it only checks that the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to another user
    return True


def _fsync_directory(folder: str) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename itself is still atomic
    finally:
        os.close(descriptor)


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
    except _Invalid as problem:
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


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a safetensors header, checked against the file's size."""

    dtype: str  # a key of DTYPES
    shape: tuple[int, ...]
    begin: int  # byte offsets in the data area
    end: int

    @property
    def count(self) -> int:
        return math.prod(self.shape)


Validator = Callable[[dict[str, Any], dict[str, TensorEntry]], None]


def read(
    source: str | os.PathLike[str] | BinaryIO,
    formats: tuple[str, ...],
    read_tensors: bool = True,
) -> tuple[dict[str, Any], dict[str, np.ndarray], str]:
    """Read and check a glassnet file: its document, its tensors by name, and its display name.

    Every check of the module docstring runs before the data area is read; format-specific
    checks depend on the document's ``format``.
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(name, "rb") as file:
            return _read_open(file, name, formats, read_tensors)
    name = str(getattr(source, "name", "<file object>"))
    return _read_open(source, name, formats, read_tensors)


def _read_open(
    file: BinaryIO, name: str, formats: tuple[str, ...], read_tensors: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray], str]:
    try:
        start = file.tell()
        size = file.seek(0, os.SEEK_END) - start
        file.seek(start)
        header, header_size = _read_header(file, size)
        table = tensor_table(header, size - 8 - header_size)
        document = _document(header, formats)
        _validator(document["format"])(document, table)
        if not read_tensors:
            return document, {}, name
        data_size = size - 8 - header_size
        data = file.read(data_size)
        if len(data) != data_size:
            raise _Invalid(f"the file ended early: {len(data)} of {data_size} data bytes")
        arrays = {}
        for key, entry in table.items():
            array = np.frombuffer(data, DTYPES[entry.dtype], entry.count, entry.begin)
            array = array.reshape(entry.shape)
            if entry.dtype != "I64" and not np.isfinite(array).all():
                raise _Invalid(f"tensor {key!r} holds NaN or infinite values")
            arrays[key] = array
        return document, arrays, name
    except _Invalid as problem:
        raise ModelFileError(name, str(problem)) from None


def _read_header(file: BinaryIO, size: int) -> tuple[dict[str, Any], int]:
    if size < 8:
        raise _Invalid(
            f"it has {size} bytes, fewer than the 8-byte header length of a safetensors file"
        )
    header_size = int.from_bytes(file.read(8), "little")
    if header_size > size - 8:
        raise _Invalid(
            f"its header claims {header_size:,} bytes but the file has only {size - 8:,} after "
            "the length field (truncated file, or not a safetensors file)"
        )
    if header_size > MAX_HEADER_BYTES:
        raise _Invalid(
            f"its header claims {header_size:,} bytes, more than the {MAX_HEADER_BYTES:,} "
            "allowed for a model's description"
        )
    raw = file.read(header_size)
    if len(raw) != header_size:
        raise _Invalid(f"the file ended inside the header ({len(raw)} of {header_size} bytes)")
    if not raw.startswith(b"{"):
        raise _Invalid(f"the header should start with '{{', got {raw[:16]!r}")
    header = parse_json(raw, "the header")
    if not isinstance(header, dict):
        raise _Invalid("the header is not a JSON object")
    return header, header_size


def parse_json(raw: bytes, what: str) -> Any:
    """Parse untrusted JSON: UTF-8, nesting ≤ `MAX_JSON_DEPTH`, no duplicate keys, no NaN."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"{what} is not valid UTF-8 ({error.reason} at byte {error.start})"
        raise _Invalid(reason) from None
    nesting = _nesting_problem(raw, MAX_JSON_DEPTH)
    if nesting:
        raise _Invalid(f"{what} {nesting}")
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
        )
    except RecursionError:  # cannot happen after the scan; kept as a last line of defence
        raise _Invalid(f"{what} is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and the hooks' errors
        raise _Invalid(f"{what} is not valid JSON: {_clip(str(error), 120)}") from None


def _nesting_problem(raw: bytes, limit: int) -> str | None:
    """How JSON text ``raw`` nests too deeply (or has unbalanced brackets), or None.

    A linear scan (time and memory proportional to the text, in C-speed NumPy chunks) run before
    ``json.loads`` so that parsing can never recurse deeply. Brackets inside strings do not count.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None  # the depth cannot exceed the number of opening brackets
    # JSON escapes are read two characters at a time from the left, so once every "\\" pair and
    # then every '\"' pair is removed, each remaining quote opens or closes a string.
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    depth, in_string = 0, 0
    for start in range(0, len(text), _SCAN_CHUNK):
        chunk = np.frombuffer(text, np.uint8, min(_SCAN_CHUNK, len(text) - start), start)
        quotes = chunk == ord('"')
        # Inside a string after an odd number of quotes (a uint8 sum wraps but keeps parity).
        outside = (np.cumsum(quotes, dtype=np.uint8) + in_string) % 2 == 0
        step = ((chunk == ord("[")) | (chunk == ord("{"))).astype(np.int8)
        step -= (chunk == ord("]")) | (chunk == ord("}"))
        step *= outside
        # NOTE: an int8 running depth wraps only past ±127, and the depth moves by one per
        # bracket, so any excursion beyond `limit` (≤ 64) or below 0 is recorded before a wrap.
        level = np.cumsum(step, dtype=np.int8)
        if depth + int(level.max()) > limit:
            return f"is nested more than {limit} levels deep"
        if depth + int(level.min()) < 0:
            return "is not valid JSON: a bracket closes that was never opened"
        depth += int(level[-1])
        in_string = (in_string + int(np.count_nonzero(quotes))) % 2
    return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {_short(key)}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text) > _MAX_NUMBER_TEXT:
        raise ValueError(f"a number with {len(text)} digits")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > _MAX_NUMBER_TEXT:
        raise ValueError(f"a number written with {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{_short(text)} is out of the float range")
    return value


def tensor_table(header: dict[str, Any], data_size: int) -> dict[str, TensorEntry]:
    """Check every tensor entry of a safetensors header against the data area's size."""
    table: dict[str, TensorEntry] = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        _check_name(key, "tensor name")
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise _Invalid(
                f"tensor {_short(key)} should have exactly dtype, shape and data_offsets, got "
                f"{_short(sorted(entry) if isinstance(entry, dict) else entry)}"
            )
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise _Invalid(
                f"tensor {_short(key)} has dtype {_short(dtype)}; glassnet reads {sorted(DTYPES)}"
            )
        if (
            not isinstance(shape, list)
            or len(shape) > _MAX_DIMS
            or not all(_is_int(n) and n >= 0 for n in shape)
        ):
            raise _Invalid(
                f"tensor {_short(key)} has shape {_short(shape)}; expected a list of at most "
                f"{_MAX_DIMS} non-negative integers"
            )
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(n) for n in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise _Invalid(
                f"tensor {_short(key)} has data_offsets {_short(offsets)}; expected [begin, end] "
                f"with 0 <= begin <= end <= {data_size} (the data area's size)"
            )
        nbytes = math.prod(shape) * DTYPES[dtype].itemsize  # Python integers: no overflow
        if offsets[1] - offsets[0] != nbytes:
            raise _Invalid(
                f"tensor {_short(key)} of shape {shape} and dtype {dtype} needs {nbytes:,} bytes, "
                f"but its data_offsets span {offsets[1] - offsets[0]:,}"
            )
        table[key] = TensorEntry(dtype, tuple(shape), offsets[0], offsets[1])
    position = 0
    for key, entry in sorted(table.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin != position:
            where = "overlaps the tensor before it" if entry.begin < position else "leaves a gap"
            raise _Invalid(f"tensor {_short(key)} at byte {entry.begin} {where} (at {position})")
        position = entry.end
    if position != data_size:
        raise _Invalid(
            f"the tensors cover {position:,} bytes but the data area has {data_size:,}: "
            "extra or missing bytes"
        )
    return table


def _document(header: dict[str, Any], formats: tuple[str, ...]) -> dict[str, Any]:
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _Invalid(
            "the header has no __metadata__ map of strings (a safetensors file, but not one "
            "written by glassnet)"
        )
    if "glassnet" not in metadata:
        raise _Invalid(
            "the metadata has no 'glassnet' entry (a safetensors file, but not one written by "
            f"glassnet; its metadata keys: {_short(sorted(metadata))})"
        )
    try:
        raw = metadata["glassnet"].encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("the glassnet metadata is not valid text") from None
    document = parse_json(raw, "the glassnet metadata")
    if not isinstance(document, dict):
        raise _Invalid("the glassnet metadata is not a JSON object")
    file_format, version = document.get("format"), document.get("version")
    if not isinstance(file_format, str) or file_format not in FORMATS:
        raise _Invalid(f"format is {_short(file_format)}; expected one of {list(FORMATS)}")
    if file_format not in formats:
        raise _Invalid(f"it is a {file_format} file; expected {' or '.join(formats)}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Invalid(f"version is {_short(version)}; expected a positive integer")
    if version > FORMAT_VERSION:
        raise _Invalid(
            f"it has format version {version}, newer than this glassnet reads "
            f"({FORMAT_VERSION}); upgrade glassnet to load it"
        )
    return document


# ---------------------------------------------------------------------- the model's document

_MODEL_KEYS = {
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
_SEQUENTIAL_KEYS = {"output", "dtype", "seed", "input_shape", "layers"}
_LAYER_KEYS = {"type", "name", "config"}
_DENSE_KEYS = {"n_inputs", "n_neurons", "weight_init", "bias_init", "use_bias"}
_MAX_LAYERS = 10_000
_MAX_SIZE = 2**31 - 1


def check_model_document(
    document: dict[str, Any],
    table: dict[str, TensorEntry],
    extra_keys: frozenset[str] = frozenset(),
) -> dict[str, TensorEntry]:
    """Check the document's model part against the tensor table; return the model's tensors."""
    unknown = set(document) - _MODEL_KEYS - extra_keys
    if unknown:
        raise _Invalid(f"the metadata has unknown fields {_short(sorted(unknown))}")
    missing = (_MODEL_KEYS | extra_keys) - set(document)
    if missing:
        raise _Invalid(f"the metadata lacks the fields {sorted(missing)}")
    config = document["config"]
    expected = expected_parameters(config)
    dtype_code = FLOAT_CODES[config["dtype"]]
    n_inputs, n_outputs = _io_sizes(config)
    input_shape = document["input_shape"]
    if (
        not isinstance(input_shape, list)
        or not 1 <= len(input_shape) <= _MAX_DIMS
        or not all(_is_int(n) and n >= 1 for n in input_shape)
        or math.prod(input_shape) != n_inputs
    ):
        raise _Invalid(
            f"input_shape is {_short(input_shape)}; expected positive sizes whose product is the "
            f"{n_inputs} inputs of the first layer"
        )
    if document["n_outputs"] != n_outputs or not _is_int(document["n_outputs"]):
        raise _Invalid(
            f"n_outputs is {_short(document['n_outputs'])} but the layers give {n_outputs}"
        )
    _check_class_names(document["class_names"], n_outputs)
    for key in ("preprocessing", "metadata"):
        if not isinstance(document[key], dict):
            raise _Invalid(f"{key} should be a JSON object, got {_short(document[key])}")
    if document["history"] is not None:
        check_history(document["history"], "history")
    return {name: check_tensor(table, name, dtype_code, shape) for name, shape in expected.items()}


def check_tensor(
    table: dict[str, TensorEntry], name: str, dtype: str, shape: tuple[int, ...]
) -> TensorEntry:
    """The entry of tensor ``name``, which must exist with this dtype code and shape."""
    entry = table.get(name)
    if entry is None:
        raise _Invalid(f"the tensor {name!r} is missing")
    if entry.dtype != dtype or entry.shape != shape:
        raise _Invalid(
            f"tensor {name!r} is {entry.dtype} of shape {list(entry.shape)}; expected "
            f"{dtype} of shape {list(shape)}"
        )
    return entry


def _check_model_file(document: dict[str, Any], table: dict[str, TensorEntry]) -> None:
    model_tensors = check_model_document(document, table)
    extra = set(table) - set(model_tensors)
    if extra:
        raise _Invalid(f"it has tensors the architecture does not use: {_short(sorted(extra))}")


def expected_parameters(config: Any) -> dict[str, tuple[int, ...]]:
    """Check a `Sequential.get_config` dict from a file; return its parameters' shapes by name.

    Sizes are only compared here, never allocated.
    """
    if not isinstance(config, dict):
        raise _Invalid(f"config should be a JSON object, got {_short(config)}")
    _check_keys(config, _SEQUENTIAL_KEYS, {"output", "dtype", "layers"}, "config")
    if config["output"] not in OUTPUTS:
        raise _Invalid(f"output is {_short(config['output'])}; expected one of {list(OUTPUTS)}")
    if config["dtype"] not in FLOAT_CODES:
        raise _Invalid(f"dtype is {_short(config['dtype'])}; expected one of {list(FLOAT_CODES)}")
    seed = config.get("seed")
    if seed is not None and not (_is_int(seed) and 0 <= seed < 2**128):
        raise _Invalid(f"seed is {_short(seed)}; expected null or a non-negative integer")
    layers = config["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= _MAX_LAYERS:
        raise _Invalid(f"layers should be a list of 1 to {_MAX_LAYERS} layers")
    shapes: dict[str, tuple[int, ...]] = {}
    names: set[str] = set()
    size: int | None = None
    for index, spec in enumerate(layers):
        where = f"layer {index}"
        if not isinstance(spec, dict):
            raise _Invalid(f"{where} should be a JSON object, got {_short(spec)}")
        _check_keys(spec, _LAYER_KEYS, {"type", "name"}, where)
        kind, name, options = spec["type"], spec["name"], spec.get("config", {})
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise _Invalid(
                f"{where} has type {_short(kind)}, which is not one of the layer types a model "
                f"file may use: {sorted(LAYER_TYPES)}"
            )
        _check_name(name, f"{where}'s name")
        if name in names:
            raise _Invalid(f"two layers are named {name!r}")
        names.add(name)
        if not isinstance(options, dict):
            raise _Invalid(f"{where}'s config should be a JSON object, got {_short(options)}")
        if kind == "Dense":
            _check_keys(options, _DENSE_KEYS, {"n_inputs", "n_neurons"}, f"{where}'s config")
            n_in, n_out = options["n_inputs"], options["n_neurons"]
            for label, value in (("n_inputs", n_in), ("n_neurons", n_out)):
                if not (_is_int(value) and 1 <= value <= _MAX_SIZE):
                    raise _Invalid(
                        f"{where} has {label}={_short(value)}; expected an integer in "
                        f"[1, {_MAX_SIZE}]"
                    )
            if size is not None and n_in != size:
                raise _Invalid(
                    f"{where} ({name}) expects {n_in} inputs but the layer before gives {size}"
                )
            size = n_out
            use_bias = options.get("use_bias", True)
            if not isinstance(use_bias, bool):
                raise _Invalid(f"{where} has use_bias={_short(use_bias)}; expected true or false")
            for key in ("weight_init", "bias_init"):
                init = options.get(key, "zeros")
                if not (isinstance(init, str) and len(init) <= _MAX_NAME) and not (
                    isinstance(init, (int, float)) and not isinstance(init, bool)
                ):
                    raise _Invalid(f"{where} has {key}={_short(init)}; expected a name or a number")
            shapes[f"{name}.W"] = (n_in, n_out)
            if use_bias:
                shapes[f"{name}.b"] = (n_out,)
        else:
            allowed = set(signature(LAYER_TYPES[kind]).parameters) - {"name", "rng", "dtype"}
            unknown = set(options) - allowed
            if unknown:
                raise _Invalid(
                    f"{where} ({kind}) has unknown options {_short(sorted(unknown))}; "
                    f"{kind} takes {sorted(allowed)}"
                )
            for key, value in options.items():
                if not (value is None or isinstance(value, (bool, int, float))) and not (
                    isinstance(value, str) and len(value) <= _MAX_NAME
                ):
                    raise _Invalid(f"{where} has {key}={_short(value)}; expected a JSON scalar")
    if size is None:
        raise _Invalid("the layers include no Dense layer")
    return shapes


def _io_sizes(config: dict[str, Any]) -> tuple[int, int]:
    dense = [spec["config"] for spec in config["layers"] if spec["type"] == "Dense"]
    return dense[0]["n_inputs"], dense[-1]["n_neurons"]


def _check_class_names(names: Any, n_outputs: int) -> None:
    if names is None:
        return
    counts = _class_name_counts(n_outputs)
    if (
        not isinstance(names, list)
        or len(names) not in counts
        or not all(isinstance(n, str) and len(n) <= _MAX_NAME for n in names)
    ):
        raise _Invalid(
            f"class_names is {_short(names)}; expected null or {' or '.join(map(str, counts))} "
            "strings, one per output class"
        )


def check_history(history: Any, what: str) -> None:
    """A `History.to_dict` from a file: ``epoch`` integers and lists of numbers (null = NaN)."""
    if not isinstance(history, dict):
        raise _Invalid(f"{what} should be a JSON object, got {_short(history)}")
    for key, values in history.items():
        if not isinstance(values, list):
            raise _Invalid(f"{what}[{_short(key)}] should be a list, got {_short(values)}")
        if key == "epoch":
            ok = all(_is_int(v) and v >= 0 for v in values)
        else:
            ok = all(v is None or _is_number(v) for v in values)
        if not ok:
            raise _Invalid(f"{what}[{_short(key)}] holds values that are not numbers")


def restore_history(saved: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The inverse of the null-for-NaN encoding: a dict `History.restore` accepts."""
    return {
        key: [math.nan if v is None else v for v in values] if key != "epoch" else list(values)
        for key, values in saved.items()
    }


def build_model(document: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> Sequential:
    """Build the checked architecture and copy the checked weights into it."""
    config = document["config"]
    # Build with zero initialisers (no random draws; the weights are overwritten next), then give
    # each Dense layer back the initialisers it was saved with, for get_config and resets.
    plain = dict(config)
    plain["layers"] = [
        {**spec, "config": {**spec.get("config", {}), "weight_init": "zeros", "bias_init": "zeros"}}
        if spec["type"] == "Dense"
        else spec
        for spec in config["layers"]
    ]
    try:
        model = from_config(plain)
    except Exception as error:  # NOTE: a layer's own checks (e.g. LeakyReLU alpha in [0, 1])
        raise _Invalid(f"the architecture is invalid: {_clip(str(error), 200)}") from None
    for layer, spec in zip(model.layers, config["layers"], strict=True):
        if isinstance(layer, Dense):
            layer.weight_init = _initializer(spec["config"].get("weight_init", "glorot_uniform"))
            layer.bias_init = _initializer(spec["config"].get("bias_init", "zeros"))
    for name, param in model.named_parameters().items():
        param.value[...] = arrays[name]
    model.class_names = None if document["class_names"] is None else list(document["class_names"])
    model.preprocessing = dict(document["preprocessing"])
    if document["history"] is not None:
        history = History()
        history.restore(restore_history(document["history"]))
        model.history = history
    return model


def _initializer(saved: str | float) -> initializers.Initializer:
    """The initialiser a Dense layer was saved with, looked up by name (never evaluated)."""
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


# ---------------------------------------------------------------------- small checks


def _check_keys(mapping: dict[str, Any], allowed: set[str], required: set[str], what: str) -> None:
    unknown = set(mapping) - allowed
    if unknown:
        raise _Invalid(f"{what} has unknown fields {_short(sorted(unknown))}")
    missing = required - set(mapping)
    if missing:
        raise _Invalid(f"{what} lacks the fields {sorted(missing)}")


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= _MAX_NAME or not name.isprintable():
        raise _Invalid(
            f"{what} {_short(name)} is not a printable string of 1 to {_MAX_NAME} characters"
        )


def _is_int(value: Any) -> bool:
    return type(value) is int  # JSON integers; excludes bool


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (file contents can be huge)."""
    return _clip(repr(value), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _validator(file_format: str) -> Validator:
    if file_format == MODEL_FORMAT:
        return _check_model_file
    from .checkpoints import check_checkpoint_file  # checkpoints builds on this module

    return check_checkpoint_file
