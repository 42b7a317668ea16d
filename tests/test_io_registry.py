"""Model files follow the layer registry: any registered layer, its parameters and buffers.

Issue 10: the model-file validator asks each layer type for its options, parameter and buffer
shapes (no `if kind == "Dense"` in io), files and checkpoints keep buffers, and a layer's third
parameter keeps its own name (it used to get the empty name, so a file lost it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import ModelFileError
from glassnet.nn import LAYER_TYPES, Layer, Option, register
from glassnet.nn.options import MAX_SIZE
from glassnet.parameter import Buffer, Parameter


class ScaledAffine(Layer):
    """A test layer with three parameters and one buffer: y = (x @ W + b) ⊙ gamma.

    In training it keeps the running mean of its inputs (the buffer), as a batch normalisation
    would; nothing reads it back, which keeps the gradient simple.
    """

    input_rank = 1
    options = {
        "n_inputs": Option("int", required=True, low=1, high=MAX_SIZE),
        "n_neurons": Option("int", required=True, low=1, high=MAX_SIZE),
        "momentum": Option("real", low=0.0, high=1.0),
    }

    def __init__(self, n_inputs, n_neurons, *, momentum=0.9, dtype=np.float32, name=None):
        super().__init__(name)
        self.n_inputs, self.n_neurons, self.momentum = n_inputs, n_neurons, momentum
        self._dtype = np.dtype(dtype)
        rng = np.random.default_rng(n_inputs * 1000 + n_neurons)
        self.W = Parameter(rng.normal(size=(n_inputs, n_neurons)).astype(self._dtype))
        self.b = Parameter(rng.normal(size=n_neurons).astype(self._dtype))
        self.gamma = Parameter(np.ones(n_neurons, self._dtype))
        self.running_mean = Buffer(np.zeros(n_inputs, self._dtype))
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None

    @property
    def input_shape(self):
        return (self.n_inputs,)

    @property
    def dtype(self):
        return self._dtype

    def output_shape(self, input_shape):
        self.check_input_shape(input_shape)
        return (self.n_neurons,)

    def forward(self, x, training=False):
        if training:
            self.running_mean.value *= self.momentum
            self.running_mean.value += (1 - self.momentum) * x.mean(axis=0)
        self._x = x
        self._z = x @ self.W.value + self.b.value
        return self._z * self.gamma.value

    def backward(self, grad_y):
        grad_z = grad_y * self.gamma.value
        self.gamma.grad[...] = (grad_y * self._z).sum(axis=0)
        self.W.grad[...] = self._x.T @ grad_z
        self.b.grad[...] = grad_z.sum(axis=0)
        return grad_z @ self.W.value.T if self.input_grad else None

    def named_parameters(self):
        return {"W": self.W, "b": self.b, "gamma": self.gamma}

    def named_buffers(self):
        return {"running_mean": self.running_mean}

    @classmethod
    def state_shapes(cls, config, input_shape):
        n_in, n_out = config["n_inputs"], config["n_neurons"]
        return {"W": (n_in, n_out), "b": (n_out,), "gamma": (n_out,)}, {"running_mean": (n_in,)}

    # NOTE: no shape_after of its own: the default builds the layer, which the reader does only
    # once the file is known to hold its state.

    def get_config(self) -> dict[str, Any]:
        return {"n_inputs": self.n_inputs, "n_neurons": self.n_neurons, "momentum": self.momentum}


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    register(ScaledAffine)
    yield
    LAYER_TYPES.pop("ScaledAffine", None)


def _model() -> gn.Sequential:
    model = gn.Sequential(
        [ScaledAffine(4, 5, name="layer"), gn.ReLU(), gn.Dense(5, 3, rng=0)], output="softmax"
    )
    # give the buffer and gamma values no constructor would, so a round trip must copy them
    model.layers[0].running_mean.value[...] = [0.25, -1.5, 3.0, 7.0]
    model.layers[0].gamma.value[...] = np.linspace(0.5, 1.5, 5)
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 4)).astype(np.float32), rng.integers(0, 3, 60)


def _state(model: gn.Sequential) -> dict[str, np.ndarray]:
    named = {**model.named_parameters(), **model.named_buffers()}
    return {name: array.value.copy() for name, array in named.items()}


def _assert_identical(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype
        assert a[name].tobytes() == b[name].tobytes(), name


def test_a_third_parameter_keeps_its_own_name():
    # Regression test for issue 10: zip(parameters, ("W", "b")) gave `gamma` the empty name.
    model = _model()
    assert list(model.layers[0].named_parameters()) == ["W", "b", "gamma"]
    assert list(model.named_parameters())[:3] == ["layer.W", "layer.b", "layer.gamma"]
    assert list(model.named_buffers()) == ["layer.running_mean"]


def test_a_registered_layer_with_a_buffer_round_trips_bit_identically(tmp_path):
    model = _model()
    path = tmp_path / "model.safetensors"
    gn.save(model, path)
    loaded = gn.load(path)
    _assert_identical(_state(model), _state(loaded))
    assert set(_state(loaded)) == {
        "layer.W",
        "layer.b",
        "layer.gamma",
        "layer.running_mean",
        "dense_0.W",
        "dense_0.b",
    }
    X, _ = _data()
    assert (loaded.predict_proba(X) == model.predict_proba(X)).all()
    assert loaded.get_config() == model.get_config()


def test_a_registered_layer_with_a_buffer_round_trips_through_a_checkpoint(tmp_path):
    model = _model()
    X, y = _data()
    path = tmp_path / "run.ckpt"
    model.fit(X, y, epochs=2, batch_size=20, seed=0, callbacks=[gn.Checkpoint(path)])
    checkpoint = gn.load_checkpoint(path)
    _assert_identical(_state(model), _state(checkpoint.model))
    # the buffer was moved by training, and the checkpoint kept the moved value
    assert not np.allclose(checkpoint.model.layers[0].running_mean.value, [0.25, -1.5, 3.0, 7.0])


def test_an_optimizer_step_never_changes_a_buffer():
    model = _model()
    X, y = _data()
    optimizer = gn.Adam(model.parameters(), learning_rate=0.1)
    loss = model.resolve_loss(None)
    out = model.forward(X, training=True)
    model.backward(loss.gradient(out, model.check_targets(y, len(X))))
    buffer = model.layers[0].running_mean.value.copy()
    weights = model.layers[0].W.value.copy()
    optimizer.step()
    assert (model.layers[0].running_mean.value == buffer).all()
    assert not (model.layers[0].W.value == weights).all()


def test_get_weights_and_set_weights_restore_a_buffer():
    # What EarlyStopping(restore_best_weights=True) and the divergence restore rely on.
    model = _model()
    snapshot = model.get_weights()
    assert snapshot.size == model.n_parameters + 4  # the buffer follows the parameters
    saved = model.layers[0].running_mean.value.copy()
    model.layers[0].running_mean.value[...] = 99.0
    model.layers[0].W.value[...] = 0.0
    model.set_weights(snapshot)
    assert (model.layers[0].running_mean.value == saved).all()
    assert (model.get_weights() == snapshot).all()


# ---------------------------------------------------------------------- refused files


def _file(edit_document: Callable[[dict], object] | None = None, drop: str | None = None) -> bytes:
    """A valid file of `_model`, with its document edited or a tensor removed."""
    model = _model()
    document = gn.io.model_document(model)
    tensors = gn.io.parameter_tensors(model)
    raw = gn.io.encode(tensors, document)
    if edit_document is None and drop is None:
        return raw
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    payload = raw[8 + size :]
    if edit_document is not None:
        inner = json.loads(header["__metadata__"]["glassnet"])
        edit_document(inner)
        header["__metadata__"]["glassnet"] = json.dumps(inner)
    if drop is not None:
        begin, end = header.pop(drop)["data_offsets"]
        payload = payload[:begin] + payload[end:]
        for key, entry in header.items():
            if key != "__metadata__" and entry["data_offsets"][0] >= end:
                entry["data_offsets"] = [o - (end - begin) for o in entry["data_offsets"]]
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + payload


def _problem(data: bytes) -> str:
    with pytest.raises(ModelFileError) as error:
        gn.load(io.BytesIO(data))
    return error.value.problem


def _layer_config(document: dict, index: int = 0) -> dict:
    return document["config"]["layers"][index]["config"]


def test_the_unedited_file_loads():
    gn.load(io.BytesIO(_file()))


def test_a_file_naming_an_unregistered_layer_type_is_refused():
    data = _file()
    LAYER_TYPES.pop("ScaledAffine")
    problem = _problem(data)
    assert "type 'ScaledAffine'" in problem
    assert "not one of the layer types" in problem


def test_a_file_with_an_unknown_option_is_refused():
    problem = _problem(_file(lambda d: _layer_config(d).update(code="rm -rf /")))
    assert "unknown options ['code']" in problem
    assert "ScaledAffine takes ['momentum', 'n_inputs', 'n_neurons']" in problem


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("n_inputs", 4.0, "an integer"),
        ("n_inputs", True, "an integer"),
        ("n_inputs", "4", "an integer"),
        ("momentum", "0.9", "a number"),
        ("momentum", False, "a number"),
        ("momentum", [0.9], "a number"),
        ("momentum", 1.5, "a number in [0.0, 1.0]"),
    ],
)
def test_a_file_with_an_option_of_the_wrong_json_type_is_refused(option, value, expected):
    problem = _problem(_file(lambda d: _layer_config(d).update({option: value})))
    assert f"layer 0 (layer, ScaledAffine) has {option}={value!r}; expected {expected}" in problem


def test_a_file_missing_a_required_option_is_refused():
    problem = _problem(_file(lambda d: _layer_config(d).pop("n_neurons")))
    assert "lacks the required options ['n_neurons']" in problem


def test_a_file_missing_a_buffer_tensor_is_refused():
    problem = _problem(_file(drop="layer.running_mean"))
    assert problem == "the tensor 'layer.running_mean' is missing"


def test_a_file_missing_the_third_parameter_is_refused():
    assert _problem(_file(drop="layer.gamma")) == "the tensor 'layer.gamma' is missing"


def test_a_huge_custom_layer_is_refused_before_it_is_built():
    # ScaledAffine has no arithmetic shape_after: the reader must find its tensors before
    # building it, so a file claiming 2**31 × 2**31 weights allocates nothing.
    def huge(document: dict) -> None:
        _layer_config(document).update(n_inputs=2**31 - 1, n_neurons=2**31 - 1)

    problem = _problem(_file(huge))
    assert "tensor 'layer.W' is F32 of shape [4, 5]" in problem
