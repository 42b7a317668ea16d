"""Property-based tests of the parsers of untrusted input (issue 18): the JSON scanner of model
files, the IDX reader and the CSV loader.

Each parser either returns what an independent reference says the input holds, or raises its one
documented error — never another exception, whatever the bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import json

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from glassnet.datasets import DatasetError, IDXFormatError, load_csv, read_idx, write_idx
from glassnet.io.errors import Invalid
from glassnet.io.untrusted_json import MAX_JSON_DEPTH, nesting_problem, parse_json

# ------------------------------------------------------------------ the untrusted JSON scanner

# Strings full of what a bracket scan could trip on: quotes, backslashes, brackets.
tricky_text = st.text(alphabet=st.sampled_from('ab"\\[]{}/ \u00e9\u2028\n'), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=30,
)


def depth(value) -> int:
    """Nesting depth the way the scanner counts it: each list or object is one level."""
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def wrapped(value, levels: int, kind: str):
    for _ in range(levels):
        value = [value] if kind == "list" else {'k\\"[': value}
    return value


@settings(max_examples=40)  # each example writes or parses a file: keep the suite fast
@given(json_values, st.integers(0, 70), st.sampled_from(["list", "object"]), st.booleans())
def test_parse_json_agrees_with_json_loads_up_to_the_depth_limit(value, levels, kind, ascii):
    document = wrapped(value, levels, kind)
    raw = json.dumps(document, ensure_ascii=ascii).encode()
    if depth(document) <= MAX_JSON_DEPTH:
        assert parse_json(raw, "the header") == json.loads(raw)
        assert nesting_problem(raw, MAX_JSON_DEPTH) is None
    else:
        try:
            parse_json(raw, "the header")
        except Invalid as error:
            assert "nested more than 64 levels" in str(error)
        else:
            raise AssertionError(f"depth {depth(document)} was accepted")


@given(st.binary(max_size=300) | tricky_text.map(str.encode))
def test_parse_json_of_any_bytes_returns_json_loads_value_or_raises_invalid(raw):
    try:
        value = parse_json(raw, "the header")
    except Invalid as error:
        assert str(error).startswith("the header ")
    else:
        assert value == json.loads(raw.decode("utf-8"))


# ------------------------------------------------------------------------- the IDX reader

idx_dtypes = st.sampled_from(["u1", "i1", ">i2", ">i4", ">f4", ">f8"])


@settings(max_examples=40)  # each example writes or parses a file: keep the suite fast
@given(
    idx_dtypes,
    st.lists(st.integers(0, 4), min_size=1, max_size=4),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_idx_round_trip_of_any_supported_array(tmp_path_factory, dtype, shape, compress, seed):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, int(np.prod(shape)) * np.dtype(dtype).itemsize, dtype=np.uint8)
    array = np.frombuffer(raw.tobytes(), dtype).reshape(shape)
    assume(array.dtype.kind != "f" or np.isfinite(array).all())
    suffix = ".gz" if compress else ""
    path = write_idx(tmp_path_factory.mktemp("idx") / f"a-idx{len(shape)}-ubyte{suffix}", array)
    back = read_idx(path)
    assert back.shape == array.shape and back.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(back, array)


# headers close enough to real ones to reach the size checks: magic, a dtype code, dims, data
idx_files = st.builds(
    lambda code, dims, extra, data: (
        bytes([0, 0, code, len(dims)])
        + b"".join(d.to_bytes(4, "big") for d in dims)
        + data[: max(0, int(np.prod(dims)) * _SIZES.get(code, 1) + extra)]
    ),
    st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x0A, 0x00]),
    st.lists(st.integers(0, 5) | st.integers(0, 2**32 - 1), max_size=10),
    st.integers(-3, 3),
    st.binary(min_size=200, max_size=200),
)
_SIZES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


@given(idx_files | st.binary(max_size=100), st.booleans())
def test_idx_reader_of_any_bytes_returns_an_array_or_raises_idx_format_error(data, compress):
    raw = gzip.compress(data) if compress else data
    try:
        array = read_idx(io.BytesIO(raw))
    except IDXFormatError as error:
        assert "<file object>" in str(error)
    else:
        # what the header declares, independently decoded
        ndim = data[3]
        dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        assert list(array.shape) == dims and data[:2] == b"\0\0" and data[2] in _SIZES
        assert array.dtype.itemsize == _SIZES[data[2]]
        assert len(data) == 4 + 4 * ndim + array.nbytes


@given(st.binary(min_size=1, max_size=60))
def test_idx_header_damage_is_refused(tail):
    good = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])
    assume(tail != good[-len(tail) :])
    try:
        array = read_idx(io.BytesIO(good[:-1] + tail))
    except IDXFormatError:
        return
    assert array.shape == (3,) and len(tail) == 1  # only a changed last value can still load


# ------------------------------------------------------------------------- the CSV loader

cells = st.text(alphabet=st.sampled_from('ab1.-,"\n xe'), max_size=6)


@settings(max_examples=40)  # each example writes or parses a file: keep the suite fast
@given(st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=6))
def test_csv_of_any_cells_loads_or_raises_dataset_error(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    with open(path, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    target = rows[0][-1]
    try:
        table = load_csv(path, target=target)
    except DatasetError:
        return
    assert table.X.dtype == np.float32 and len(table.X) == len(table.y) >= 1
    assert table.target_name == target


@settings(max_examples=40)  # each example writes or parses a file: keep the suite fast
@given(
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_numeric_csv_round_trip(tmp_path_factory, n_rows, n_features, seed, classes):
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((n_rows, n_features)) * 100, 3)
    labels = rng.choice(["cat", "dog", "fox"], n_rows) if classes else np.round(X[:, 0] * 2, 2)
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    names = [f"f{j}" for j in range(n_features)]
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*names, "target"])
        writer.writerows([*map(str, row), str(t)] for row, t in zip(X, labels, strict=True))
    table = load_csv(path, target="target")
    np.testing.assert_allclose(table.X, X.astype(np.float32))
    assert table.feature_names == tuple(names)
    if classes:
        assert table.task == "classification"
        assert table.decode(table.y).tolist() == labels.tolist()
    else:
        assert table.task in ("regression", "classification")
        if table.task == "regression":
            np.testing.assert_allclose(table.y, labels.astype(np.float32))
