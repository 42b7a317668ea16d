"""Damaged and hostile ONNX files: each raises ModelFileError, never another exception.

Issue 15: "A hostile or damaged ONNX file raises ModelFileError, never another exception: size
limits before parsing, external-data references refused, a fuzz of mutated files in the suite."
"""

from __future__ import annotations

import io
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import glassnet as gn
import glassnet.onnx as gx
from glassnet.io import ModelFileError


def _valid() -> bytes:
    model = gn.MLP([6, 5, 4, 3], activation="leaky_relu", seed=0)
    model.class_names = ["a", "b", "c"]
    model.preprocessing = {"scale": 0.5}
    return gx.to_onnx(model).SerializeToString()


VALID = _valid()


def _load(data: bytes, **kwargs) -> gn.Sequential:
    return gx.load(io.BytesIO(data), **kwargs)


def _edited(edit) -> bytes:
    proto = onnx.ModelProto()
    proto.ParseFromString(VALID)
    edit(proto)
    return proto.SerializeToString()


def test_the_valid_file_loads():
    model = _load(VALID)
    assert model.class_names == ["a", "b", "c"] and model.preprocessing == {"scale": 0.5}


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 10, b"not an onnx file at all", VALID[: len(VALID) // 2], VALID[:-7] + b"\xff"],
)
def test_garbage_and_truncated_files(data):
    with pytest.raises(ModelFileError, match="Cannot load"):
        _load(data)


def test_files_over_the_size_limit_are_refused_before_parsing(tmp_path):
    path = tmp_path / "big.onnx"
    path.write_bytes(VALID)
    with pytest.raises(ModelFileError, match=f"{len(VALID):,} bytes, more than the limit of 100"):
        gx.load(path, max_bytes=100)


def test_external_data_is_refused(tmp_path):
    proto = onnx.ModelProto()
    proto.ParseFromString(VALID)
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 4096)
    tensor = proto.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelFileError, match="external data"):
        gx.load(path)
    # also when only a location is given (no data_location flag)
    tensor.data_location = TensorProto.DEFAULT
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelFileError, match="external data"):
        gx.load(path)


def _first_weight(proto, **changes):
    tensor = proto.graph.initializer[0]
    for key, value in changes.items():
        if key == "dims":
            del tensor.dims[:]
            tensor.dims.extend(value)
        else:
            setattr(tensor, key, value)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda p: _first_weight(p, dims=[2**40, 2**20]), "holds 30 numbers"),  # no allocation
        (lambda p: _first_weight(p, dims=[3, 11]), "holds 30 numbers, not 33"),
        (lambda p: _first_weight(p, dims=[-1, 5]), "has the shape"),
        (lambda p: _first_weight(p, dims=[1] * 20), "has the shape"),
        (lambda p: _first_weight(p, raw_data=b"\x00" * 7), "holds 1 numbers"),
        (lambda p: p.metadata_props[3].__setattr__("value", "[" * 10_000), "nested"),
        (lambda p: p.metadata_props[3].__setattr__("value", '["x"]'), "class_names"),
        (lambda p: p.metadata_props[4].__setattr__("value", "[1]"), "preprocessing"),
        (lambda p: p.graph.node[0].__setattr__("op_type", "LRN"), "unsupported operators LRN"),
        (lambda p: p.graph.node[1].input.__setitem__(0, "nowhere"), "read by no node"),
        (lambda p: p.graph.input[0].type.tensor_type.__setattr__("elem_type", 7), "element type"),
    ],
)
def test_damaged_parts(edit, match):
    data = _edited(edit)
    with pytest.raises(ModelFileError, match=match):
        _load(data)


def test_nan_weights_are_refused():
    def nan(proto):
        tensor = proto.graph.initializer[1]
        array = numpy_helper.to_array(tensor).copy()
        array[0] = np.nan
        tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))

    with pytest.raises(ModelFileError, match="NaN"):
        _load(_edited(nan))


def test_a_graph_that_loops_is_refused():
    def loop(proto):  # the last Gemm feeds the first one again: a cycle
        proto.graph.node[-2].output[0] = "input"
        proto.graph.node.append(helper.make_node("Identity", ["input"], ["scores"]))

    with pytest.raises(ModelFileError, match="read by 2 nodes|loops|read by no node"):
        _load(_edited(loop))


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three random edits: bit flips, byte changes, insertions, deletions, cuts, copies."""
    mutant = bytearray(data)
    for _ in range(rng.integers(1, 4)):
        if not mutant:
            break
        at = int(rng.integers(0, len(mutant)))
        kind = rng.integers(0, 6)
        if kind == 0:
            mutant[at] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            mutant[at] = int(rng.integers(0, 256))
        elif kind == 2:
            mutant[at:at] = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        elif kind == 3:
            del mutant[at : at + int(rng.integers(1, 17))]
        elif kind == 4:
            del mutant[at:]
        else:
            mutant[at:at] = mutant[at : at + int(rng.integers(1, 33))]
    return bytes(mutant)


def test_fuzz_of_mutated_files_raises_only_model_file_error():
    rng = np.random.default_rng(15)
    deadline = time.monotonic() + 3.0  # bounded: as many mutants as fit in 3 s, at least 200
    outcomes = {"loaded": 0, "refused": 0}
    n = 0
    while n < 200 or (time.monotonic() < deadline and n < 3000):
        mutant = _mutate(VALID, rng)
        try:
            model = _load(mutant)
        except ModelFileError:
            outcomes["refused"] += 1
        else:
            assert isinstance(model, gn.Sequential)
            model.predict(np.zeros((1, *model.input_shape), model.dtype))
            outcomes["loaded"] += 1
        n += 1
    assert outcomes["refused"] > 0
