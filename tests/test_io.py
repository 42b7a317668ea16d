"""Model files: round trips, what is kept, what save refuses, and atomic writes (issue 3)."""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import safetensors.numpy

import glassnet as gn
from glassnet.io import ModelFileError, atomic_write, read_metadata, remove_stale_temporaries
from glassnet.io.model_file import saved_initializer


def _data(n_inputs: int, n_samples: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_samples, n_inputs)).astype(np.float32)


def _architectures():
    yield "sigmoid-softmax-f32", lambda: gn.MLP([6, 8, 5, 3], activation="sigmoid", seed=1)
    yield "relu-binary-sigmoid", lambda: gn.MLP([6, 8, 1], activation="relu", seed=2)
    yield (
        "tanh-regression-f64",
        lambda: gn.MLP([6, 16, 2], activation="tanh", output="identity", dtype=np.float64, seed=3),
    )
    yield (
        "leaky-dropout",
        lambda: gn.MLP([6, 8, 8, 4], activation="leaky_relu", dropout=0.3, seed=4),
    )
    yield (
        "multilabel-sigmoid-f64",
        lambda: gn.MLP([6, 7, 3], activation="relu", output="sigmoid", dtype=np.float64, seed=5),
    )
    yield (
        "hand-built",
        lambda: gn.Sequential(
            [
                gn.Dense(6, 5, use_bias=False, weight_init="he_uniform", rng=6, name="hidden"),
                gn.LeakyReLU(alpha=0.2, name="leaky"),
                gn.Dense(5, 4, weight_init=0.25, bias_init=0.5, rng=6),
                gn.Softmax(),
                gn.Dropout(0.1),
                gn.Dense(4, 4, rng=6),
                gn.Step(threshold=0.5),
                gn.Dense(4, 3, rng=6),
            ],
            output="softmax",
            seed=6,
        ),
    )


ARCHITECTURES = dict(_architectures())


def _targets(model: gn.Sequential, n_samples: int = 64):
    rng = np.random.default_rng(7)
    if model.output == "softmax":
        return rng.integers(0, model.n_outputs, n_samples)
    if model.output == "sigmoid":
        return rng.integers(0, 2, (n_samples, model.n_outputs))
    return rng.normal(size=(n_samples, model.n_outputs))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_round_trip_gives_bit_identical_predictions(tmp_path, name):
    model = ARCHITECTURES[name]()
    X = _data(model.n_inputs)
    model.fit(X, _targets(model), epochs=2, batch_size=16, seed=0)
    classes = 2 if model.n_outputs == 1 else model.n_outputs
    model.class_names = [f"class {i}" for i in range(classes)]
    model.preprocessing = {"scale": 1 / 255, "image_size": [2, 3], "mnist_centering": True}
    path = tmp_path / "model.safetensors"
    model.save(path)

    loaded = gn.load(path)

    assert np.array_equal(loaded.forward(X), model.forward(X))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    if model.output != "identity":
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.dtype == model.dtype
    assert np.array_equal(loaded.get_weights(), model.get_weights())
    assert loaded.get_config() == model.get_config()
    assert loaded.class_names == model.class_names
    assert loaded.preprocessing == model.preprocessing
    assert loaded.history.to_dict() == model.history.to_dict()
    assert [p.name for p in loaded.parameters()] == [p.name for p in model.parameters()]


def test_loaded_model_can_be_traced_summarised_and_trained_further(tmp_path):
    model = gn.MLP([6, 8, 3], activation="sigmoid", seed=0)
    X, y = _data(6), _targets(model)
    model.fit(X, y, epochs=1, seed=0)
    model.save(tmp_path / "m.safetensors")
    loaded = gn.load(tmp_path / "m.safetensors")

    trace = loaded.trace(X[0])
    assert np.array_equal(trace.layers[-1].z, model.trace(X[0]).layers[-1].z)
    assert "Total parameters" in loaded.summary()
    # A model file holds no optimizer state: both continue with a fresh Adam, identically.
    model.optimizer = None
    model.fit(X, y, epochs=2, seed=3)
    history = loaded.fit(X, y, epochs=2, seed=3)
    assert len(history.epoch) == 2
    assert np.array_equal(loaded.get_weights(), model.get_weights())


def test_file_is_a_plain_safetensors_file(tmp_path):
    model = gn.MLP([4, 3, 2], seed=0)
    path = tmp_path / "m.safetensors"
    gn.io.save(model, path, metadata={"author": "test", "data": "xor"})

    tensors = safetensors.numpy.load_file(str(path))

    assert sorted(tensors) == ["dense_0.W", "dense_0.b", "dense_1.W", "dense_1.b"]
    for name, param in model.named_parameters().items():
        assert tensors[name].dtype == np.float32
        assert np.array_equal(tensors[name], param.value)
    document = read_metadata(path)
    assert document["format"] == "glassnet-model"
    assert document["version"] == 1
    assert document["input_shape"] == [4]
    assert document["n_outputs"] == 2
    assert document["metadata"] == {"author": "test", "data": "xor"}
    assert document["config"] == model.get_config()


def test_load_accepts_an_open_binary_file(tmp_path):
    model = gn.MLP([4, 3, 2], seed=0)
    model.save(tmp_path / "m.safetensors")
    data = (tmp_path / "m.safetensors").read_bytes()

    loaded = gn.load(io.BytesIO(data))

    assert np.array_equal(loaded.get_weights(), model.get_weights())


def test_save_argument_overrides_model_preprocessing_and_converts_numpy(tmp_path):
    model = gn.MLP([4, 3, 2], seed=0)
    model.preprocessing = {"scale": 1.0}
    mean = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    gn.io.save(
        model, tmp_path / "m.safetensors", preprocessing={"mean": mean, "scale": np.float64(0.5)}
    )

    loaded = gn.load(tmp_path / "m.safetensors")

    assert loaded.preprocessing == {"mean": mean.tolist(), "scale": 0.5}


def test_history_argument_overrides_the_models(tmp_path):
    model = gn.MLP([4, 3, 2], seed=0)
    model.fit(_data(4), np.arange(64) % 2, epochs=1)
    saved = {"epoch": [0, 1, 2], "loss": [0.9, 0.5, 0.25], "accuracy": [0.5, 0.75, 1.0]}
    gn.io.save(model, tmp_path / "m.glassnet", history=saved)

    assert gn.load(tmp_path / "m.glassnet").history.to_dict() == saved


def test_nan_in_history_is_saved_as_null_and_loaded_as_nan(tmp_path):
    model = gn.MLP([4, 3, 2], seed=0)
    model.history = gn.History()
    model.history.restore({"epoch": [0, 1], "loss": [0.5, math.nan]})
    model.save(tmp_path / "m.safetensors")

    assert read_metadata(tmp_path / "m.safetensors")["history"]["loss"] == [0.5, None]
    loaded = gn.load(tmp_path / "m.safetensors")
    assert loaded.history["loss"][0] == 0.5 and math.isnan(loaded.history["loss"][1])


def test_initializers_are_kept_by_name_and_custom_ones_fail_clearly_on_reset(tmp_path):
    def my_init(shape, rng=None, dtype=np.float32):
        return np.ones(shape, dtype)

    model = gn.Sequential(
        [gn.Dense(3, 4, weight_init="he_normal", bias_init=0.5), gn.ReLU(), gn.Dense(4, 2)]
    )
    model.layers[2].weight_init = my_init
    model.save(tmp_path / "m.safetensors")

    loaded = gn.load(tmp_path / "m.safetensors")

    assert loaded.get_config() == model.get_config()
    loaded.layers[0].reset_parameters(0)
    assert np.all(loaded.layers[0].b.value == 0.5)
    with pytest.raises(ValueError, match="custom initializer 'my_init'"):
        loaded.layers[2].reset_parameters(0)


def test_read_metadata_does_not_read_the_weights(tmp_path):
    # The last 4 bytes are the last float32 weight: made NaN, load refuses the file, while
    # read_metadata, which never reads the data area, still returns the document.
    model = gn.MLP([3, 4, 2], seed=0)
    model.save(tmp_path / "m.safetensors")
    data = bytearray((tmp_path / "m.safetensors").read_bytes())
    data[-4:] = np.array([np.nan], "<f4").tobytes()
    (tmp_path / "m.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="holds NaN or infinite values"):
        gn.load(tmp_path / "m.safetensors")
    assert read_metadata(tmp_path / "m.safetensors")["config"] == model.get_config()


@pytest.mark.parametrize(
    ("saved", "value"),
    [(0.25, 0.25), (-3, -3.0), ("constant(0.5)", 0.5), ("zeros", 0.0), ("constant(-2e-3)", -2e-3)],
)
def test_saved_initializers_are_rebuilt_by_name_or_number(saved, value):
    init = saved_initializer(saved)
    filled = init((2, 3), np.random.default_rng(0), np.float64)
    assert filled.dtype == np.float64 and np.all(filled == value)


@pytest.mark.parametrize(
    "saved",
    ["my_init", "constant(abc)", "constant(nan)", "constant(inf)", "constanx(1.5)", "constant(1"],
)
def test_other_saved_initializers_fail_only_when_used(saved):
    # Never evaluated: a name that is not a known initialiser or a finite constant(...) loads,
    # and says what is missing when reset_parameters would draw from it.
    init = saved_initializer(saved)
    assert init.__name__ == saved
    hint = "which a model file cannot hold. Set layer.weight_init (or bias_init) to a function"
    with pytest.raises(
        ValueError,
        match=f"saved with the custom initializer {re.escape(repr(saved))}, {re.escape(hint)}",
    ):
        init((2, 3))


def test_a_layer_without_config_and_a_dense_without_initializers_load_with_the_defaults():
    # Optional in a file: a parameterless layer's "config", and Dense's weight_init, bias_init
    # and use_bias (which fall back to the constructor's defaults).
    model = gn.Sequential([gn.Dense(3, 4, rng=0), gn.ReLU(), gn.Dense(4, 2, rng=1)])
    document = gn.io.model_document(model)
    layers = document["config"]["layers"]
    del layers[1]["config"]
    del layers[0]["config"]["weight_init"], layers[0]["config"]["bias_init"]
    del layers[2]["config"]["use_bias"]  # True by default: the file must hold dense_1.b
    loaded = gn.load(io.BytesIO(gn.io.encode(gn.io.parameter_tensors(model), document)))
    assert [type(layer).__name__ for layer in loaded.layers] == ["Dense", "ReLU", "Dense"]
    assert loaded.get_config() == model.get_config()
    assert loaded.layers[0].get_config()["weight_init"] == "glorot_uniform"
    loaded.layers[0].reset_parameters(0)  # the defaults draw: glorot_uniform weights, zero bias
    assert np.all(loaded.layers[0].b.value == 0) and np.all(loaded.layers[0].W.value != 0)


def test_a_file_whose_config_has_no_input_shape_uses_the_documents():
    # Files of older versions: the config has no input_shape, the document has. A CNN cannot
    # infer (C, H, W) from its layers, so without the document's shape it would not build.
    model = gn.Sequential(
        [gn.Conv2D(1, 2, 3, rng=0), gn.Flatten(), gn.Dense(2 * 4 * 4, 2, rng=0)],
        input_shape=(1, 6, 6),
    )
    document = gn.io.model_document(model)
    del document["config"]["input_shape"]
    loaded = gn.load(io.BytesIO(gn.io.encode(gn.io.parameter_tensors(model), document)))
    assert loaded.input_shape == (1, 6, 6)
    x = np.random.default_rng(0).random((3, 1, 6, 6), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_save_names_a_weight_it_cannot_store_and_why():
    model = gn.MLP([3, 4, 2], seed=0)
    tensors = gn.io.parameter_tensors(model)
    document = gn.io.model_document(model)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "This model cannot be saved: dense_0.W has dtype float16; files hold "
            "['F32', 'F64', 'I64']."
        ),
    ):
        gn.io.encode({**tensors, "dense_0.W": tensors["dense_0.W"].astype(np.float16)}, document)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "This model cannot be saved: format is 'glassnet-nope'; expected one of "
            "('glassnet-model', 'glassnet-checkpoint')."
        ),
    ):
        gn.io.encode(tensors, {**document, "format": "glassnet-nope"})
    model.layers[2].W.value[1, 0] = np.inf
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Parameter dense_1.W holds NaN or infinite values, so the model cannot be saved "
            "(it would not load back). Train again with a lower learning rate."
        ),
    ):
        gn.io.parameter_tensors(model)


def test_save_refuses_a_description_the_loader_would_refuse(tmp_path):
    # Every file written loads back: the writer applies the reader's limits on the header's
    # size and on its number of JSON values, and leaves nothing on disk when they are exceeded.
    model = gn.MLP([3, 2], seed=0)
    with pytest.raises(
        ValueError,
        match=r"^This model cannot be saved: its header would take 17,000,\d{3} bytes, more "
        r"than the 16,777,216 a model file may hold, so it would not load back\. Keep large data "
        r"out of the metadata, preprocessing and history\.$",
    ):
        gn.io.save(model, tmp_path / "m.safetensors", metadata={"notes": "x" * 17_000_000})
    with pytest.raises(
        ValueError,
        match=r"^This model cannot be saved: the metadata holds about 1,\d{3},\d{3} JSON values, "
        r"more than the 1,000,000",
    ):
        gn.io.save(model, tmp_path / "m.safetensors", metadata={"counts": [0] * 1_000_001})
    assert list(tmp_path.iterdir()) == []
    gn.io.save(model, tmp_path / "m.safetensors", metadata={"notes": "x" * 16_000_000})
    assert gn.io.read_metadata(tmp_path / "m.safetensors")["metadata"]["notes"] == "x" * 16_000_000


def test_saving_without_safetensors_says_how_to_install_it(tmp_path, monkeypatch):
    # None in sys.modules makes `import safetensors.numpy` raise ImportError: the package
    # missing, as on a machine without the io extra. Reading needs no safetensors.
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    message = (
        'Saving model files needs the safetensors package: pip install "glassnet[io]" '
        "(or pip install safetensors)."
    )
    with pytest.raises(ImportError, match=f"^{re.escape(message)}$"):
        gn.MLP([3, 2], seed=0).save(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_load_of_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        gn.load(tmp_path / "nothing.safetensors")


def test_load_error_names_the_file_and_is_a_value_error(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x01\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(ValueError, match="broken.safetensors") as error:
        gn.load(path)
    assert isinstance(error.value, ModelFileError)
    assert error.value.path == str(path)


# ---------------------------------------------------------------------- what save refuses


def test_save_refuses_non_finite_weights(tmp_path):
    model = gn.MLP([3, 2, 2], seed=0)
    model.layers[0].W.value[0, 0] = np.nan
    with pytest.raises(ValueError, match="dense_0.W holds NaN"):
        model.save(tmp_path / "m.safetensors")
    assert not os.listdir(tmp_path)


def test_save_refuses_custom_layers(tmp_path):
    class Scale(gn.Layer):
        def forward(self, x, training=False):
            return 2 * x

    model = gn.Sequential([gn.Dense(3, 2), Scale()])
    with pytest.raises(TypeError, match="Scale, which model files cannot hold"):
        model.save(tmp_path / "m.safetensors")


def test_save_refuses_class_names_that_do_not_fit_the_outputs(tmp_path):
    model = gn.MLP([3, 2, 4], seed=0)
    model.class_names = ["a", "b"]
    with pytest.raises(ValueError, match="needs 4 names, got 2"):
        model.save(tmp_path / "m.safetensors")
    model.class_names = [0, 1, 2, 3]
    with pytest.raises(TypeError, match="class_names must be strings"):
        model.save(tmp_path / "m.safetensors")


@pytest.mark.parametrize(
    ("preprocessing", "error", "message"),
    [
        ({"f": print}, TypeError, r"preprocessing\['f'\] must hold JSON data .* got builtin_"),
        ({1: "a"}, TypeError, r"preprocessing must have string keys, got \[1\]"),
        ({"x": math.inf}, ValueError, r"preprocessing\['x'\] holds a non-finite number \(inf\)"),
        ({"x": {1, 2}}, TypeError, r"preprocessing\['x'\] must hold JSON data .* got set\."),
    ],
    ids=["function", "int-key", "infinity", "set"],
)
def test_save_refuses_metadata_that_is_not_json(tmp_path, preprocessing, error, message):
    model = gn.MLP([3, 2, 2], seed=0)
    with pytest.raises(error, match=message):
        gn.io.save(model, tmp_path / "m.safetensors", preprocessing=preprocessing)
    assert not os.listdir(tmp_path)


def test_save_refuses_self_containing_metadata(tmp_path):
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(TypeError, match="nested too deeply"):
        gn.io.save(gn.MLP([3, 2, 2]), tmp_path / "m.safetensors", metadata=loop)


def test_save_without_safetensors_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "glassnet\[io\]"'):
        gn.MLP([3, 2, 2]).save(tmp_path / "m.safetensors")


# ---------------------------------------------------------------------- atomic writes


def _temporaries(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_failed_rename_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    good = gn.MLP([3, 4, 2], seed=0)
    good.save(path)

    def crash(*args):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        gn.MLP([3, 4, 2], seed=1).save(path)
    monkeypatch.undo()

    assert _temporaries(tmp_path) == []
    assert np.array_equal(gn.load(path).get_weights(), good.get_weights())


def test_failure_while_writing_keeps_the_old_file(tmp_path):
    path = tmp_path / "data.bin"
    atomic_write(path, b"old content")

    def half_then_fail(file):
        file.write(b"new con")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_fail)

    assert path.read_bytes() == b"old content"
    assert _temporaries(tmp_path) == []


def test_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"x")
    path.chmod(0o600)
    gn.MLP([3, 4, 2]).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_next_save_removes_stale_temporaries_only(tmp_path):
    path = tmp_path / "m.safetensors"
    dead = tmp_path / f".m.safetensors.{_dead_pid()}-0123abcd.tmp"
    own_leftover = tmp_path / f".m.safetensors.{os.getpid()}-89abcdef.tmp"
    alive = tmp_path / f".m.safetensors.{os.getppid()}-00000000.tmp"
    old_alive = tmp_path / f".m.safetensors.{os.getppid()}-11111111.tmp"
    other_target = tmp_path / f".other.safetensors.{_dead_pid()}-22222222.tmp"
    not_ours = tmp_path / ".m.safetensors.backup.tmp"
    for file in (dead, own_leftover, alive, old_alive, other_target, not_ours):
        file.write_bytes(b"partial")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_alive, (two_days_ago, two_days_ago))

    gn.MLP([3, 4, 2]).save(path)

    assert _temporaries(tmp_path) == sorted([alive.name, other_target.name, not_ours.name])
    assert remove_stale_temporaries(path) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_process_killed_mid_save_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "m.safetensors"
    good = gn.MLP([3, 4, 2], seed=0)
    good.save(path)
    script = textwrap.dedent(
        f"""
        import sys, time
        import glassnet as gn
        from glassnet.io import atomic_write
        data = gn.io.encode(gn.io.parameter_tensors(gn.MLP([3, 4, 2], seed=1)),
                            gn.io.model_document(gn.MLP([3, 4, 2], seed=1)))
        def slow(file):
            file.write(data[: len(data) // 2])
            file.flush()
            print("half", flush=True)
            time.sleep(60)
        atomic_write({str(path)!r}, slow)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "half"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(10)

    assert len(_temporaries(tmp_path)) == 1  # the crash left its half-written temporary
    assert np.array_equal(gn.load(path).get_weights(), good.get_weights())
    newer = gn.MLP([3, 4, 2], seed=2)
    newer.save(path)
    assert _temporaries(tmp_path) == []
    assert np.array_equal(gn.load(path).get_weights(), newer.get_weights())


def test_document_is_compact_json(tmp_path):
    model = gn.MLP([3, 4, 2])
    model.save(tmp_path / "m.safetensors")
    raw = (tmp_path / "m.safetensors").read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    assert json.loads(header["__metadata__"]["glassnet"])["format"] == "glassnet-model"


def test_a_problem_that_is_a_sentence_gets_no_second_period():
    assert str(ModelFileError("m.glassnet", "it would drop all.")).startswith(
        "Cannot load 'm.glassnet': it would drop all. The file is damaged"
    )
    assert "flatten? The file" in str(ModelFileError("m", "Did you forget to flatten?"))
    assert "bad header. The file" in str(ModelFileError("m", "bad header"))
