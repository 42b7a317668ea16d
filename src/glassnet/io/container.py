"""The safetensors container: the header's framing, the tensor table, and the bytes.

A safetensors file is ``[8 bytes: N, unsigned little-endian] [N bytes: JSON header] [the
tensors' bytes, back to back]``. The header maps each tensor's name to its dtype, shape and
``data_offsets`` in the data area, plus an optional ``"__metadata__"`` map of strings. Here the
frame and the table are checked against the file's real size before any tensor is read: every
size is computed with Python integers (no overflow) and the tensors must tile the data area
exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from .checks import check_name, is_int, short
from .errors import Invalid
from .untrusted_json import parse_json

MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_DIMS = 8

# safetensors dtype codes that glassnet reads, as little-endian NumPy dtypes.
DTYPES: dict[str, np.dtype[Any]] = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
}


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


def entry_of(name: str, array: np.ndarray) -> TensorEntry:
    """The table entry an array would get when written (for checking a file before saving)."""
    codes = {dtype: code for code, dtype in DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("<"))
    if code is None:
        raise Invalid(f"{name} has dtype {array.dtype}; files hold {sorted(DTYPES)}")
    return TensorEntry(code, array.shape, 0, array.nbytes)


def check_tensor(
    table: Mapping[str, TensorEntry], name: str, dtype: str, shape: tuple[int, ...]
) -> TensorEntry:
    """The entry of tensor ``name``, which must exist with this dtype code and shape."""
    entry = table.get(name)
    if entry is None:
        raise Invalid(f"the tensor {name!r} is missing")
    if entry.dtype != dtype or entry.shape != tuple(shape):
        raise Invalid(
            f"tensor {name!r} is {entry.dtype} of shape {list(entry.shape)}; expected "
            f"{dtype} of shape {list(shape)}"
        )
    return entry


def read_header(file: BinaryIO, size: int) -> tuple[dict[str, Any], int]:
    if size < 8:
        raise Invalid(
            f"it has {size} bytes, fewer than the 8-byte header length of a safetensors file"
        )
    header_size = int.from_bytes(file.read(8), "little")
    if header_size > size - 8:
        raise Invalid(
            f"its header claims {header_size:,} bytes but the file has only {size - 8:,} after "
            "the length field (truncated file, or not a safetensors file)"
        )
    if header_size > MAX_HEADER_BYTES:
        raise Invalid(
            f"its header claims {header_size:,} bytes, more than the {MAX_HEADER_BYTES:,} "
            "allowed for a model's description"
        )
    raw = file.read(header_size)
    if len(raw) != header_size:
        raise Invalid(f"the file ended inside the header ({len(raw)} of {header_size} bytes)")
    if not raw.startswith(b"{"):
        raise Invalid(f"the header should start with '{{', got {raw[:16]!r}")
    header = parse_json(raw, "the header")
    if not isinstance(header, dict):
        raise Invalid("the header is not a JSON object")
    return header, header_size


def tensor_table(header: dict[str, Any], data_size: int) -> dict[str, TensorEntry]:
    """Check every tensor entry of a safetensors header against the data area's size."""
    table: dict[str, TensorEntry] = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        check_name(key, "tensor name")
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise Invalid(
                f"tensor {short(key)} should have exactly dtype, shape and data_offsets, got "
                f"{short(sorted(entry) if isinstance(entry, dict) else entry)}"
            )
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise Invalid(
                f"tensor {short(key)} has dtype {short(dtype)}; glassnet reads {sorted(DTYPES)}"
            )
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_DIMS
            or not all(is_int(n) and n >= 0 for n in shape)
        ):
            raise Invalid(
                f"tensor {short(key)} has shape {short(shape)}; expected a list of at most "
                f"{MAX_DIMS} non-negative integers"
            )
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(is_int(n) for n in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise Invalid(
                f"tensor {short(key)} has data_offsets {short(offsets)}; expected [begin, end] "
                f"with 0 <= begin <= end <= {data_size} (the data area's size)"
            )
        nbytes = math.prod(shape) * DTYPES[dtype].itemsize  # Python integers: no overflow
        if offsets[1] - offsets[0] != nbytes:
            raise Invalid(
                f"tensor {short(key)} of shape {shape} and dtype {dtype} needs {nbytes:,} bytes, "
                f"but its data_offsets span {offsets[1] - offsets[0]:,}"
            )
        table[key] = TensorEntry(dtype, tuple(shape), offsets[0], offsets[1])
    position = 0
    for key, entry in sorted(table.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin != position:
            where = "overlaps the tensor before it" if entry.begin < position else "leaves a gap"
            raise Invalid(f"tensor {short(key)} at byte {entry.begin} {where} (at {position})")
        position = entry.end
    if position != data_size:
        raise Invalid(
            f"the tensors cover {position:,} bytes but the data area has {data_size:,}: "
            "extra or missing bytes"
        )
    return table


def read_arrays(
    file: BinaryIO, table: Mapping[str, TensorEntry], data_size: int
) -> dict[str, np.ndarray]:
    """Read the data area in one bounded read; the tensors as read-only views, all finite."""
    data = file.read(data_size)
    if len(data) != data_size:
        raise Invalid(f"the file ended early: {len(data)} of {data_size} data bytes")
    arrays = {}
    for key, entry in table.items():
        array = np.frombuffer(data, DTYPES[entry.dtype], entry.count, entry.begin)
        array = array.reshape(entry.shape)
        if entry.dtype != "I64" and not np.isfinite(array).all():
            raise Invalid(f"tensor {key!r} holds NaN or infinite values")
        arrays[key] = array
    return arrays


def safetensors_writer() -> Callable[..., bytes]:
    """``safetensors.numpy.save``: writing needs this optional dependency, reading does not."""
    try:
        from safetensors.numpy import save as safetensors_save
    except ImportError as error:
        raise ImportError(
            'Saving model files needs the safetensors package: pip install "glassnet[io]" '
            "(or pip install safetensors)."
        ) from error
    return safetensors_save
