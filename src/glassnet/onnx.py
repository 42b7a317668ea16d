"""ONNX both ways: `export` a glassnet model for ONNX Runtime, `load` an ONNX model to see through.

::

    import glassnet.onnx
    glassnet.onnx.export(model, "digits.onnx")      # run it with onnxruntime
    model = glassnet.onnx.load("torch_mlp.onnx")    # a PyTorch export, as a Sequential

The graph each way, and what opens, are described in `glassnet.io.onnx_export` and
`glassnet.io.onnx_import`. Needs the ``onnx`` extra: ``pip install "glassnet[onnx]"``
(and ``onnxruntime`` to run the exported files).
"""

from __future__ import annotations

from .io.onnx_export import EXPORTERS, export, to_onnx
from .io.onnx_import import (
    MAX_ONNX_BYTES,
    SUPPORTED,
    UnsupportedOnnxModel,
    convert,
    load,
    supported_operators,
)

__all__ = [
    "EXPORTERS",
    "MAX_ONNX_BYTES",
    "SUPPORTED",
    "UnsupportedOnnxModel",
    "convert",
    "export",
    "load",
    "supported_operators",
    "to_onnx",
]
