"""Read and write IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension, then the
values in C order, big-endian::

    byte 0-1   0x00 0x00
    byte 2     dtype code: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
    byte 3     number of dimensions, ndim
    next       ndim sizes, each a big-endian uint32
    rest       prod(sizes) * itemsize bytes of data

Files may be gzip-compressed (detected by the magic bytes ``1f 8b``, not by the name).
The reader checks every field and the exact payload length *before* allocating, so a corrupt
or hostile header cannot make it allocate more memory than the file can hold.
"""

from __future__ import annotations

import gzip
import io
import os
import secrets
import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from ._errors import IDXFormatError

__all__ = ["IDX_DTYPES", "read_idx", "write_idx"]

#: IDX dtype code -> big-endian NumPy dtype, as in LeCun's specification.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}

MAX_NDIM = 8  # the format allows 255; real data sets use 1 to 4
_GZIP_MAGIC = b"\x1f\x8b"
# NOTE: deflate cannot compress better than about 1032:1, so a gzip file of c bytes holds at
# most ~1032 c bytes. A header declaring more is rejected before anything is decompressed.
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Prefixed(io.RawIOBase):
    """A read-only stream that replays ``prefix`` and then reads on from ``stream``.

    Used to sniff the first bytes of a non-seekable file object without losing them.
    """

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)


def _size_left(stream: BinaryIO) -> int | None:
    """Bytes between the current position and the end, or None if the stream cannot seek."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (OSError, AttributeError, ValueError):
        return None
    return end - here


def _read_at_most(stream: _Reader, n: int) -> bytearray:
    """Read up to ``n`` bytes in bounded chunks: memory grows only with data actually present."""
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(min(_CHUNK, n - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _parse(stream: _Reader, name: str, compressed_size: int | None, raw_size: int | None):
    """Parse the header and payload of an uncompressed IDX stream. See :func:`read_idx`."""
    magic = _read_at_most(stream, 4)
    if len(magic) == 0:
        raise IDXFormatError(
            f"{name}: expected an IDX file, got an empty file. Download it again; "
            "a failed download often leaves an empty file."
        )
    if len(magic) < 4:
        raise IDXFormatError(
            f"{name}: expected a 4-byte IDX magic number, got only {len(magic)} byte(s). "
            "The file is truncated; download it again."
        )
    if magic[0] != 0 or magic[1] != 0:
        raise IDXFormatError(
            f"{name}: expected an IDX magic number starting with two zero bytes, got "
            f"magic=0x{bytes(magic).hex()}. This is not an IDX file (or it is compressed in a "
            "format other than gzip)."
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {dt.name}" for c, dt in IDX_DTYPES.items())
        raise IDXFormatError(
            f"{name}: expected an IDX dtype code among ({known}), got code=0x{code:02X}. "
            "The file is corrupt or not an IDX file."
        )
    if not 1 <= ndim <= MAX_NDIM:
        raise IDXFormatError(
            f"{name}: expected 1 to {MAX_NDIM} dimensions, got ndim={ndim}. "
            "The header is corrupt or this is not an IDX file."
        )
    size_bytes = _read_at_most(stream, 4 * ndim)
    if len(size_bytes) < 4 * ndim:
        raise IDXFormatError(
            f"{name}: header declares ndim={ndim}, which needs {4 * ndim} bytes of sizes, got "
            f"{len(size_bytes)}. The file is truncated; download it again."
        )
    shape = tuple(int(s) for s in np.frombuffer(size_bytes, dtype=">u4"))
    if any(s >= 2**31 for s in shape):
        raise IDXFormatError(
            f"{name}: expected dimension sizes below 2**31 (signed 32-bit), got shape={shape}. "
            "The header is corrupt."
        )
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize  # Python ints: no overflow
    described = f"shape={shape} of {dtype.name} = {expected} bytes"
    header = 4 + 4 * ndim
    if raw_size is not None and raw_size - header != expected:
        problem = "is truncated" if raw_size - header < expected else "has trailing bytes"
        raise IDXFormatError(
            f"{name}: header declares {described} of data, but the file holds "
            f"{raw_size - header} bytes after the {header}-byte header; the file {problem}. "
            "Download it again."
        )
    if compressed_size is not None and expected > _MAX_DEFLATE_RATIO * compressed_size + 4096:
        raise IDXFormatError(
            f"{name}: header declares {described}, more than a {compressed_size}-byte gzip "
            "file can hold. The header is corrupt; download the file again."
        )
    # Read at most one byte more than declared: enough to detect trailing data, never more.
    payload = _read_at_most(stream, expected + 1)
    if len(payload) != expected:
        problem = (
            f"only {len(payload)} bytes (truncated)"
            if len(payload) < expected
            else "more (trailing bytes after the data)"
        )
        raise IDXFormatError(
            f"{name}: header declares {described} of data, got {problem}. Download the file again."
        )
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    # Native byte order; a single byte type is already native and stays a zero-copy view.
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx(source: str | os.PathLike | BinaryIO) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    source : str, path-like or binary file object
        The file to read. Gzip compression is detected from the first two bytes
        (``1f 8b``), so the file name does not matter.

    Returns
    -------
    array : numpy.ndarray
        Shape as declared in the header (e.g. ``(n, 28, 28)`` for MNIST images, ``(n,)``
        for labels); dtype ``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or
        ``float64`` in native byte order.

    Raises
    ------
    IDXFormatError
        If the file is empty, the magic number or dtype code is wrong, the number of
        dimensions is not in 1..8, the header is cut short, or the data are shorter or
        longer than the header declares. The message names the file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from glassnet.datasets import read_idx
    >>> raw = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])
    >>> read_idx(io.BytesIO(raw))
    array([7, 8, 9], dtype=uint8)
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(source, "rb") as stream:
            return _read_stream(stream, name)
    name = str(getattr(source, "name", "<file object>"))
    return _read_stream(source, name)


def _read_stream(stream: BinaryIO, name: str) -> np.ndarray:
    size = _size_left(stream)
    if size is not None:
        head = stream.read(2)
        stream.seek(-len(head), io.SEEK_CUR)
    else:
        head = stream.read(2)
        stream = io.BufferedReader(_Prefixed(head, stream))  # type: ignore[assignment]
    if head != _GZIP_MAGIC:
        return _parse(stream, name, compressed_size=None, raw_size=size)
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            return _parse(unzipped, name, compressed_size=size, raw_size=None)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise IDXFormatError(
            f"{name}: expected a complete gzip stream, got a damaged or truncated one "
            f"({error}). Download the file again."
        ) from error


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` to ``path`` in IDX format, atomically; gzip it if the name ends in .gz.

    The data go to a temporary file in the same folder, which is flushed, synced to disk and
    then renamed over ``path``: readers see either the old file or the complete new one.

    Parameters
    ----------
    path : str or path-like
        Destination. A name ending in ``.gz`` is written gzip-compressed.
    array : numpy.ndarray
        1 to 8 dimensions, dtype ``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or
        ``float64`` (any byte order). Each size must be below 2**31.

    Returns
    -------
    path : pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If the dtype has no IDX code (e.g. ``int64`` or ``bool``).
    IDXFormatError
        If the number of dimensions or a size does not fit the format.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from glassnet.datasets import read_idx, write_idx
    >>> folder = tempfile.TemporaryDirectory()
    >>> p = write_idx(os.path.join(folder.name, "labels-idx1-ubyte.gz"), np.arange(5, dtype="u1"))
    >>> read_idx(p)
    array([0, 1, 2, 3, 4], dtype=uint8)
    >>> folder.cleanup()
    """
    array = np.asarray(array)
    path = Path(path)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(
            f"write_idx expects dtype uint8, int8, int16, int32, float32 or float64, got "
            f"dtype={array.dtype}. Convert first, e.g. array.astype(np.int32) or "
            "array.astype(np.uint8)."
        )
    if not 1 <= array.ndim <= MAX_NDIM or any(s >= 2**31 for s in array.shape):
        raise IDXFormatError(
            f"write_idx expects 1 to {MAX_NDIM} dimensions each below 2**31, got "
            f"shape={array.shape}. Reshape the array first."
        )
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = np.ascontiguousarray(array, dtype=IDX_DTYPES[code])  # big-endian, C order

    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 honours the umask, unlike tempfile's private 0o600 files.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "wb") as out:
            if path.name.endswith(".gz"):
                # mtime=0 and no file name: the same array always gives the same bytes.
                with gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as zipped:
                    zipped.write(header)
                    zipped.write(data.data)
            else:
                out.write(header)
                out.write(data.data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
