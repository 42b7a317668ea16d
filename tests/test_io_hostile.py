"""Damaged and hostile model files: each raises ModelFileError, fast and without big allocations.

Issue 3: "a malformed or hostile file raises one clear error type ... never MemoryError,
RecursionError or a NumPy error, and never allocates more than the file's size warrants."
"""

from __future__ import annotations

import copy
import io
import json
import re
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import MAX_HEADER_BYTES, ModelFileError
from glassnet.io.container import tensor_table
from glassnet.io.errors import Invalid
from json_fuzz import HOSTILE_VALUES, json_paths, replaced


def _valid_file() -> bytes:
    model = gn.MLP([3, 4, 2], activation="leaky_relu", seed=0)
    model.class_names = ["no", "yes"]
    model.preprocessing = {"scale": 0.5}
    document = gn.io.model_document(model)
    return gn.io.encode(gn.io.parameter_tensors(model), document)


VALID = _valid_file()
_SIZE = int.from_bytes(VALID[:8], "little")
HEADER: dict = json.loads(VALID[8 : 8 + _SIZE])
PAYLOAD = VALID[8 + _SIZE :]
DOC: dict = json.loads(HEADER["__metadata__"]["glassnet"])


def assemble(header: dict | bytes, payload: bytes = PAYLOAD, declared: int | None = None) -> bytes:
    """A safetensors file: 8-byte length, header, payload (the length may lie)."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return (len(raw) if declared is None else declared).to_bytes(8, "little") + raw + payload


def with_header(edit: Callable[[dict], object], payload: bytes = PAYLOAD) -> bytes:
    header = copy.deepcopy(HEADER)
    edit(header)
    return assemble(header, payload)


def with_document(edit: Callable[[dict], object]) -> bytes:
    document = copy.deepcopy(DOC)
    edit(document)
    header = copy.deepcopy(HEADER)
    header["__metadata__"]["glassnet"] = json.dumps(document)
    return assemble(header)


def with_document_text(text: str) -> bytes:
    header = copy.deepcopy(HEADER)
    header["__metadata__"]["glassnet"] = text
    return assemble(header)


def with_raw_header(old: str, new: str) -> bytes:
    raw = json.dumps(HEADER)
    assert old in raw
    return assemble(raw.replace(old, new, 1).encode())


def _span(name: str) -> tuple[int, int]:
    begin, end = HEADER[name]["data_offsets"]
    return begin, end


def _layer(document: dict, index: int) -> dict:
    return document["config"]["layers"][index]


def _set(mapping: dict, key, value):
    mapping[key] = value


def _drop_tensor(header: dict, name: str) -> bytes:
    """Remove a tensor and its bytes, shifting the others so that the file stays consistent."""
    begin, end = header.pop(name)["data_offsets"]
    for key, entry in header.items():
        if key != "__metadata__" and entry["data_offsets"][0] >= end:
            entry["data_offsets"] = [o - (end - begin) for o in entry["data_offsets"]]
    return assemble(header, PAYLOAD[:begin] + PAYLOAD[end:])


def _weight_value(value: float) -> bytes:
    begin, _ = _span("dense_0.W")
    payload = bytearray(PAYLOAD)
    payload[begin : begin + 4] = np.float32(value).tobytes()
    return assemble(copy.deepcopy(HEADER), bytes(payload))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _cases() -> dict[str, Callable[[], bytes]]:
    last = max(HEADER[k]["data_offsets"][1] for k in HEADER if k != "__metadata__")
    b_begin, b_end = _span("dense_1.b")
    return {
        # The frame: length field and header bytes.
        "empty-file": lambda: b"",
        "seven-bytes": lambda: b"\x00" * 7,
        "eight-bytes": lambda: b"\x00" * 8,  # a length field of 0 and nothing else
        "header-length-zero": lambda: assemble(b""),
        "header-longer-than-file": lambda: assemble(HEADER, declared=len(VALID) * 2),
        "header-4-bytes-past-the-end": lambda: assemble(
            HEADER, declared=len(json.dumps(HEADER)) + len(PAYLOAD) + 4
        ),
        "header-over-the-cap": lambda: (
            (MAX_HEADER_BYTES + 1).to_bytes(8, "little") + b"{" * (MAX_HEADER_BYTES + 1)
        ),
        "header-declares-terabytes": lambda: assemble(HEADER, declared=2**40),
        "header-declares-2**64-1": lambda: assemble(HEADER, declared=2**64 - 1),
        "header-not-utf8": lambda: assemble(b'{"\xff\xfe": 1}'),
        "header-not-json": lambda: assemble(b"{not json at all"),
        "header-is-array": lambda: assemble(b"[1, 2, 3]"),
        "header-is-a-long-string": lambda: assemble(b'"' + b"x" * 40 + b'"'),
        "header-padded-with-nul": lambda: assemble(json.dumps(HEADER).encode() + b"\x00" * 8),
        "header-deeply-nested": lambda: assemble(f'{{"x": {_nested(100_000)}}}'.encode()),
        "header-nested-65-levels": lambda: assemble(f'{{"x": {_nested(64)}}}'.encode()),
        "header-unbalanced-brackets": lambda: assemble(b'{"x": ' + b"]" * 10 + b"[" * 65 + b"}"),
        "header-nan-constant": lambda: with_raw_header('"shape": [4]', '"shape": [NaN]'),
        "header-huge-integer": lambda: with_raw_header('"shape": [4]', f'"shape": [{"9" * 5000}]'),
        "duplicate-tensor-names": lambda: with_raw_header(
            '"dense_0.b": {',
            '"dense_0.b": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, "dense_0.b": {',
        ),
        "pickle-file": lambda: b"\x80\x04\x95" + b"\x00" * 40 + b"cos\nsystem\n.",
        "npy-file": lambda: b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False}",
        # Tensor entries.
        "tensor-dtype-bf16": lambda: with_header(lambda h: _set(h["dense_0.b"], "dtype", "BF16")),
        "tensor-dtype-object": lambda: with_header(lambda h: _set(h["dense_0.b"], "dtype", "O")),
        "tensor-dtype-int64-for-a-weight": lambda: with_header(
            lambda h: h["dense_0.b"].update(dtype="I64", shape=[2])
        ),
        "tensor-shape-transposed": lambda: with_header(
            lambda h: _set(h["dense_0.W"], "shape", [4, 3])
        ),
        "tensor-shape-negative": lambda: with_header(lambda h: _set(h["dense_0.b"], "shape", [-4])),
        "tensor-shape-float": lambda: with_header(lambda h: _set(h["dense_0.b"], "shape", [4.0])),
        "tensor-shape-bool": lambda: with_header(lambda h: _set(h["dense_0.b"], "shape", [True])),
        "tensor-shape-100-dims": lambda: with_header(
            lambda h: _set(h["dense_0.b"], "shape", [1] * 96 + [2, 2])
        ),
        "tensor-shape-overflows-int64": lambda: with_header(
            lambda h: _set(h["dense_0.b"], "shape", [2**40, 2**40, 2**40])
        ),
        "tensor-entry-extra-field": lambda: with_header(lambda h: _set(h["dense_0.b"], "x", 1)),
        "tensor-entry-no-offsets": lambda: with_header(
            lambda h: h["dense_0.b"].pop("data_offsets")
        ),
        "tensor-entry-not-object": lambda: with_header(lambda h: _set(h, "dense_0.b", [1, 2])),
        "tensor-name-empty": lambda: with_header(lambda h: _set(h, "", h.pop("dense_0.b"))),
        "tensor-name-control-chars": lambda: with_header(
            lambda h: _set(h, "dense_0.b\x00\n", h.pop("dense_0.b"))
        ),
        "offsets-reversed": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [b_end, b_begin])
        ),
        "offsets-past-the-end": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [last, last + b_end - b_begin])
        ),
        "offsets-2**70": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [2**70, 2**70 + 8])
        ),
        "offsets-negative": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [-8, 0])
        ),
        "offsets-overlap": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [b_begin - 4, b_end - 4])
        ),
        # The union of the spans is exactly the data area, but two tensors share bytes.
        "offsets-overlap-covering-exactly": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [b_begin - 8, b_end - 8]),
            payload=PAYLOAD[: b_end - 8],
        ),
        # The sizes add up to the data area, but one tensor overlaps and another leaves a gap.
        "offsets-overlap-sizes-add-up": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [0, b_end - b_begin])
        ),
        "offsets-span-wrong-size": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [b_begin, b_end - 4])
        ),
        "offsets-leave-a-gap": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [b_begin, b_end]),
            payload=PAYLOAD[:b_begin] + b"\x00" * 8 + PAYLOAD[b_begin:],
        ),
        # Eight unclaimed bytes before the last tensor, which moves past them.
        "offsets-gap-between-tensors": lambda: with_header(
            lambda h: _set(h["dense_1.b"], "data_offsets", [b_begin + 8, b_end + 8]),
            payload=PAYLOAD[:b_begin] + b"\x00" * 8 + PAYLOAD[b_begin:],
        ),
        "trailing-bytes": lambda: assemble(HEADER, PAYLOAD + b"\x00" * 16),
        "truncated-data": lambda: VALID[:-5],
        "truncated-in-header": lambda: VALID[: 8 + _SIZE // 2],
        "missing-tensor": lambda: _drop_tensor(copy.deepcopy(HEADER), "dense_1.b"),
        "extra-tensor": lambda: with_header(
            lambda h: _set(
                h, "dense_9.b", {"dtype": "F32", "shape": [2], "data_offsets": [last, last + 8]}
            ),
            payload=PAYLOAD + b"\x00" * 8,
        ),
        "extra-empty-tensor": lambda: with_header(
            lambda h: _set(h, "zzz", {"dtype": "F32", "shape": [0], "data_offsets": [last, last]})
        ),
        "weight-nan": lambda: _weight_value(np.nan),
        "weight-infinite": lambda: _weight_value(-np.inf),
        # The metadata and the glassnet document.
        "no-metadata": lambda: with_header(lambda h: h.pop("__metadata__")),
        "metadata-not-strings": lambda: with_header(
            lambda h: _set(h["__metadata__"], "glassnet", DOC)
        ),
        "plain-safetensors-file": lambda: with_header(
            lambda h: _set(h, "__metadata__", {"format": "pt"})
        ),
        "document-not-json": lambda: with_document_text("format: glassnet-model"),
        "document-is-list": lambda: with_document_text("[1, 2]"),
        "document-deeply-nested": lambda: with_document_text(_nested(50_000)),
        "document-duplicate-keys": lambda: with_document_text(
            json.dumps(DOC)[:-1] + ', "version": 1}'
        ),
        "document-infinite-number": lambda: with_document_text(
            json.dumps(DOC).replace('"alpha": 0.01', '"alpha": 1e999')
        ),
        "document-lone-surrogate": lambda: with_document_text(
            json.dumps(DOC).replace('"dense_0"', '"dense_\\ud800"')
        ),
        "format-unknown": lambda: with_document(lambda d: _set(d, "format", "glassnet-foo")),
        "version-newer": lambda: with_document(lambda d: _set(d, "version", 2)),
        "version-string": lambda: with_document(lambda d: _set(d, "version", "1")),
        "version-bool": lambda: with_document(lambda d: _set(d, "version", True)),
        "document-unknown-field": lambda: with_document(lambda d: _set(d, "code", "rm -rf /")),
        "document-missing-config": lambda: with_document(lambda d: d.pop("config")),
        "config-not-object": lambda: with_document(lambda d: _set(d, "config", "MLP")),
        "config-dtype-object": lambda: with_document(
            lambda d: _set(d["config"], "dtype", "object")
        ),
        "config-output-unknown": lambda: with_document(
            lambda d: _set(d["config"], "output", "softmax2")
        ),
        "config-seed-negative": lambda: with_document(lambda d: _set(d["config"], "seed", -1)),
        "layers-not-list": lambda: with_document(lambda d: _set(d["config"], "layers", {})),
        "layers-empty": lambda: with_document(lambda d: _set(d["config"], "layers", [])),
        "layer-type-unknown": lambda: with_document(lambda d: _set(_layer(d, 1), "type", "Lambda")),
        "layer-type-code": lambda: with_document(
            lambda d: _set(_layer(d, 1), "type", "__import__('os').system('echo pwned')")
        ),
        "layer-type-base-class": lambda: with_document(
            lambda d: _set(_layer(d, 1), "type", "Layer")
        ),
        "layer-name-not-string": lambda: with_document(lambda d: _set(_layer(d, 1), "name", 7)),
        "layer-names-duplicate": lambda: with_document(
            lambda d: _set(_layer(d, 1), "name", "dense_0")
        ),
        "dense-size-negative": lambda: with_document(
            lambda d: _set(_layer(d, 0)["config"], "n_inputs", -3)
        ),
        "dense-size-bool": lambda: with_document(
            lambda d: _set(_layer(d, 0)["config"], "n_inputs", True)
        ),
        "dense-size-huge-without-data": lambda: with_document(
            lambda d: _layer(d, 0)["config"].update(n_inputs=10**12, n_neurons=10**12)
        ),
        "dense-sizes-do-not-chain": lambda: with_document(
            lambda d: _set(_layer(d, 2)["config"], "n_inputs", 5)
        ),
        "dense-missing-size": lambda: with_document(
            lambda d: _layer(d, 0)["config"].pop("n_neurons")
        ),
        "dense-unknown-option": lambda: with_document(
            lambda d: _set(_layer(d, 0)["config"], "rng", {"seed": 1})
        ),
        "dense-init-is-object": lambda: with_document(
            lambda d: _set(_layer(d, 0)["config"], "weight_init", {"__class__": "x"})
        ),
        "dense-bias-flag-not-bool": lambda: with_document(
            lambda d: _set(_layer(d, 0)["config"], "use_bias", "no")
        ),
        "activation-option-string": lambda: with_document(
            lambda d: _set(_layer(d, 1)["config"], "alpha", "0.1")
        ),
        "activation-option-out-of-range": lambda: with_document(
            lambda d: _set(_layer(d, 1)["config"], "alpha", 5.0)
        ),
        "activation-unknown-option": lambda: with_document(
            lambda d: _set(_layer(d, 1)["config"], "threshold", 1)
        ),
        "input-shape-wrong": lambda: with_document(lambda d: _set(d, "input_shape", [2, 2])),
        "n-outputs-wrong": lambda: with_document(lambda d: _set(d, "n_outputs", 3)),
        "class-names-too-many": lambda: with_document(
            lambda d: _set(d, "class_names", ["a", "b", "c"])
        ),
        "class-names-not-strings": lambda: with_document(lambda d: _set(d, "class_names", [0, 1])),
        "preprocessing-not-object": lambda: with_document(
            lambda d: _set(d, "preprocessing", [1 / 255])
        ),
        "history-not-numbers": lambda: with_document(
            lambda d: _set(d, "history", {"epoch": [0], "loss": ["low"]})
        ),
    }


CASES = _cases()

_OFFSETS = r"has data_offsets .*expected \[begin, end\] with 0 <= begin <= end"
_NOT_PRINTABLE = "is not a printable string of 1 to 256 characters"
# case → the message of the check that must refuse it, so that one check cannot hide the
# regression of another (issue 18)
REASONS = {
    "empty-file": "it has 0 bytes, fewer than the 8-byte header length",
    "seven-bytes": "it has 7 bytes, fewer than the 8-byte header length",
    "eight-bytes": "the header should start with '{', got b''",
    "header-length-zero": "the header should start with '{', got b''",
    "header-longer-than-file": (
        r"its header claims 2,\d{3} bytes but the file has only 1,\d{3} after the length field "
        r"\(truncated file, or not a safetensors file\)"
    ),
    "header-4-bytes-past-the-end": (
        rf"its header claims {len(json.dumps(HEADER)) + len(PAYLOAD) + 4:,} bytes but the file "
        rf"has only {len(json.dumps(HEADER)) + len(PAYLOAD):,} after the length field"
    ),
    "header-over-the-cap": (
        "its header claims 16,777,217 bytes, more than the 16,777,216 allowed for a model's "
        "description"
    ),
    "header-declares-terabytes": "its header claims 1,099,511,627,776 bytes but the file has only",
    "header-declares-2**64-1": "its header claims 18,446,744,073,709,551,615 bytes but the file",
    "header-not-utf8": "the header is not valid UTF-8",
    "header-not-json": "the header is not valid JSON: Expecting property name",
    "header-is-array": r"the header should start with '\{', got b'\[1, 2, 3\]'",
    "header-is-a-long-string": "the header should start with '{', got b'\"xxxxxxxxxxxxxxx'[.]",
    "header-padded-with-nul": "the header is not valid JSON: Extra data",
    "header-deeply-nested": "the header is nested more than 64 levels deep",
    "header-nested-65-levels": "the header is nested more than 64 levels deep",
    "header-unbalanced-brackets": "the header is not valid JSON: a bracket closes that was never",
    "header-nan-constant": "the header is not valid JSON: NaN is not a JSON number",
    "header-huge-integer": "the header is not valid JSON: a number with 5000 digits",
    "duplicate-tensor-names": "the header is not valid JSON: duplicate key 'dense_0.b'",
    "pickle-file": "its header claims 9,766,016 bytes but the file has only 47",
    "npy-file": "its header claims .* bytes but the file has only 42",
    "tensor-dtype-bf16": r"tensor 'dense_0.b' has dtype 'BF16'; glassnet reads \['F32'",
    "tensor-dtype-object": "tensor 'dense_0.b' has dtype 'O'; glassnet reads",
    "tensor-dtype-int64-for-a-weight": (
        r"tensor 'dense_0.b' is I64 of shape \[2\]; expected F32 of shape \[4\]"
    ),
    "tensor-shape-transposed": (
        r"tensor 'dense_0.W' is F32 of shape \[4, 3\]; expected F32 of shape \[3, 4\]"
    ),
    "tensor-shape-negative": r"'dense_0.b' has shape \[-4\]; expected a list of at most 8 non-ne",
    "tensor-shape-float": r"'dense_0.b' has shape \[4.0\]; expected a list of at most 8 non-neg",
    "tensor-shape-bool": r"'dense_0.b' has shape \[True\]; expected a list of at most 8 non-ne",
    "tensor-shape-100-dims": r"'dense_0.b' has shape \[1, 1, .*; expected a list of at most 8 ",
    "tensor-shape-overflows-int64": (
        r"tensor 'dense_0.b' of shape \[1099511627776, .* needs 5,316,911,983,139,663,491,615,228,"
    ),
    "tensor-entry-extra-field": r"should have exactly dtype, shape and data_offsets, got \[.*'x'\]",
    "tensor-entry-no-offsets": r"exactly dtype, shape and data_offsets, got \['dtype', 'shape'\]",
    "tensor-entry-not-object": r"exactly dtype, shape and data_offsets, got \[1, 2\]",
    "tensor-name-empty": f"tensor name '' {_NOT_PRINTABLE}",
    "tensor-name-control-chars": f"tensor name 'dense_0.b.x00.n' {_NOT_PRINTABLE}",
    "offsets-reversed": r"tensor 'dense_1.b' has data_offsets \[104, 96\]",
    "offsets-past-the-end": r"tensor 'dense_1.b' has data_offsets \[104, 112\].* <= 104 \(the",
    "offsets-2**70": r"has data_offsets \[1180591620717411303424, ",
    "offsets-negative": r"tensor 'dense_1.b' has data_offsets \[-8, 0\]",
    "offsets-overlap": "tensor 'dense_1.b' at byte 92 overlaps the tensor before it",
    "offsets-overlap-covering-exactly": "tensor 'dense_1.b' at byte 88 overlaps the tensor before",
    "offsets-overlap-sizes-add-up": "tensor '.*' at byte 0 overlaps the tensor before it",
    "offsets-span-wrong-size": (
        r"tensor 'dense_1.b' of shape \[2\] and dtype F32 needs 8 bytes, but its data_offsets "
        "span 4"
    ),
    "offsets-leave-a-gap": "the tensors cover 104 bytes but the data area has 112: extra or m",
    "offsets-gap-between-tensors": "tensor 'dense_1.b' at byte 104 leaves a gap \\(at 96\\)",
    "trailing-bytes": "the tensors cover 104 bytes but the data area has 120: extra or missing",
    "truncated-data": _OFFSETS + " <= 99 ",
    "truncated-in-header": "its header claims 1,000 bytes but the file has only 500",
    "missing-tensor": "the tensor 'dense_1.b' is missing",
    "extra-tensor": r"tensors the architecture does not use: \['dense_9.b'\]",
    "extra-empty-tensor": r"tensors the architecture does not use: \['zzz'\]",
    "weight-nan": "tensor 'dense_0.W' holds NaN or infinite values",
    "weight-infinite": "tensor 'dense_0.W' holds NaN or infinite values",
    "no-metadata": "the header has no __metadata__ map of strings",
    "metadata-not-strings": "the header has no __metadata__ map of strings",
    "plain-safetensors-file": r"the metadata has no 'glassnet' entry .*keys: \['format'\]",
    "document-not-json": "the glassnet metadata is not valid JSON: Expecting value",
    "document-is-list": "the glassnet metadata is not a JSON object",
    "document-deeply-nested": "the glassnet metadata is nested more than 64 levels deep",
    "document-duplicate-keys": "the glassnet metadata is not valid JSON: duplicate key 'version'",
    "document-infinite-number": "the glassnet metadata is not valid JSON: '1e999' is out of",
    "document-lone-surrogate": f"layer 0's name 'dense_.*' {_NOT_PRINTABLE}",
    "format-unknown": "format is 'glassnet-foo'; expected one of",
    "version-newer": "it has format version 2, newer than this glassnet reads",
    "version-string": "version is '1'; expected a positive integer",
    "version-bool": "version is True; expected a positive integer",
    "document-unknown-field": r"the metadata has unknown fields \['code'\]",
    "document-missing-config": r"the metadata lacks the fields \['config'\]",
    "config-not-object": "config should be a JSON object, got 'MLP'",
    "config-dtype-object": "dtype is 'object'; expected one of",
    "config-output-unknown": "output is 'softmax2'; expected one of",
    "config-seed-negative": "seed is -1; expected null or a non-negative integer",
    "layers-not-list": "layers should be a list of 1 to 10000 layers",
    "layers-empty": "layers should be a list of 1 to 10000 layers",
    "layer-type-unknown": "layer 1 has type 'Lambda', which is not one of the layer types",
    "layer-type-code": "layer 1 has type .*__import__.*, which is not one of the layer types",
    "layer-type-base-class": "layer 1 has type 'Layer', which is not one of the layer types",
    "layer-name-not-string": f"layer 1's name 7 {_NOT_PRINTABLE}",
    "layer-names-duplicate": "two layers are named 'dense_0'",
    "dense-size-negative": r"has n_inputs=-3; expected an integer in \[1, 2147483647\]",
    "dense-size-bool": r"has n_inputs=True; expected an integer in \[1, 2147483647\]",
    "dense-size-huge-without-data": r"has n_inputs=1000000000000; expected an integer in \[1,",
    "dense-sizes-do-not-chain": (
        r"layer 2 \(dense_1, Dense\) does not fit: Dense 'dense_1' \(5 → 2\) expects 5 "
        r"inputs, but the layer before it gives 4\. Make each layer's n_inputs equal the "
        r"previous layer's n_neurons"
    ),
    "dense-missing-size": r"lacks the required options \['n_neurons'\]",
    "dense-unknown-option": r"has unknown options \['rng'\]; Dense takes",
    "dense-init-is-object": "has weight_init=.*; expected an initializer name or a number",
    "dense-bias-flag-not-bool": "has use_bias='no'; expected true or false",
    "activation-option-string": r"has alpha='0.1'; expected a number in \[0.0, 1.0\]",
    "activation-option-out-of-range": r"has alpha=5.0; expected a number in \[0.0, 1.0\]",
    "activation-unknown-option": r"has unknown options \['threshold'\]; LeakyReLU takes",
    "input-shape-wrong": r"input_shape is \[2, 2\]; expected \[3\]",
    "n-outputs-wrong": "n_outputs is 3 but the layers give 2",
    "class-names-too-many": "class_names is .*; expected null or 2 strings",
    "class-names-not-strings": r"class_names is \[0, 1\]; expected null or 2 strings",
    "preprocessing-not-object": "preprocessing should be a JSON object, got",
    "history-not-numbers": r"history\['loss'\] holds values that are not numbers",
}


def test_every_crafted_file_names_the_check_that_must_refuse_it():
    assert sorted(REASONS) == sorted(CASES)


@pytest.mark.parametrize("case", CASES)
def test_crafted_file_raises_model_file_error(case):
    data = CASES[case]()
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as error:
            gn.load(io.BytesIO(data))
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert isinstance(error.value, ValueError)
    assert str(error.value).startswith("Cannot load '<file object>': ")
    assert re.search(REASONS[case], str(error.value)), str(error.value)
    # The loader allocates in proportion to the file, never to what the file claims.
    assert peak < 8 * len(data) + 2**20, f"peak allocation {peak:,} for {len(data):,} bytes"


def test_the_valid_file_the_cases_start_from_loads():
    model = gn.load(io.BytesIO(VALID))
    assert model.class_names == ["no", "yes"]
    assert gn.load(io.BytesIO(assemble(HEADER))).n_parameters == model.n_parameters


def test_tensors_laid_out_in_any_order_load():
    # Another writer may order the data area differently from the names: the tiling check
    # walks the tensors by offset, so the same tensors in reverse order load the same model.
    names = sorted((k for k in HEADER if k != "__metadata__"), reverse=True)
    header, payload = copy.deepcopy(HEADER), b""
    for name in names:
        begin, end = _span(name)
        header[name]["data_offsets"] = [len(payload), len(payload) + end - begin]
        payload += PAYLOAD[begin:end]
    assert header[names[0]]["data_offsets"][0] == 0 != HEADER[names[0]]["data_offsets"][0]
    loaded, reference = gn.load(io.BytesIO(assemble(header, payload))), gn.load(io.BytesIO(VALID))
    np.testing.assert_array_equal(loaded.get_weights(), reference.get_weights())


def test_a_tensor_may_have_8_dimensions_not_9():
    entry = {"dtype": "F32", "shape": [1] * 8, "data_offsets": [0, 4]}
    assert tensor_table({"t": entry}, 4)["t"].shape == (1,) * 8
    with pytest.raises(Invalid, match=r"tensor 't' has shape \[1, 1, 1, 1, 1, 1, 1, 1, 1\]; exp"):
        tensor_table({"t": {**entry, "shape": [1] * 9}}, 4)


def test_a_file_object_is_read_from_its_position_and_named_by_its_name(tmp_path):
    # A model stored after other bytes in a stream loads from where the stream stands; an open
    # file's refusal names the file, as loading by path does.
    stream = io.BytesIO(b"other data" + VALID)
    stream.seek(len(b"other data"))
    np.testing.assert_array_equal(
        gn.load(stream).get_weights(), gn.load(io.BytesIO(VALID)).get_weights()
    )
    path = tmp_path / "cut.safetensors"
    path.write_bytes(VALID[:-5])
    with open(path, "rb") as file, pytest.raises(ModelFileError) as error:
        gn.load(file)
    assert str(error.value).startswith(
        f"Cannot load {str(path)!r}: tensor "
    ) and error.value.path == str(path)


class CountingFile(io.FileIO):
    """A file on disk that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.read_bytes += n or 0
        return n


def test_header_declaring_terabytes_fails_at_once_from_disk(tmp_path):
    """Refused from the 8-byte length field alone: no time spent reading (no timing, issue 18)."""
    path = tmp_path / "huge.safetensors"
    path.write_bytes(assemble(HEADER, declared=2**42))
    with pytest.raises(ModelFileError, match="claims 4,398,046,511,104 bytes"):
        gn.load(path)
    with CountingFile(path) as file, pytest.raises(ModelFileError, match="claims 4,398,046,"):
        gn.load(file)
    assert file.read_bytes == 8


class ShrunkFile(io.BytesIO):
    """A file cut after its size was measured (truncated while loading): the read of ``part``
    bytes (the header, or the data area) gets only half of them."""

    def __init__(self, data: bytes, part: int) -> None:
        super().__init__(data)
        self.part = part

    def read(self, size=-1):
        data = super().read(size)
        return data[: self.part // 2] if size == self.part else data


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (_SIZE, f"the file ended inside the header \\({_SIZE // 2} of {_SIZE} bytes\\)"),
        (len(PAYLOAD), f"the file ended early: {len(PAYLOAD) // 2} of {len(PAYLOAD)} data bytes"),
    ],
    ids=["header", "data"],
)
def test_a_file_cut_while_it_is_read_is_refused(part, message):
    with pytest.raises(ModelFileError, match=message):
        gn.load(ShrunkFile(VALID, part))


def test_header_larger_than_the_cap_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as file:
        file.write((MAX_HEADER_BYTES + 1).to_bytes(8, "little") + b"{")
        file.truncate(8 + MAX_HEADER_BYTES + 64)  # a sparse file: the disk holds almost nothing
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="claims 16,777,217 bytes, more than the 16,"):
            gn.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_a_header_of_exactly_the_cap_loads():
    raw = json.dumps(HEADER).encode()
    padded = raw + b" " * (MAX_HEADER_BYTES - len(raw))  # JSON allows trailing whitespace
    model = gn.load(io.BytesIO(assemble(padded)))
    np.testing.assert_array_equal(model.get_weights(), gn.load(io.BytesIO(VALID)).get_weights())


@pytest.mark.parametrize(
    "text",
    [
        '{"x": "' + "\\\\" * 2_000_000 + '"}',  # two million escaped backslashes
        '{"x": "' + '\\"' * 2_000_000 + '"}',  # escaped quotes that must not end the string
        '{"x": "' + "[" * 4_000_000 + '"}',  # brackets inside a string do not nest
    ],
    ids=["escaped-backslashes", "escaped-quotes", "brackets-in-string"],
)
def test_big_headers_are_scanned_in_chunks_without_confusion(text):
    """Scanned right, in memory proportional to the text (its speed is a benchmark figure)."""
    data = assemble(text.encode(), b"")
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="tensor .x. should have exactly"):
            gn.load(io.BytesIO(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * len(data) + 2**24, f"peak allocation {peak:,} for {len(data):,} bytes"


def test_nesting_check_is_exact_at_the_limit():
    at_limit = assemble(f'{{"__metadata__": {{}}, "x": {_nested(63)}}}'.encode(), b"")
    with pytest.raises(ModelFileError, match="tensor 'x' should have"):
        gn.load(io.BytesIO(at_limit))  # parsed: 64 levels are allowed
    over = assemble(f'{{"__metadata__": {{}}, "x": {_nested(64)}}}'.encode(), b"")
    with pytest.raises(ModelFileError, match="nested more than 64 levels"):
        gn.load(io.BytesIO(over))


# ---------------------------------------------------------------------- every JSON field


@pytest.mark.parametrize("part", ["document", "header"])
def test_every_json_field_with_hostile_values_loads_or_raises_model_file_error(part):
    """Each field of the glassnet document and of the tensor table, replaced by each value."""
    source = DOC if part == "document" else HEADER
    paths = [p for p, _ in json_paths(source) if p and p[:1] != ("__metadata__",)]
    assert len(paths) > 20
    outcomes = {"loaded": 0, "refused": 0}
    crashes: list[str] = []
    for path in paths:
        for value in HOSTILE_VALUES:
            edited = replaced(source, path, value)
            header = copy.deepcopy(HEADER) if part == "document" else edited
            if part == "document":
                header["__metadata__"]["glassnet"] = json.dumps(edited)
            try:
                gn.load(io.BytesIO(assemble(header)))
            except ModelFileError as error:
                assert str(error).startswith("Cannot load"), (path, value, error)
                outcomes["refused"] += 1
            except Exception as error:  # any other exception is a bug: collected, reported
                crashes.append(f"{path} = {value!r:.40}: {type(error).__name__}: {error}")
            else:
                outcomes["loaded"] += 1
    assert not crashes, "\n".join(crashes)
    assert outcomes["refused"] > 0, outcomes


# ---------------------------------------------------------------------- mutation fuzzing


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three random edits: bit flips, byte changes, insertions, deletions, cuts, copies."""
    mutant = bytearray(data)
    for _ in range(rng.integers(1, 4)):
        if not mutant:
            break
        at = int(rng.integers(0, len(mutant)))
        kind = rng.integers(0, 7)
        if kind == 0:  # flip one bit
            mutant[at] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # a random byte
            mutant[at] = int(rng.integers(0, 256))
        elif kind == 2:  # a byte that matters to JSON or to numbers
            mutant[at] = int(rng.choice(list(b'{}[]",:0123456789-eE.\\ \x00\xff')))
        elif kind == 3:  # insert bytes
            mutant[at:at] = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        elif kind == 4:  # delete a span
            del mutant[at : at + int(rng.integers(1, 17))]
        elif kind == 5:  # truncate
            del mutant[at:]
        else:  # duplicate a span
            mutant[at:at] = mutant[at : at + int(rng.integers(1, 33))]
    return bytes(mutant)


def _mutant(valid: bytes, rng: np.random.Generator) -> bytes:
    """Mutate the whole file, or one part with the framing kept consistent so that the
    mutation reaches the deeper checks: the header (length fixed up), the glassnet document
    (re-encoded as a JSON string), or the tensors' bytes."""
    size = int.from_bytes(valid[:8], "little")
    header, payload = valid[8 : 8 + size], valid[8 + size :]
    part = rng.integers(0, 4)
    if part == 0:
        return _mutate(valid, rng)
    if part == 1:
        return assemble(_mutate(header, rng), payload)
    if part == 2:
        parsed = json.loads(header)
        text = _mutate(parsed["__metadata__"]["glassnet"].encode(), rng)
        parsed["__metadata__"]["glassnet"] = text.decode("utf-8", "replace")
        return assemble(parsed, payload)
    return valid[: 8 + size] + _mutate(payload, rng)[: len(payload)].ljust(len(payload), b"\0")


@pytest.mark.slow
def test_20000_mutants_of_a_valid_file_load_cleanly_or_raise_model_file_error():
    model = gn.MLP([2, 3, 2], activation="tanh", seed=0)
    model.class_names = ["a", "b"]
    valid = gn.io.encode(gn.io.parameter_tensors(model), gn.io.model_document(model))
    rng = np.random.default_rng(20_000)
    outcomes = {"loaded": 0, "refused": 0}
    for index in range(20_000):
        mutant = _mutant(valid, rng)
        try:
            loaded = gn.load(io.BytesIO(mutant))
        except ModelFileError:
            outcomes["refused"] += 1
        except Exception as error:  # pragma: no cover - the failure report
            raise AssertionError(
                f"mutant {index} raised {type(error).__name__}: {error}\n{mutant!r}"
            ) from error
        else:
            assert isinstance(loaded, gn.Sequential)
            outcomes["loaded"] += 1
    assert outcomes["loaded"] > 1_000 and outcomes["refused"] > 10_000, outcomes
