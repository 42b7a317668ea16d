"""ONNX both ways, checked by the real onnxruntime on real data, and the NumPy export.

- glassnet → ONNX: onnxruntime's outputs equal glassnet's within 1e-5 on MNIST test digits and
  Fashion-MNIST, for MLPs of every activation; the graph passes check_model(full_check=True).
- ONNX → glassnet: the round trip predicts bit-identically; PyTorch's own exports (committed in
  tests/reference/ with the script that made them) give PyTorch's outputs within 1e-5.
- The NumPy export's model.py predicts bit-identically, as a module and as a script.
"""

from __future__ import annotations

import gzip
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import glassnet as gn
import glassnet.onnx as gx
from glassnet.io import ModelFileError
from glassnet.io.numpy_export import export_numpy
from glassnet.nn.registry import LAYER_TYPES

REFERENCE = Path(__file__).parent / "reference"
FASHION = Path("/usr/share/datasets/fashion-mnist")
ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "step"]


def _idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="module")
def fashion() -> tuple[np.ndarray, np.ndarray]:
    if not (FASHION / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    images = _idx(FASHION / "t10k-images-idx3-ubyte.gz")[:3000]
    labels = _idx(FASHION / "t10k-labels-idx1-ubyte.gz")[:3000]
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)


_TRAINED: dict[tuple, gn.Sequential] = {}


def _trained(X: np.ndarray, y: np.ndarray, activation: str, **kwargs) -> gn.Sequential:
    """A small MLP trained for one epoch on real data, so the weights are not just random.

    Trained once per data set and settings (the tests only read it), to keep the file fast.
    """
    key = (id(X), activation, tuple(sorted(kwargs.items())))
    if key not in _TRAINED:
        model = gn.MLP([784, 24, 12, 10], activation=activation, seed=1, **kwargs)
        model.fit(X[:2000], y[:2000], epochs=1, batch_size=64, seed=0)
        model.class_names = [f"class {i}" for i in range(10)]
        model.preprocessing = {"kind": "image", "image_size": [28, 28], "color": "grayscale"}
        _TRAINED[key] = model
    return _TRAINED[key]


def _run(path: Path, X: np.ndarray) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X})


# ---------------------------------------------------------------------- export, run by onnxruntime


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnxruntime_matches_glassnet_on_mnist(mnist_test, activation, tmp_path):
    X, y = mnist_test
    model = _trained(X, y, activation, dropout=0.2 if activation == "relu" else 0.0)
    path = tmp_path / "digits.onnx"
    gx.export(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    test = X[-1000:]
    probabilities, scores = _run(path, test)
    np.testing.assert_allclose(scores, model.forward(test), atol=1e-5, rtol=0)
    np.testing.assert_allclose(probabilities, model.predict_proba(test), atol=1e-5, rtol=0)
    assert scores.dtype == np.float32
    # the same decisions, except where two classes are within float32 rounding of each other
    assert np.mean(probabilities.argmax(axis=1) == model.predict(test)) > 0.999


def test_onnxruntime_matches_glassnet_on_fashion_mnist(fashion, tmp_path):
    X, y = fashion
    model = _trained(X, y, "relu")
    path = tmp_path / "fashion.onnx"
    gx.export(model, path)
    probabilities, scores = _run(path, X[-1000:])
    np.testing.assert_allclose(scores, model.forward(X[-1000:]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(probabilities, model.predict_proba(X[-1000:]), atol=1e-5, rtol=0)


def test_import_glassnet_and_glassnet_io_do_not_import_onnx():
    code = "import sys, glassnet, glassnet.io, glassnet.cli; print('onnx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"  # the onnx extra is loaded only when used


def test_glassnet_onnx_is_reachable_from_the_package():
    assert gn.onnx is gx and gn.onnx.export is gx.export and gn.onnx.load is gx.load


def test_the_batch_axis_is_dynamic_and_the_metadata_is_kept(mnist_test, tmp_path):
    X, y = mnist_test
    model = _trained(X, y, "tanh")
    path = tmp_path / "m.onnx"
    gx.export(model, path)
    proto = onnx.load(str(path))
    [graph_input] = proto.graph.input
    assert graph_input.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [o.name for o in proto.graph.output] == ["probabilities", "scores"]
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["output"] == "softmax"
    assert '"class 3"' in props["class_names"] and '"image_size"' in props["preprocessing"]
    for n in (1, 7, 300):
        probabilities, scores = _run(path, X[:n])
        assert probabilities.shape == (n, 10) and scores.shape == (n, 10)


def test_sigmoid_regression_float64_and_no_bias_models_export(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    binary = gn.MLP([5, 4, 1], activation="tanh", seed=0)  # one sigmoid output: P(0), P(1)
    regression = gn.MLP([5, 6, 2], output="identity", seed=0, dtype=np.float64)
    no_bias = gn.Sequential(
        [gn.Dense(5, 3, use_bias=False, rng=0), gn.Softmax(), gn.Dense(3, 2, rng=1)],
        output="sigmoid",
    )
    for i, model in enumerate([binary, regression, no_bias]):
        path = tmp_path / f"m{i}.onnx"
        gx.export(model, path)
        x = X.astype(model.dtype)
        first, scores = _run(path, x)
        expected = model.predict(x) if model.output == "identity" else model.predict_proba(x)
        np.testing.assert_allclose(first.reshape(expected.shape), expected, atol=1e-5)
        np.testing.assert_allclose(scores, model.forward(x), atol=1e-5)
        back = gx.load(path)
        assert np.array_equal(back.forward(x), model.forward(x))
        assert back.output == model.output and back.dtype == model.dtype


def test_a_layer_type_without_onnx_equivalent_is_a_clear_error(tmp_path):
    @gn.register
    class Doubler(gn.Layer):
        def forward(self, x, training=False):
            return 2 * x

    try:
        model = gn.Sequential([gn.Dense(3, 2, rng=0), Doubler()])
        with pytest.raises(TypeError, match=r"layer 'doubler_0' of type Doubler.*glassnet exports"):
            gx.export(model, tmp_path / "m.onnx")
        assert not (tmp_path / "m.onnx").exists()
    finally:
        del LAYER_TYPES["Doubler"]


def test_every_registered_glassnet_layer_type_exports():
    # a new layer type must come with its ONNX exporter (or be added to this list on purpose)
    missing = sorted(
        name
        for name, cls in LAYER_TYPES.items()
        if cls.__module__.startswith("glassnet.") and name not in gx.EXPORTERS
    )
    assert missing == []


# ---------------------------------------------------------------------- import


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_round_trip_predicts_bit_identically(mnist_test, activation, tmp_path):
    X, y = mnist_test
    model = _trained(X, y, activation)
    path = tmp_path / "m.onnx"
    gx.export(model, path)
    back = gx.load(path)
    test = X[-2000:]
    assert np.array_equal(back.forward(test), model.forward(test))
    assert np.array_equal(back.predict(test), model.predict(test))
    assert np.array_equal(back.predict_proba(test), model.predict_proba(test))
    assert back.class_names == model.class_names and back.preprocessing == model.preprocessing
    assert back.get_config()["layers"] == [
        spec | {"config": spec["config"] | {"weight_init": "zeros"}}
        if spec["type"] == "Dense"
        else spec
        for spec in model.get_config()["layers"]
        if spec["type"] != "Dropout"
    ]


def test_pytorch_mlp_export_gives_pytorch_outputs():
    reference = np.load(REFERENCE / "torch_onnx_reference.npz", allow_pickle=False)
    model = gx.load(REFERENCE / "torch_mlp.onnx")
    assert [type(la).__name__ for la in model.layers] == [
        "Dense",
        "ReLU",
        "Dense",
        "Tanh",
        "Dense",
    ]
    assert model.layers[0].W.shape == (784, 32)  # PyTorch's (out, in) weight, transposed
    np.testing.assert_allclose(
        model.forward(reference["mlp_input"]), reference["mlp_output"], atol=1e-5, rtol=0
    )
    # an ordinary model: it traces, fine-tunes and saves like any other
    trace = model.trace(reference["mlp_input"][0])
    assert [t.activation for t in trace.layers] == ["relu", "tanh", "identity"]
    softmax = gx.load(REFERENCE / "torch_mlp.onnx", output="softmax")
    softmax.fit(reference["mlp_input"], np.arange(64) % 10, epochs=1, batch_size=16, seed=0)


def test_pytorch_cnn_export_gives_pytorch_outputs():
    needed = {"Conv2D", "MaxPool2D", "AvgPool2D", "Flatten"}  # the layers torch_cnn.onnx uses
    if not needed <= set(LAYER_TYPES):
        with pytest.raises(gx.UnsupportedOnnxModel, match="AveragePool, Conv, MaxPool"):
            gx.load(REFERENCE / "torch_cnn.onnx")
        pytest.skip(
            "glassnet has no Conv2D, MaxPool2D, AvgPool2D and Flatten layers yet (issue 11): "
            "torch_cnn.onnx is refused with a clear error until they land"
        )
    reference = np.load(REFERENCE / "torch_onnx_reference.npz", allow_pickle=False)
    model = gx.load(REFERENCE / "torch_cnn.onnx")
    assert model.layers[0].W.shape == (3 * 3 * 1, 4)  # PyTorch's (F, C, kh, kw) as (kh·kw·C, F)
    np.testing.assert_allclose(
        model.forward(reference["cnn_input"]), reference["cnn_output"], atol=1e-5, rtol=0
    )


CNN_TYPES = {"Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Flatten", "BatchNorm"}
needs_cnn = pytest.mark.skipif(
    not CNN_TYPES <= set(LAYER_TYPES),
    reason="glassnet has no Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten and BatchNorm "
    "layers yet (issue 11)",
)


def _small_cnn(dataset: np.ndarray, labels: np.ndarray) -> gn.Sequential:
    """Every convolutional layer type, odd paddings and strides, trained briefly on real images
    (downsampled to 14×14 to stay fast), so that BatchNorm has real running statistics."""
    L = LAYER_TYPES
    layers = [
        L["Conv2D"](1, 4, 3, padding=(1, 0, 2, 1), rng=0),
        L["BatchNorm"](4),
        L["ReLU"](),
        L["MaxPool2D"](2),
        L["Conv2D"](4, 6, (3, 2), stride=(2, 1), rng=1),
        L["Tanh"](),
        L["AvgPool2D"](2, stride=1),
        L["Dropout"](0.2),
        L["Flatten"](),
        L["Dense"](30, 10, rng=2),
    ]
    model = gn.Sequential(layers, input_shape=(1, 14, 14), output="softmax")
    X = _downsampled(dataset[:1500])
    model.fit(X, labels[:1500], epochs=1, batch_size=50, seed=0)
    return model


def _downsampled(flat: np.ndarray) -> np.ndarray:
    return flat.reshape(-1, 1, 14, 2, 14, 2).mean(axis=(3, 5)).astype(np.float32)


@needs_cnn
def test_cnn_export_matches_onnxruntime_and_round_trips_on_fashion_mnist(fashion, tmp_path):
    X, y = fashion
    model = _small_cnn(X, y)
    test = _downsampled(X[-500:])
    path = tmp_path / "cnn.onnx"
    gx.export(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    probabilities, scores = _run(path, test)
    np.testing.assert_allclose(scores, model.forward(test), atol=1e-5, rtol=0)
    np.testing.assert_allclose(probabilities, model.predict_proba(test), atol=1e-5, rtol=0)
    back = gx.load(path)
    assert np.array_equal(back.forward(test), model.forward(test))
    assert [type(la).__name__ for la in back.layers] == [
        type(la).__name__ for la in model.layers if type(la).__name__ != "Dropout"
    ]


@needs_cnn
def test_global_average_pooling_exports_and_round_trips(mnist_test, tmp_path):
    X, _ = mnist_test
    L = LAYER_TYPES
    layers = [L["Conv2D"](1, 3, 3, rng=0), L["ReLU"](), L["GlobalAvgPool2D"](), L["Dense"](3, 2)]
    model = gn.Sequential(layers, input_shape=(1, 14, 14), output="softmax")
    test = _downsampled(X[:200])
    path = tmp_path / "gap.onnx"
    gx.export(model, path)
    _, scores = _run(path, test)
    np.testing.assert_allclose(scores, model.forward(test), atol=1e-5, rtol=0)
    assert np.array_equal(gx.load(path).forward(test), model.forward(test))


def _chain_model(nodes, initializers, outputs=("y",), n_in=3) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "test",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_in])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_matmul_add_and_a_final_softmax_open_as_dense_and_the_output(tmp_path):
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    proto = _chain_model(
        [
            helper.make_node("MatMul", ["x", "W"], ["z"]),
            helper.make_node("Add", ["z", "b"], ["a"]),
            helper.make_node("Softmax", ["a"], ["y"], axis=-1),
        ],
        {"W": W, "b": b},
    )
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    model = gx.load(path)
    assert model.output == "softmax" and len(model.layers) == 1
    x = rng.normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict_proba(x), _run_named(path, x, "x"), atol=1e-6)
    assert len(gx.load(path, output="softmax").layers) == 1  # said explicitly: the same
    assert [type(la) for la in gx.load(path, output="identity").layers] == [gn.Dense, gn.Softmax]


def _run_named(path: Path, x: np.ndarray, name: str) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: x})[0]


@pytest.mark.parametrize(
    ("nodes", "match"),
    [
        (  # a branch: x feeds two nodes whose results are added (a skip connection)
            [
                helper.make_node("Gemm", ["x", "W"], ["h"]),
                helper.make_node("Relu", ["x"], ["r"]),
                helper.make_node("Add", ["h", "r"], ["y"]),
            ],
            "read by 2 nodes",
        ),
        (  # one weight used twice
            [
                helper.make_node("Gemm", ["x", "W"], ["h"]),
                helper.make_node("Gemm", ["h", "W"], ["y"]),
            ],
            "shared weights 'W'",
        ),
        (  # operators glassnet lacks, all listed
            [
                helper.make_node("Gemm", ["x", "W"], ["h"]),
                helper.make_node("Elu", ["h"], ["e"]),
                helper.make_node("HardSwish", ["e"], ["y"]),
            ],
            "unsupported operators Elu, HardSwish",
        ),
    ],
)
def test_unsupported_graphs_are_one_clear_error(nodes, match, tmp_path):
    proto = _chain_model(nodes, {"W": np.eye(3)})
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(gx.UnsupportedOnnxModel, match=match) as error:
        gx.load(path)
    assert isinstance(error.value, ModelFileError) and "glassnet opens chains of" in str(
        error.value
    )


# ---------------------------------------------------------------------- the NumPy export


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"exported_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_export_predicts_bit_identically(mnist_test, activation, tmp_path):
    X, y = mnist_test
    model = _trained(X, y, activation, dropout=0.1 if activation == "tanh" else 0.0)
    script = export_numpy(model, tmp_path / activation)
    with np.load(tmp_path / activation / "weights.npz", allow_pickle=False) as weights:
        assert sorted(weights.files) == sorted(model.named_parameters())  # no buffers in MLPs
    exported = _module(script)
    test = X[-2000:]
    assert np.array_equal(exported.scores(test), model.forward(test))
    assert np.array_equal(exported.predict(test), model.predict(test))
    np.testing.assert_allclose(exported.predict_proba(test), model.predict_proba(test), atol=1e-6)
    source = script.read_text()
    assert "784 → 24 → 12 → 10" in source and "resized to 28×28" in source
    assert len(source.splitlines()) < 100  # one screen, more or less


def test_numpy_export_runs_as_a_script_on_an_image(mnist_test, tmp_path):
    from PIL import Image

    X, y = mnist_test
    model = _trained(X, y, "relu")
    script = export_numpy(model, tmp_path / "out")
    image = tmp_path / "digit.png"
    Image.fromarray((X[-1].reshape(28, 28) * 255).round().astype(np.uint8)).save(image)
    done = subprocess.run(
        [sys.executable, str(script), str(image)], capture_output=True, text=True, check=True
    )
    expected = model.class_names[int(model.predict(np.round(X[-1:] * 255) / 255)[0])]
    assert done.stdout.strip() == f"{image}[0]: {expected}"


@needs_cnn
def test_numpy_export_of_a_cnn_predicts_bit_identically(fashion, tmp_path):
    X, y = fashion
    model = _small_cnn(X, y)
    exported = _module(export_numpy(model, tmp_path / "cnn"))
    test = _downsampled(X[-1000:])
    assert np.array_equal(exported.scores(test), model.forward(test))
    assert np.array_equal(exported.predict(test), model.predict(test))
    L = LAYER_TYPES
    layers = [L["Conv2D"](1, 3, 3, rng=0), L["ReLU"](), L["GlobalAvgPool2D"](), L["Dense"](3, 2)]
    pooled = gn.Sequential(layers, input_shape=(1, 14, 14), output="softmax")
    exported = _module(export_numpy(pooled, tmp_path / "gap"))
    assert np.array_equal(exported.scores(test), pooled.forward(test))


def test_numpy_export_of_binary_and_regression_models(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    for i, model in enumerate(
        [gn.MLP([4, 3, 1], seed=0), gn.MLP([4, 5, 3], output="identity", seed=0)]
    ):
        exported = _module(export_numpy(model, tmp_path / f"m{i}"))
        assert np.array_equal(exported.predict(X), model.predict(X))
