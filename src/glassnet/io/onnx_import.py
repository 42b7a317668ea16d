"""Open an ONNX model as an ordinary glassnet `Sequential`, trusting nothing in the file.

>>> model = glassnet.onnx.load("torch_mlp.onnx")   # doctest: +SKIP
>>> model.trace(x)                                 # doctest: +SKIP

What opens
----------
A chain: one input, each node reading the previous node's output (its other inputs constants),
made of these operators (`SUPPORTED`):

- ``Gemm`` (``alpha``, ``beta``, ``transB``; ``transA=0``) → `Dense`. PyTorch's ``Linear``
  exports ``Gemm`` with ``transB=1`` and its weight as ``(out, in)``; glassnet's weight is
  ``(in, out)``, so W = Bᵀ. ``MatMul``, followed or not by ``Add`` of a bias → `Dense`.
- ``Relu``, ``Sigmoid``, ``Tanh``, ``LeakyRelu``, ``Softmax`` (last axis), ``Identity`` → the
  layer of the same name; ``Greater`` against a constant followed by ``Cast`` → `Step`;
  ``Dropout`` (the identity at inference) is dropped; ``Flatten`` of a flat input is dropped.
- ``Conv`` (2-D, no groups or dilation; PyTorch's ``(F, C, kh, kw)`` kernel becomes glassnet's
  ``(kh·kw·C, F)``) → ``Conv2D``; ``MaxPool`` / ``AveragePool`` (no padding, floor mode) →
  ``MaxPool2D`` / ``AvgPool2D``; ``GlobalAveragePool`` → ``GlobalAvgPool2D``; ``Flatten`` →
  ``Flatten``; ``BatchNormalization`` (inference) → ``BatchNorm``. These need the layer types
  of `glassnet.nn` (`CONVOLUTIONAL`); without them, the operators are reported unsupported.
- Weights as initializers or ``Constant`` nodes, float32 or float64 (the model's dtype is the
  input's). A model exported by glassnet (two outputs, ``"scores"`` the raw outputs) reads back
  its output activation, class names and preprocessing from ``metadata_props``; for any other
  model, a final Softmax or Sigmoid becomes the model's ``output`` (or pass ``output=``).

Anything else — another operator, a tensor read by two nodes (a branch, a skip connection), a
weight shared by two nodes, several outputs — raises `UnsupportedOnnxModel` listing every
problem found.

Loading trusts nothing
----------------------
A damaged or hostile file raises `ModelFileError` (a ``ValueError``), never another exception:
the file's size is checked before it is parsed (at most `MAX_ONNX_BYTES`), tensors stored in
external files are refused (nothing is read from other paths), every tensor's declared size is
checked against the bytes it holds before it is converted, and sizes and names are bounded.
Needs the ``onnx`` package: ``pip install "glassnet[onnx]"``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from ..models import Sequential
from ..models.sequential import OUTPUTS
from ..nn.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Step, Tanh
from ..nn.dense import Dense
from ..nn.layer import Layer
from ..nn.options import MAX_SIZE
from ..nn.registry import LAYER_TYPES
from .checks import MAX_NAME, clip, short
from .container import MAX_DIMS
from .document import check_class_names
from .errors import Invalid, ModelFileError
from .untrusted_json import parse_json

try:
    import onnx
    from onnx import TensorProto, numpy_helper
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('Opening ONNX models needs its extra: pip install "glassnet[onnx]"') from None

MAX_ONNX_BYTES = 1 << 30  # 1 GiB: ONNX's protobuf cannot exceed 2 GiB in one file anyway
MAX_NODES = 10_000
FLOAT_TYPES: dict[int, np.dtype] = {
    TensorProto.FLOAT: np.dtype(np.float32),
    TensorProto.DOUBLE: np.dtype(np.float64),
}

# operator → the glassnet layer types it needs (opened only when they are registered)
CONVOLUTIONAL = {
    "Conv": "Conv2D",
    "MaxPool": "MaxPool2D",
    "AveragePool": "AvgPool2D",
    "GlobalAveragePool": "GlobalAvgPool2D",
    "BatchNormalization": "BatchNorm",
}
SUPPORTED = (
    "Gemm",
    "MatMul",
    "Add",
    "Relu",
    "Sigmoid",
    "Tanh",
    "LeakyRelu",
    "Softmax",
    "Identity",
    "Greater",
    "Cast",
    "Dropout",
    "Flatten",
    "Constant",
    *CONVOLUTIONAL,
)


def supported_operators() -> tuple[str, ...]:
    """The operators this glassnet opens: `SUPPORTED`, less those whose layer is missing."""
    return tuple(
        op for op in SUPPORTED if op not in CONVOLUTIONAL or CONVOLUTIONAL[op] in LAYER_TYPES
    )


def unsupported_hint() -> str:
    return (
        "glassnet opens chains of "
        + ", ".join(supported_operators())
        + " (one input, each node reading the previous one's output, weights as constants)."
    )


class UnsupportedOnnxModel(ModelFileError):
    """A valid ONNX model that uses operators or a graph shape glassnet cannot represent."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(path, "; ".join(problems), unsupported_hint())
        self.problems = problems


class Unsupported(Exception):
    """Problems found while converting; `load` adds the file's name (`UnsupportedOnnxModel`)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# ---------------------------------------------------------------------- reading the file


def load(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    output: str | None = None,
    max_bytes: int = MAX_ONNX_BYTES,
) -> Sequential:
    """Open an ONNX model made of the supported operators as a glassnet `Sequential`.

    Parameters
    ----------
    source : str, path-like or binary file
        The ``.onnx`` file.
    output : {"softmax", "sigmoid", "identity"}, optional
        The model's output activation. Default: the one a glassnet export recorded, else a final
        Softmax or Sigmoid node (removed from the layers and applied as the output), else
        "identity" (the raw outputs, e.g. a PyTorch model ending with a Linear layer).
    max_bytes : int
        Larger files are refused before they are read.

    Returns
    -------
    Sequential
        Weights converted to glassnet's layout; ``class_names`` and ``preprocessing`` from the
        metadata of a glassnet export.

    Raises
    ------
    UnsupportedOnnxModel
        A valid model with operators or a graph shape glassnet cannot represent (every problem
        listed). A `ModelFileError`.
    ModelFileError
        A damaged or hostile file.
    FileNotFoundError
        If there is no such file.
    """
    if output is not None and output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS} or None, got output={output!r}.")
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(name, "rb") as file:
            data = _read_bounded(file, name, max_bytes)
    else:
        name = str(getattr(source, "name", "<file object>"))
        data = _read_bounded(source, name, max_bytes)
    try:
        proto = _parse(data)
        return convert(proto, output)
    except Unsupported as problems:
        raise UnsupportedOnnxModel(name, problems.problems) from None
    except Invalid as problem:
        raise ModelFileError(name, str(problem)) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as error:
        # NOTE: protobuf, onnx.numpy_helper and NumPy raise these on crafted content that slips
        # past the checks above; the promise is one ModelFileError for any bad file.
        reason = f"it is not a valid ONNX model ({type(error).__name__}: {clip(str(error), 160)})"
        raise ModelFileError(name, reason) from None


def _read_bounded(file: BinaryIO, name: str, max_bytes: int) -> bytes:
    try:
        start = file.tell()
        size = file.seek(0, os.SEEK_END) - start
        file.seek(start)
    except OSError as error:
        raise ModelFileError(name, f"it cannot be read ({error})") from None
    if size > max_bytes:
        raise ModelFileError(name, f"it is {size:,} bytes, more than the limit of {max_bytes:,}")
    return file.read(size)


def _parse(data: bytes) -> onnx.ModelProto:
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as error:  # noqa: BLE001 - protobuf's DecodeError and its relatives
        raise Invalid(f"it is not an ONNX model (protobuf: {clip(str(error), 120)})") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise Invalid("it is not an ONNX model (no graph, or a graph without nodes)")
    return proto


# ---------------------------------------------------------------------- the graph as a chain


@dataclass
class Graph:
    """What the conversion needs of an ONNX graph, checked."""

    nodes: list[Any]
    constants: dict[str, Any]  # name -> TensorProto
    input_name: str
    input_shape: tuple[int, ...] | None
    dtype: np.dtype
    target: str  # the tensor the model's raw outputs are
    metadata: dict[str, str]
    consumers: dict[str, list[Any]] = field(default_factory=dict)


def convert(proto: onnx.ModelProto, output: str | None = None) -> Sequential:
    """The `Sequential` an ONNX ``ModelProto`` describes (see the module docstring)."""
    graph = _check_graph(proto)
    layers = _chain(graph, graph.target)
    glassnet_export = graph.target == "scores" and graph.metadata.get("output") in OUTPUTS
    finals: dict[type, str] = {Softmax: "softmax", Sigmoid: "sigmoid"}
    final = finals.get(type(layers[-1])) if layers else None
    if output is None:
        output = graph.metadata["output"] if glassnet_export else "identity"
        if not glassnet_export and final is not None:
            output = final
    if final is not None and final == output and not glassnet_export:
        layers.pop()  # the final activation is the model's output, applied by predict_proba
    if not layers:
        layers = [Identity()]
    try:
        model = Sequential(layers, input_shape=graph.input_shape, output=output)
    except (ValueError, TypeError) as error:  # ShapeError is a ValueError
        raise Invalid(f"its layers do not form a valid model: {clip(str(error), 200)}") from None
    if glassnet_export:
        _restore_metadata(model, graph.metadata)
    return model


def _check_graph(proto: onnx.ModelProto) -> Graph:
    g = proto.graph
    if len(g.node) > MAX_NODES:
        raise Invalid(f"the graph has {len(g.node):,} nodes, more than {MAX_NODES:,}")
    if g.sparse_initializer:
        raise Unsupported(["sparse initializers"])
    constants: dict[str, Any] = {}
    for tensor in g.initializer:
        _check_tensor(tensor)
        constants[tensor.name] = tensor
    for node in g.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                _check_tensor(attribute.t)
            for tensor in attribute.tensors:
                _check_tensor(tensor)
    metadata = {prop.key: prop.value for prop in proto.metadata_props if len(prop.key) <= MAX_NAME}
    outputs = [value.name for value in g.output]
    # A glassnet export has two outputs: the predictions, computed from the raw "scores"; the
    # model is the chain up to the scores (its output activation is in the metadata).
    if "scores" in outputs and metadata.get("output") in OUTPUTS:
        target = "scores"
    elif len(outputs) == 1:
        target = outputs[0]
    else:
        raise Unsupported([f"the graph has {len(outputs)} outputs {short(outputs)}"])
    needed = _ancestors(g.node, target)
    unknown_ops, problems = [], []
    supported = supported_operators()
    for node in needed:
        if node.domain not in ("", "ai.onnx"):
            unknown_ops.append(f"{node.domain}.{node.op_type}")
        elif node.op_type not in supported:
            unknown_ops.append(node.op_type)
        if any(
            a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            for a in node.attribute
        ):
            problems.append(f"node {short(node.name)} holds a subgraph")
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            constants.update(_constant_node(node))
    if unknown_ops:
        problems.insert(0, "unsupported operators " + ", ".join(sorted(set(unknown_ops))))
    if problems:
        raise Unsupported(problems)
    inputs = [value for value in g.input if value.name not in constants]
    if len(inputs) != 1:
        raise Unsupported([f"the graph has {len(inputs)} data inputs; glassnet models have one"])
    dtype, input_shape = _input_type(inputs[0])
    graph = Graph(
        nodes=[node for node in needed if node.op_type != "Constant"],
        constants=constants,
        input_name=inputs[0].name,
        input_shape=input_shape,
        dtype=dtype,
        target=target,
        metadata=metadata,
    )
    uses: dict[str, list[str]] = {}
    for node in graph.nodes:
        for name in node.input:
            if not name:
                continue  # an omitted optional input
            if name in constants:
                uses.setdefault(name, []).append(node.name or node.op_type)
            else:
                graph.consumers.setdefault(name, []).append(node)
    shared = [
        f"{name!r} (read by {', '.join(map(repr, by))})" for name, by in uses.items() if len(by) > 1
    ]
    if shared:
        raise Unsupported(["shared weights " + "; ".join(shared[:5])])
    return graph


def _ancestors(nodes: Any, target: str) -> list[Any]:
    """The nodes ``target`` depends on, in graph order (the rest does not matter to the model)."""
    producer: dict[str, Any] = {}
    for node in nodes:
        for name in node.output:
            producer.setdefault(name, node)
    needed: set[int] = set()
    stack = [target]
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen or name not in producer:
            continue
        seen.add(name)
        node = producer[name]
        needed.add(id(node))
        stack.extend(node.input)
    return [node for node in nodes if id(node) in needed]


def _check_tensor(tensor: Any) -> None:
    """Refuse external data, non-float types and sizes the tensor's own bytes do not hold."""
    if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data) > 0:
        raise Invalid(
            f"tensor {short(tensor.name)} refers to external data; glassnet reads nothing but the "
            "file itself (save the model with its weights inside)"
        )
    dims = list(tensor.dims)
    if len(dims) > MAX_DIMS or any(d < 0 for d in dims):
        raise Invalid(f"tensor {short(tensor.name)} has the shape {short(dims)}")
    dtype = FLOAT_TYPES.get(tensor.data_type)
    if dtype is None:
        # integer constants (e.g. a Reshape's shape) belong to operators glassnet refuses anyway
        return
    count = math.prod(dims)
    if tensor.HasField("raw_data"):
        held = len(tensor.raw_data) // dtype.itemsize
        exact = len(tensor.raw_data) == count * dtype.itemsize
    else:
        values = tensor.float_data if dtype == np.float32 else tensor.double_data
        held, exact = len(values), len(values) == count
    if not exact:
        raise Invalid(
            f"tensor {short(tensor.name)} of shape {short(dims)} holds {held:,} numbers, "
            f"not {count:,}"
        )


def _constant_node(node: Any) -> dict[str, Any]:
    if len(node.output) != 1 or len(node.attribute) != 1 or node.attribute[0].name != "value":
        raise Unsupported([f"Constant node {short(node.name)} other than a tensor 'value'"])
    tensor = onnx.TensorProto()
    tensor.CopyFrom(node.attribute[0].t)
    tensor.name = node.output[0]
    return {node.output[0]: tensor}


def _input_type(value: Any) -> tuple[np.dtype, tuple[int, ...] | None]:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        raise Unsupported([f"the input {short(value.name)} is a {kind}, not a tensor"])
    tensor_type = value.type.tensor_type
    dtype = FLOAT_TYPES.get(tensor_type.elem_type)
    if dtype is None:
        raise Unsupported([f"the input has element type {tensor_type.elem_type} (not float)"])
    if not tensor_type.HasField("shape"):
        return dtype, None
    dims = list(tensor_type.shape.dim)
    if not 2 <= len(dims) <= MAX_DIMS + 1:
        raise Unsupported([f"the input has rank {len(dims)}; expected (batch, features...)"])
    if not all(d.HasField("dim_value") for d in dims[1:]):
        return dtype, None  # symbolic sizes: the first Dense layer gives the input's shape
    sizes = [int(d.dim_value) for d in dims[1:]]
    if not all(1 <= s <= MAX_SIZE for s in sizes):
        raise Invalid(f"the input's shape {short(sizes)} is not a list of positive sizes")
    return dtype, tuple(sizes)


def _array(graph: Graph, name: str, what: str) -> np.ndarray:
    """A constant input as an array of the model's dtype (a data input here is unsupported)."""
    tensor = graph.constants.get(name)
    if tensor is None:
        raise Unsupported([f"{what} reads {short(name)}, which is not a constant"])
    if tensor.data_type not in FLOAT_TYPES:
        raise Unsupported([f"{what} is of element type {tensor.data_type}, not float"])
    return np.asarray(numpy_helper.to_array(tensor), dtype=graph.dtype)


def _attributes(node: Any) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _chain(graph: Graph, target: str) -> list[Layer]:
    """Walk from the input to ``target`` node by node, converting each to layers."""
    layers: list[Layer] = []
    x, shape = graph.input_name, graph.input_shape
    visited = 0
    while x != target:
        nodes = graph.consumers.get(x, [])
        if len(nodes) != 1:
            what = "no node" if not nodes else f"{len(nodes)} nodes (a branch)"
            raise Unsupported([f"tensor {short(x)} is read by {what}"])
        node = nodes[0]
        visited += 1
        if visited > MAX_NODES:
            raise Invalid("the graph loops")
        new_layers, x = _convert_node(graph, node, shape)
        for layer in new_layers:
            if shape is None:
                shape = layer.input_shape
            if shape is not None:
                try:
                    shape = layer.output_shape(shape)
                except ValueError as error:  # ShapeError: the weights do not chain
                    raise Invalid(f"its layers do not chain: {clip(str(error), 200)}") from None
        layers.extend(new_layers)
    return layers


def _data_input(graph: Graph, node: Any) -> str:
    data = [name for name in node.input if name and name not in graph.constants]
    if len(data) != 1:
        raise Unsupported([f"{node.op_type} node {short(node.name)} has {len(data)} data inputs"])
    return data[0]


def _single_output(graph: Graph, node: Any) -> str:
    extra = [name for name in node.output[1:] if name and name in graph.consumers]
    if not node.output or extra:
        raise Unsupported([f"{node.op_type} node {short(node.name)} has several used outputs"])
    return node.output[0]


def _convert_node(
    graph: Graph, node: Any, shape: tuple[int, ...] | None
) -> tuple[list[Layer], str]:
    """The layers one node (or a MatMul+Add, Greater+Cast pair) stands for, and its output."""
    op, label = node.op_type, f"{node.op_type} node {short(node.name)}"
    _data_input(graph, node)
    out = _single_output(graph, node)
    attrs = _attributes(node)
    if op == "Gemm":
        if attrs.get("transA", 0):
            raise Unsupported([f"{label} with transA=1"])
        if node.input[0] in graph.constants:
            raise Unsupported([f"{label} whose first input is a constant"])
        B = _array(graph, node.input[1], label)
        if B.ndim != 2:
            raise Unsupported([f"{label} with a weight of rank {B.ndim}"])
        W = B.T if attrs.get("transB", 0) else B  # PyTorch's Linear: (out, in), transB=1
        W = W * graph.dtype.type(attrs.get("alpha", 1.0)) if attrs.get("alpha", 1.0) != 1 else W
        bias = None
        if len(node.input) > 2 and node.input[2]:
            C = _array(graph, node.input[2], label)
            bias = _bias(C, W.shape[1], label) * graph.dtype.type(attrs.get("beta", 1.0))
        return [_dense(W, bias, graph.dtype)], out
    if op == "MatMul":
        if node.input[0] in graph.constants:
            raise Unsupported([f"{label} whose first input is a constant"])
        W = _array(graph, node.input[1], label)
        if W.ndim != 2:
            raise Unsupported([f"{label} with a weight of rank {W.ndim}"])
        bias = None
        following = graph.consumers.get(out, [])
        if len(following) == 1 and following[0].op_type == "Add":
            add = following[0]
            constant = [name for name in add.input if name in graph.constants]
            if len(constant) == 1 and len(add.input) == 2:
                bias = _bias(_array(graph, constant[0], label), W.shape[1], label)
                out = _single_output(graph, add)
        return [_dense(W, bias, graph.dtype)], out
    if op in ("Relu", "Sigmoid", "Tanh", "Identity"):
        kind = {"Relu": ReLU, "Sigmoid": Sigmoid, "Tanh": Tanh, "Identity": Identity}[op]
        return [kind()], out
    if op == "LeakyRelu":
        # ONNX keeps float attributes as float32: take the shortest decimal that rounds to it,
        # so that 0.01 comes back as 0.01 (and a float64 model computes as before the export)
        alpha = float(str(np.float32(attrs.get("alpha", 0.01))))
        if not 0.0 <= alpha <= 1.0:
            raise Unsupported([f"{label} with alpha={alpha} (glassnet's is in [0, 1])"])
        return [LeakyReLU(alpha)], out
    if op == "Softmax":
        axis = attrs.get("axis", -1)
        if shape is not None and len(shape) != 1 or axis not in (-1, 1):
            raise Unsupported([f"{label} over axis {axis} of a (batch, *{shape}) tensor"])
        return [Softmax()], out
    if op == "Dropout":
        return [], out
    if op == "Flatten":
        if attrs.get("axis", 1) != 1:
            raise Unsupported([f"{label} with axis={attrs['axis']}"])
        if shape is not None and len(shape) == 1:
            return [], out  # already (batch, features)
        if "Flatten" not in LAYER_TYPES:
            raise Unsupported([f"{label} of a (batch, *{shape}) input (glassnet has no Flatten)"])
        flatten: Any = LAYER_TYPES["Flatten"]
        return [flatten()], out
    if op in CONVOLUTIONAL:
        return [_convolutional(graph, node, attrs, label)], out
    if op == "Greater":
        threshold = _array(graph, node.input[1], label) if len(node.input) == 2 else None
        following = graph.consumers.get(out, [])
        if (
            threshold is not None
            and threshold.size == 1
            and node.input[0] not in graph.constants
            and len(following) == 1
            and following[0].op_type == "Cast"
            and _attributes(following[0]).get("to") in FLOAT_TYPES
        ):
            return [Step(float(threshold.reshape(())))], _single_output(graph, following[0])
        raise Unsupported([f"{label} other than a comparison with a constant cast to float"])
    raise Unsupported([f"{label} where a chain of layers was expected"])


def _convolutional(graph: Graph, node: Any, attrs: dict[str, Any], label: str) -> Layer:
    """Conv, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization → the glassnet layer."""
    op = node.op_type
    cls: Any = LAYER_TYPES[CONVOLUTIONAL[op]]  # registered by glassnet.nn when it has them
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise Unsupported([f"{label} with auto_pad={attrs['auto_pad']!r} (give explicit pads)"])
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise Unsupported([f"{label} with dilations {attrs['dilations']}"])
    if op == "GlobalAveragePool":
        # ONNX keeps (batch, C, 1, 1); glassnet's layer gives (batch, C), which the Flatten
        # that follows in such graphs then leaves as it is
        return cls()
    if op == "BatchNormalization":
        if attrs.get("training_mode", 0):
            raise Unsupported([f"{label} in training mode"])
        gamma, beta, mean, var = (_array(graph, name, label) for name in node.input[1:5])
        n = gamma.size
        if not all(a.shape == (n,) for a in (gamma, beta, mean, var)):
            raise Unsupported([f"{label} whose statistics are not all of shape ({n},)"])
        # ONNX keeps float attributes as float32: back to the shortest decimal (1e-05, 0.1)
        eps = float(str(np.float32(attrs.get("epsilon", 1e-5))))
        momentum = round(1.0 - float(str(np.float32(attrs.get("momentum", 0.9)))), 9)
        if not (0 < eps <= 1 and 0 <= momentum <= 1):
            raise Unsupported([f"{label} with epsilon={eps}, momentum={1 - momentum}"])
        layer = cls(n, momentum=momentum, eps=eps, dtype=graph.dtype)
        for key, value in zip(
            ("gamma", "beta", "running_mean", "running_var"), (gamma, beta, mean, var), strict=True
        ):
            getattr(layer, key).value[...] = value
        if (var < 0).any():
            raise Invalid(f"{label} has a negative running variance")
        return layer
    kernel = [int(k) for k in attrs.get("kernel_shape", [])]
    strides = [int(k) for k in attrs.get("strides", [1, 1])]
    pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
    if len(kernel) != 2 or len(strides) != 2 or len(pads) != 4 or min(*kernel, *strides) < 1:
        raise Unsupported([f"{label} that is not 2-D (kernel {kernel}, strides {strides})"])
    if op == "Conv":
        if attrs.get("group", 1) != 1:
            raise Unsupported([f"{label} with group={attrs['group']} (grouped convolution)"])
        w = _array(graph, node.input[1], label)
        if w.ndim != 4 or list(w.shape[2:]) != kernel:
            raise Unsupported([f"{label} with a weight of shape {w.shape}"])
        n_filters, n_channels, kh, kw = w.shape
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = _bias(_array(graph, node.input[2], label), n_filters, label)
        if min(pads) < 0:
            raise Invalid(f"{label} has negative pads {pads}")
        layer = cls(
            n_channels,
            n_filters,
            (kh, kw),
            stride=tuple(strides),
            padding=(pads[0], pads[2], pads[1], pads[3]),  # glassnet: top, bottom, left, right
            use_bias=bias is not None,
            weight_init="zeros",
            dtype=graph.dtype,
        )
        # ONNX's (F, C, kh, kw) → glassnet's (kh·kw·C, F), row (a·kw + b)·C + c
        layer.W.value[...] = w.transpose(2, 3, 1, 0).reshape(kh * kw * n_channels, n_filters)
        if bias is not None:
            layer.b.value[...] = bias
        if not np.isfinite(layer.W.value).all() or (
            bias is not None and not np.isfinite(bias).all()
        ):
            raise Invalid("a weight is NaN or infinite")
        return layer
    if any(pads) or attrs.get("ceil_mode", 0) or attrs.get("storage_order", 0):
        raise Unsupported([f"{label} with padding or ceil_mode (glassnet pools without them)"])
    return cls(tuple(kernel), stride=tuple(strides))


def _bias(C: np.ndarray, n: int, label: str) -> np.ndarray:
    if C.size not in (1, n) or C.ndim > 2 or (C.ndim == 2 and C.shape[0] != 1):
        raise Unsupported([f"{label} with a bias of shape {C.shape} for {n} neurons"])
    return np.broadcast_to(C.reshape(-1), (n,))


def _dense(W: np.ndarray, bias: np.ndarray | None, dtype: np.dtype) -> Dense:
    n_inputs, n_neurons = W.shape
    if not (1 <= n_inputs <= MAX_SIZE and 1 <= n_neurons <= MAX_SIZE):
        raise Invalid(f"a weight has the shape {W.shape}")
    layer = Dense(n_inputs, n_neurons, weight_init="zeros", use_bias=bias is not None, dtype=dtype)
    layer.W.value[...] = W
    if layer.b is not None and bias is not None:
        layer.b.value[...] = bias
    if not np.isfinite(layer.W.value).all() or (
        layer.b is not None and not np.isfinite(layer.b.value).all()
    ):
        raise Invalid("a weight is NaN or infinite")
    return layer


def _restore_metadata(model: Sequential, metadata: Mapping[str, str]) -> None:
    """Class names and preprocessing from a glassnet export's ``metadata_props``, checked."""
    names = _json(metadata.get("class_names", "null"), "class_names")
    check_class_names(names, model.n_outputs)
    model.class_names = names
    preprocessing = _json(metadata.get("preprocessing", "{}"), "preprocessing")
    if not isinstance(preprocessing, dict):
        raise Invalid(f"preprocessing should be a JSON object, got {short(preprocessing)}")
    model.preprocessing = preprocessing


def _json(text: str, what: str) -> Any:
    return parse_json(text.encode("utf-8"), f"the metadata's {what}")
