"""Every field of a model file's and a checkpoint's JSON document, given a value of the wrong JSON
type, raises ModelFileError (never TypeError, KeyError or AttributeError); and paths that are not
regular files are refused before anything is read from them (issue 17)."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import ModelFileError

WRONG_TYPES: list[Any] = [None, True, 0, -1, 2.5, 10**30, "x", "", [], [1, "a"], {}, {"a": [None]}]


def _model_file(tmp_path: Path) -> Path:
    model = gn.MLP([4, 5, 3], activation="tanh", seed=0)
    model.class_names = ["a", "b", "c"]
    model.preprocessing = {"kind": "table", "columns": ["p", "q", "r", "s"]}
    path = tmp_path / "m.glassnet"
    gn.io.save(model, path)
    return path


def _checkpoint(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 3, 40)
    model = gn.MLP([4, 5, 3], activation="relu", seed=0)
    path = tmp_path / "c.ckpt"
    model.fit(X, y, epochs=2, batch_size=16, optimizer="adam", callbacks=[gn.io.Checkpoint(path)])
    return path


def _split(raw: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + size]), raw[8 + size :]


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON document (the first two items of each list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _variants(path: Path) -> Iterator[tuple[str, bytes]]:
    header, payload = _split(path.read_bytes())
    document = json.loads(header["__metadata__"]["glassnet"])
    for where in _paths(document):
        for wrong in WRONG_TYPES:
            edited = copy.deepcopy(document)
            target = edited
            for step in where[:-1]:
                target = target[step]
            if type(target[where[-1]]) is type(wrong) and target[where[-1]] == wrong:
                continue
            target[where[-1]] = wrong
            new_header = copy.deepcopy(header)
            new_header["__metadata__"]["glassnet"] = json.dumps(edited)
            raw = json.dumps(new_header).encode()
            yield f"{where}={wrong!r}", len(raw).to_bytes(8, "little") + raw + payload


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
def test_every_field_of_the_wrong_json_type_raises_model_file_error(kind, tmp_path):
    path = _model_file(tmp_path) if kind == "model" else _checkpoint(tmp_path)
    loaders = [gn.io.load] if kind == "model" else [gn.io.load, gn.io.load_checkpoint]
    tried = 0
    failures = []
    for label, raw in _variants(path):
        bad = tmp_path / "bad"
        bad.write_bytes(raw)
        for loader in loaders:
            tried += 1
            try:
                loader(bad)
            except ModelFileError:
                pass
            except Exception as error:  # noqa: BLE001 - collected to report every case at once
                failures.append(f"{loader.__name__} {label}: {type(error).__name__}: {error}")
    assert tried > 200
    assert not failures, "\n".join(failures[:20])


# the two refusals of `open_regular`: each test pins which one fired, and for which file
NOT_REGULAR = r"it is not a regular file \(a folder, pipe or device\)\."
SIZE_ZERO = r"it is empty or not a regular file \(size 0\)\."


def test_a_directory_is_refused(tmp_path):
    refusal = f"^Cannot load {re.escape(repr(str(tmp_path)))}: {NOT_REGULAR}"
    with pytest.raises(ModelFileError, match=refusal):
        gn.io.load(tmp_path)
    with pytest.raises(ModelFileError, match=refusal):
        gn.io.load_checkpoint(tmp_path)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.glassnet"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            gn.io.load(fifo)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001
            outcome.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # unblock the reader so the test run can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("loading a FIFO blocked")
    assert isinstance(outcome[0], ModelFileError) and re.search(NOT_REGULAR, str(outcome[0]))
    assert outcome[0].path == str(fifo)


def test_a_proc_file_is_refused():
    with pytest.raises(ModelFileError, match=SIZE_ZERO) as error:
        gn.io.load("/proc/self/status")
    assert error.value.path == "/proc/self/status"


def test_an_empty_file_is_refused_by_name(tmp_path):
    (tmp_path / "empty.glassnet").write_bytes(b"")
    with pytest.raises(ModelFileError, match=SIZE_ZERO) as error:
        gn.io.load(tmp_path / "empty.glassnet")
    assert error.value.path == str(tmp_path / "empty.glassnet")


@pytest.mark.parametrize("item", [b"{}", b"[]", b"0"])
def test_a_header_of_millions_of_tiny_values_is_refused_fast_in_bounded_memory(item):
    count = (16 * 1024 * 1024 - 64) // (len(item) + 1)
    body = b'{"x":[' + b",".join([item] * count) + b"]}"
    raw = len(body).to_bytes(8, "little") + body
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="JSON values"):
        gn.io.load(io.BytesIO(raw))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * len(raw)  # the header itself and a copy, not hundreds of MB of objects
