"""Model files: the weights in safetensors, the architecture and metadata in JSON, in one file.

>>> glassnet.save(model, "digits.safetensors")    # doctest: +SKIP
>>> model = glassnet.load("digits.safetensors")  # doctest: +SKIP

File format
-----------
A model file is an ordinary `safetensors <https://github.com/huggingface/safetensors>`_ file
(any safetensors reader can open its weights; the extension is up to you)::

    [8 bytes: N, unsigned little-endian] [N bytes: JSON header] [the tensors' bytes, back to back]

- The tensors are the model's parameters and buffers under their names, ``"<layer>.<local>"``:
  ``"dense_0.W"`` of shape (n_inputs, n_neurons), ``"dense_0.b"`` of shape (n_neurons,), a
  batch normalisation's ``"batchnorm_0.running_mean"``... as little-endian ``F32`` or ``F64``
  (the model's dtype). Each layer type says which it has (``state_shapes``).
- The header's ``"__metadata__"`` holds one string entry, ``"glassnet"``, a JSON document::

      {"format": "glassnet-model", "version": 1, "glassnet_version": "0.1.0",
       "config": model.get_config(),   # output, dtype, seed, input_shape, the layers' options
       "input_shape": [784], "n_outputs": 10,                # model.input_shape, n_outputs
       "class_names": ["0", "1", ...] or null,
       "preprocessing": {"scale": 0.00392156862745098, ...},  # model.preprocessing
       "history": {"epoch": [0, 1], "loss": [...], ...} or null,  # model.history (per epoch)
       "metadata": {...}}                                       # free, from save(metadata=...)

  Non-finite numbers in the history are written as null. A checkpoint (`glassnet.io.checkpoints`)
  is the same file with ``"format": "glassnet-checkpoint"`` and more tensors and fields.

Loading trusts nothing
----------------------
Nothing in a file is executed (no pickle, no eval: layer types come from the registry
`glassnet.nn.registry`, an allow-list), and everything is checked before the model is built or
any weight is read, so a damaged or hostile file raises `ModelFileError` (a ``ValueError``) and
never makes the loader allocate more than the file's own size warrants:

1. The header length N must fit in the file and be at most `MAX_HEADER_BYTES`.
2. The header must be UTF-8 JSON, an object, nested at most `MAX_JSON_DEPTH` levels (checked by a
   linear scan *before* parsing, so no ``RecursionError``), without duplicate keys, NaN,
   Infinity or numbers longer than 60 characters. The ``glassnet`` document likewise.
3. Every tensor has a dtype from an allow-list, a shape of at most 8 non-negative integers and
   ``data_offsets`` whose length is exactly its shape's byte size (computed with Python integers,
   so no overflow); together the tensors tile the data area exactly: no gap, no overlap, nothing
   out of range, no trailing bytes.
4. The format and version are known; the architecture is valid (registered layer types, only
   the options each type declares, each of its declared JSON kind and bounds, shapes that
   chain, asked of each layer type without building it); and the tensors are exactly the
   parameters and buffers it needs, by name, dtype and shape: none missing, none extra.
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

Modules
-------
``errors`` (`ModelFileError`), ``checks`` (small checks of JSON values), ``untrusted_json``
(`parse_json`), ``container`` (the safetensors frame and tensor table), ``atomic``
(`atomic_write`), ``architecture`` (a config against the layer registry), ``document`` (the
JSON document, written and checked), ``model_file`` (`save`, `load`, `read_metadata`),
``checkpoint_format`` and ``checkpoints`` (`Checkpoint`, `load_checkpoint`).
"""

from . import checkpoints
from .architecture import FLOAT_CODES, check_architecture
from .atomic import atomic_write, remove_stale_temporaries
from .checkpoints import (
    Checkpoint,
    EpochCheckpoints,
    LoadedCheckpoint,
    epoch_checkpoint_path,
    epoch_checkpoints,
    load_checkpoint,
    write_checkpoint,
)
from .container import DTYPES, MAX_HEADER_BYTES, TensorEntry, check_tensor, tensor_table
from .document import (
    CHECKPOINT_FORMAT,
    FORMAT_VERSION,
    FORMATS,
    MODEL_FORMAT,
    check_history,
    check_model_document,
    model_document,
    restore_history,
)
from .errors import ModelFileError
from .model_file import build_model, encode, load, parameter_tensors, read, read_metadata, save
from .untrusted_json import MAX_JSON_DEPTH, parse_json

__all__ = [
    "CHECKPOINT_FORMAT",
    "DTYPES",
    "FLOAT_CODES",
    "FORMATS",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "MODEL_FORMAT",
    "Checkpoint",
    "EpochCheckpoints",
    "LoadedCheckpoint",
    "ModelFileError",
    "TensorEntry",
    "atomic_write",
    "build_model",
    "check_architecture",
    "check_history",
    "check_model_document",
    "check_tensor",
    "checkpoints",
    "encode",
    "epoch_checkpoint_path",
    "epoch_checkpoints",
    "load",
    "load_checkpoint",
    "model_document",
    "parameter_tensors",
    "parse_json",
    "read",
    "read_metadata",
    "remove_stale_temporaries",
    "restore_history",
    "save",
    "tensor_table",
    "write_checkpoint",
]
