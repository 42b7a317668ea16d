"""IDX reader and writer: round trips, malformed files, bounded memory, atomic writes."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tracemalloc

import numpy as np
import pytest

from glassnet.datasets import IDXFormatError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(7,), (3, 5), (2, 3, 4)]


def header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def sample(dtype, shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_round_trip_keeps_values_dtype_and_shape(tmp_path, dtype, shape, suffix):
    array = sample(dtype, shape)
    path = write_idx(tmp_path / f"data-idx{len(shape)}{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)


def test_gz_name_writes_gzip_and_plain_name_writes_raw(tmp_path):
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    zipped = write_idx(tmp_path / "a.gz", array).read_bytes()
    raw = write_idx(tmp_path / "a", array).read_bytes()
    assert zipped[:2] == b"\x1f\x8b"
    assert raw == header(0x0B, (2, 3)) + array.astype(">i2").tobytes()
    assert gzip.decompress(zipped) == raw


def test_compression_is_detected_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    raw = write_idx(tmp_path / "raw", array)
    zipped = write_idx(tmp_path / "zipped.gz", array)
    os.replace(raw, tmp_path / "misnamed.gz")
    os.replace(zipped, tmp_path / "misnamed-raw")
    np.testing.assert_array_equal(read_idx(tmp_path / "misnamed.gz"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "misnamed-raw"), array)


def test_big_endian_file_values_are_decoded(tmp_path):
    # 0x0102 as big-endian int16 is 258; a little-endian misread would give 513.
    (tmp_path / "x").write_bytes(header(0x0B, (1,)) + b"\x01\x02")
    assert read_idx(tmp_path / "x").tolist() == [258]


def test_reads_file_objects_seekable_and_not(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    data = write_idx(tmp_path / "f.gz", array).read_bytes()

    class Pipe:  # read() only, like a socket or a pipe
        def __init__(self, payload: bytes) -> None:
            self._buffer = io.BytesIO(payload)

        def read(self, n: int = -1) -> bytes:
            return self._buffer.read(n)

        def seekable(self) -> bool:
            return False

    np.testing.assert_array_equal(read_idx(io.BytesIO(data)), array)
    np.testing.assert_array_equal(read_idx(Pipe(data)), array)
    np.testing.assert_array_equal(read_idx(Pipe(gzip.decompress(data))), array)


GOOD = header(0x08, (2, 3)) + bytes(range(6))
MALFORMED = {
    "empty file": b"",
    "magic shorter than 4 bytes": b"\x00\x00\x08",
    "bad magic first bytes": b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00",
    "bad dtype code": header(0x0A, (1,)) + b"\x00",
    "ndim 0": b"\x00\x00\x08\x00",
    "ndim above 8": b"\x00\x00\x08\x09" + b"\x00\x00\x00\x01" * 9 + b"\x00",
    "header shorter than dims": b"\x00\x00\x08\x03" + struct.pack(">I", 2) + b"\x00\x00",
    "truncated payload": GOOD[:-1],
    "trailing bytes": GOOD + b"\x00",
    "dimension above 2**31": header(0x08, (2**31,)) + b"\x00",
    "gzip truncated": gzip.compress(GOOD, mtime=0)[:-12],
    "gzip payload truncated": gzip.compress(GOOD[:-2], mtime=0),
    "gzip trailing bytes": gzip.compress(GOOD + b"\x07", mtime=0),
    "gzip empty content": gzip.compress(b"", mtime=0),
    "gzip corrupt deflate data": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 20,
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_raises_idx_format_error_naming_the_file(tmp_path, content):
    path = tmp_path / "broken-idx-ubyte"
    path.write_bytes(content)
    with pytest.raises(IDXFormatError, match="broken-idx-ubyte"):
        read_idx(path)


def test_idx_format_error_is_a_value_error(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_idx(path)


def test_messages_say_what_is_wrong(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(GOOD[:-1])
    with pytest.raises(IDXFormatError, match=r"shape=\(2, 3\).*holds 5 bytes.*truncated"):
        read_idx(path)
    path.write_bytes(header(0x0A, (1,)) + b"\x00")
    with pytest.raises(IDXFormatError, match="code=0x0A"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_huge_declared_size_is_rejected_fast_without_allocating(tmp_path, compress):
    # 10**12 float64 values declared (8 TB) in a file of about 100 bytes.
    content = header(0x0E, (10**6, 10**6)) + bytes(80)
    if compress:
        content = gzip.compress(content, mtime=0)
    path = tmp_path / "bomb"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match="bomb"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"peak allocation {peak} bytes for a {len(content)}-byte file"


def test_gzip_bomb_is_read_in_bounded_memory(tmp_path):
    # Declares 100 bytes but decompresses to 50 MB of zeros: must stop after 101 bytes.
    content = gzip.compress(header(0x08, (100,)) + bytes(50_000_000), mtime=0)
    path = tmp_path / "zeros.gz"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match="trailing"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_write_rejects_dtypes_without_idx_code(tmp_path):
    with pytest.raises(TypeError, match="int64.*astype"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))
    with pytest.raises(TypeError, match="bool"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=bool))
    assert list(tmp_path.iterdir()) == []


def test_write_rejects_scalars(tmp_path):
    with pytest.raises(IDXFormatError, match=r"shape=\(\)"):
        write_idx(tmp_path / "x", np.uint8(3))


def test_write_accepts_non_contiguous_and_byte_swapped_arrays(tmp_path):
    array = np.arange(24, dtype=">i4").reshape(4, 6)[:, ::2]
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "x", array)), array)


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = write_idx(tmp_path / "labels.gz", np.arange(4, dtype=np.uint8))
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.arange(100, dtype=np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["labels.gz"]


def test_write_is_deterministic(tmp_path):
    array = np.arange(50, dtype=np.uint8)
    a = write_idx(tmp_path / "a.gz", array).read_bytes()
    b = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert a == b
