"""Export a model to ONNX: one graph node (or two) per layer, the weights as initializers.

>>> glassnet.onnx.export(model, "digits.onnx")   # doctest: +SKIP

The graph
---------
- One input, ``"input"``, of shape ``("batch", *model.input_shape)`` in the model's dtype
  (float32 or float64): the batch axis is dynamic.
- Each layer becomes the ONNX operator that computes the same function at inference: Dense is
  ``Gemm`` (``x @ W + b``, W kept as glassnet's ``(inputs, neurons)``, so no transpose) or
  ``MatMul`` without a bias; Sigmoid, Tanh, ReLU (``Relu``), LeakyReLU (``LeakyRelu``, alpha),
  Softmax (axis −1) and Identity are the operators of the same name; Step is the comparison
  ``Greater(z, threshold)`` followed by ``Cast`` to the float type; Conv2D is ``Conv`` (the
  kernel as ONNX's ``(F, C, kh, kw)``, the padding as ``pads``), MaxPool2D ``MaxPool``,
  AvgPool2D ``AveragePool``, GlobalAvgPool2D ``GlobalAveragePool`` + ``Flatten``, Flatten
  ``Flatten`` and BatchNorm ``BatchNormalization`` with the running statistics (inference);
  Dropout and Augment do nothing at inference and are left out. Nodes are named after the
  layers (``"dense_0"``...).
- Two outputs: first the predictions — ``"probabilities"`` for a classifier (softmax, or for a
  sigmoid output the same columns as `Sequential.predict_proba`: P(0), P(1) for one output), or
  ``"values"`` for a regression model — then the raw ``"scores"`` (the logits).
- ``metadata_props`` hold ``glassnet_version``, ``output``, ``input_shape`` and, as JSON,
  ``class_names`` and ``preprocessing``; ``glassnet.onnx.load`` reads them back.

Every exported model passes ``onnx.checker.check_model(full_check=True)`` (checked here before
anything is written). Needs the ``onnx`` package: ``pip install "glassnet[onnx]"``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..models import Sequential
from ..nn.layer import Layer
from ..version import __version__
from .atomic import atomic_write

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('ONNX export needs its extra: pip install "glassnet[onnx]"') from None

# opset 17: every operator used here in its current form, and old enough for any runtime since 2022
OPSET = 17
IR_VERSION = 8
# the graph's own tensor names; every other tensor is named after its layer
RESERVED = frozenset({"input", "scores", "probabilities", "values"})
ELEMENT_TYPES: dict[np.dtype, int] = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
}


class GraphBuilder:
    """The nodes and initializers of a graph in the making, with fresh tensor names."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        """Add ``value`` as an initializer called ``name``; returns the name."""
        array = np.ascontiguousarray(value, dtype=self.dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        """Add one node computing ``output`` from ``inputs``; returns ``output``."""
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


# Each exporter adds the nodes of one layer reading tensor ``x`` and returns its output's name.
Exporter = Callable[[GraphBuilder, Any, str], str]


def _dense(graph: GraphBuilder, layer: Any, x: str) -> str:
    name = layer.name
    W = graph.constant(f"{name}.W", layer.W.value)  # (inputs, neurons): Gemm with transB=0
    if layer.b is None:
        return graph.node("MatMul", [x, W], name, name)
    b = graph.constant(f"{name}.b", layer.b.value)
    return graph.node("Gemm", [x, W, b], name, name)


def _elementwise(op: str) -> Exporter:
    def export(graph: GraphBuilder, layer: Any, x: str) -> str:
        return graph.node(op, [x], layer.name, layer.name)

    return export


def _leaky_relu(graph: GraphBuilder, layer: Any, x: str) -> str:
    return graph.node("LeakyRelu", [x], layer.name, layer.name, alpha=float(layer.alpha))


def _softmax(graph: GraphBuilder, layer: Any, x: str) -> str:
    return graph.node("Softmax", [x], layer.name, layer.name, axis=-1)


def _step(graph: GraphBuilder, layer: Any, x: str) -> str:
    # a = [z > threshold] as 0.0 / 1.0: a comparison (bool) cast back to the float type
    threshold = graph.constant(f"{layer.name}.threshold", np.array(layer.threshold))
    above = graph.node("Greater", [x, threshold], f"{layer.name}.above", f"{layer.name}.greater")
    return graph.node("Cast", [above], layer.name, layer.name, to=ELEMENT_TYPES[graph.dtype])


def _left_out(graph: GraphBuilder, layer: Any, x: str) -> str:
    return x  # Dropout, Augment: the identity at inference


def _conv(graph: GraphBuilder, layer: Any, x: str) -> str:
    name = layer.name
    kh, kw = layer.kernel_size
    # glassnet's kernel is (kh·kw·C, F), row (a·kw + b)·C + c; ONNX's (and PyTorch's) (F, C, kh, kw)
    w = layer.W.value.reshape(kh, kw, layer.n_channels, layer.n_filters).transpose(3, 2, 0, 1)
    inputs = [x, graph.constant(f"{name}.W", w)]
    if layer.b is not None:
        inputs.append(graph.constant(f"{name}.b", layer.b.value))
    top, bottom, left, right = layer.padding
    return graph.node(
        "Conv",
        inputs,
        name,
        name,
        kernel_shape=[kh, kw],
        strides=list(layer.stride),
        pads=[top, left, bottom, right],  # ONNX: all the starts, then all the ends
    )


def _pool(op: str) -> Exporter:
    def export(graph: GraphBuilder, layer: Any, x: str) -> str:
        return graph.node(
            op,
            [x],
            layer.name,
            layer.name,
            kernel_shape=list(layer.pool_size),
            strides=list(layer.stride),
        )

    return export


def _global_average(graph: GraphBuilder, layer: Any, x: str) -> str:
    # ONNX keeps the 1×1 spatial axes, glassnet's GlobalAvgPool2D gives (batch, C)
    pooled = graph.node("GlobalAveragePool", [x], f"{layer.name}.pooled", layer.name)
    return graph.node("Flatten", [pooled], layer.name, f"{layer.name}.flatten", axis=1)


def _flatten(graph: GraphBuilder, layer: Any, x: str) -> str:
    return graph.node("Flatten", [x], layer.name, layer.name, axis=1)


def _batch_norm(graph: GraphBuilder, layer: Any, x: str) -> str:
    name = layer.name
    inputs = [x] + [
        graph.constant(f"{name}.{key}", getattr(layer, key).value)
        for key in ("gamma", "beta", "running_mean", "running_var")
    ]
    # ONNX's momentum is the share the running statistics keep: 1 − glassnet's (PyTorch's)
    return graph.node(
        "BatchNormalization",
        inputs,
        name,
        name,
        epsilon=float(layer.eps),
        momentum=1.0 - float(layer.momentum),
    )


EXPORTERS: dict[str, Exporter] = {
    "Dense": _dense,
    "Sigmoid": _elementwise("Sigmoid"),
    "Tanh": _elementwise("Tanh"),
    "ReLU": _elementwise("Relu"),
    "LeakyReLU": _leaky_relu,
    "Softmax": _softmax,
    "Step": _step,
    "Identity": _elementwise("Identity"),
    "Dropout": _left_out,
    # the convolutional layers (glassnet.nn.conv, pooling, reshape, normalization, augment)
    "Conv2D": _conv,
    "MaxPool2D": _pool("MaxPool"),
    "AvgPool2D": _pool("AveragePool"),
    "GlobalAvgPool2D": _global_average,
    "Flatten": _flatten,
    "BatchNorm": _batch_norm,
    "Augment": _left_out,
}


def _output_head(graph: GraphBuilder, model: Sequential, scores: str) -> tuple[str, str]:
    """The predictions computed from the scores: their tensor name and the graph output's name."""
    if model.output == "softmax":
        return graph.node("Softmax", [scores], "probabilities", "output", axis=-1), "probabilities"
    if model.output == "sigmoid":
        if model.n_outputs != 1:
            return graph.node("Sigmoid", [scores], "probabilities", "output"), "probabilities"
        # one sigmoid output: the columns P(0), P(1), as Sequential.predict_proba gives them
        p = graph.node("Sigmoid", [scores], "output.p1", "output")
        one = graph.constant("output.one", np.array(1.0))
        q = graph.node("Sub", [one, p], "output.p0", "output.complement")
        return graph.node("Concat", [q, p], "probabilities", "output.concat", axis=1), (
            "probabilities"
        )
    return graph.node("Identity", [scores], "values", "output"), "values"


def to_onnx(model: Sequential) -> onnx.ModelProto:
    """The model as an ONNX ``ModelProto``, checked with ``check_model(full_check=True)``.

    Raises
    ------
    TypeError
        If ``model`` is not a `Sequential`, or has a layer type with no ONNX equivalent.
    ValueError
        If a weight is NaN or infinite.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"to_onnx expects a glassnet Sequential model, got {type(model).__name__}.")
    dtype = np.dtype(model.dtype)
    if dtype not in ELEMENT_TYPES:
        raise TypeError(f"ONNX export supports float32 and float64 models, got {dtype}.")
    unknown = [layer for layer in model.layers if type(layer).__name__ not in EXPORTERS]
    if unknown:
        raise TypeError(
            "Cannot export to ONNX: no ONNX equivalent for "
            + ", ".join(f"layer {layer.name!r} of type {type(layer).__name__}" for layer in unknown)
            + f". glassnet exports {', '.join(sorted(EXPORTERS))}."
        )
    state: dict[str, Any] = {**model.named_parameters(), **model.named_buffers()}
    for name, array in state.items():
        if not np.isfinite(array.value).all():
            raise ValueError(f"Parameter {name} holds NaN or infinite values; cannot export.")
    clashing = [layer.name for layer in model.layers if layer.name in RESERVED]
    if clashing:
        raise ValueError(
            f"Cannot export to ONNX: the layer names {clashing} are the graph's own tensor names "
            f"{sorted(RESERVED)}; rename those layers."
        )
    graph = GraphBuilder(dtype)
    x = "input"
    for layer in model.layers:
        x = _export_layer(graph, layer, x)
    scores = graph.node("Identity", [x], "scores", "scores") if x == "input" else x
    if scores != "scores":
        # the last layer's output becomes the graph output "scores": rename it in its node
        graph.nodes[-1].output[0] = "scores"
        scores = "scores"
    _, prediction_name = _output_head(graph, model, scores)
    element = ELEMENT_TYPES[dtype]
    batch_input: list[str | int] = ["batch", *model.input_shape]
    outputs = [
        helper.make_tensor_value_info(prediction_name, element, ["batch", *_head_shape(model)]),
        helper.make_tensor_value_info("scores", element, ["batch", *model.output_shape]),  # type: ignore[list-item]
    ]
    onnx_graph = helper.make_graph(
        graph.nodes,
        "glassnet",
        [helper.make_tensor_value_info("input", element, batch_input)],
        outputs,
        graph.initializers,
    )
    proto = helper.make_model(
        onnx_graph,
        producer_name="glassnet",
        producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    proto.doc_string = f"glassnet model: {model!r}"
    helper.set_model_props(proto, metadata_of(model))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _export_layer(graph: GraphBuilder, layer: Layer, x: str) -> str:
    return EXPORTERS[type(layer).__name__](graph, layer, x)


def _head_shape(model: Sequential) -> tuple[int, ...]:
    if model.output == "sigmoid" and model.n_outputs == 1:
        return (2,)
    return tuple(model.output_shape)


def metadata_of(model: Sequential) -> dict[str, str]:
    """The ``metadata_props`` of an exported model: strings, the structured ones as JSON."""
    return {
        "glassnet_version": __version__,
        "output": model.output,
        "input_shape": json.dumps(list(model.input_shape)),
        "class_names": json.dumps(model.class_names),
        "preprocessing": json.dumps(model.preprocessing, allow_nan=False),
    }


def export(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as an ONNX file, atomically (see the module docstring).

    Examples
    --------
    >>> import onnxruntime                                             # doctest: +SKIP
    >>> glassnet.onnx.export(model, "digits.onnx")                     # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession("digits.onnx")          # doctest: +SKIP
    >>> probabilities, scores = session.run(None, {"input": X[:5]})    # doctest: +SKIP
    """
    atomic_write(path, to_onnx(model).SerializeToString())
