"""Checkpoints and exact resumption (issue 3, "Checkpoint and resume")."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import schedules
from glassnet.errors import DataError
from glassnet.io import ModelFileError
from glassnet.io.checkpoints import _with_epoch
from json_fuzz import HOSTILE_VALUES, json_paths, replaced

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("checkpoint_worker.py")


def _data(n_samples: int = 200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, 5)).astype(np.float32)
    return X, rng.integers(0, 3, n_samples)


def _model() -> gn.Sequential:
    return gn.MLP([5, 8, 3], activation="relu", dropout=0.2, seed=0)


OPTIMIZERS = {
    "adam": lambda model: gn.Adam(model.parameters(), learning_rate=0.01),
    "sgd-nesterov": lambda model: gn.SGD(
        model.parameters(), learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4
    ),
    "rmsprop": lambda model: gn.RMSprop(model.parameters(), learning_rate=0.01, clip_norm=1.0),
    "adamw-step-decay": lambda model: gn.AdamW(
        model.parameters(), learning_rate=schedules.StepDecay(0.01, factor=0.5, every=10)
    ),
    "sgd-plain": lambda model: gn.SGD(model.parameters(), learning_rate=0.1),
}
FIT = {"epochs": 3, "batch_size": 16, "seed": 1}  # 13 batches per epoch, the last one short


class Crash(gn.Callback):
    """Raise after the n-th batch of the fit: an in-process stand-in for a crash."""

    def __init__(self, after: int) -> None:
        self.after, self.count = after, 0

    def on_batch_end(self, batch, logs):
        self.count += 1
        if self.count == self.after:
            raise RuntimeError("crash")


def _reference(optimizer: str, **options) -> gn.Sequential:
    model = _model()
    X, y = _data()
    model.fit(X, y, optimizer=OPTIMIZERS[optimizer](model), **FIT, **options)
    return model


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("crash_after", [4, 6, 12, 13, 14, 22, 38])
def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path, optimizer, crash_after):
    X, y = _data()
    reference = _reference(optimizer)
    path = tmp_path / "run.ckpt"
    model = _model()
    with pytest.raises(RuntimeError, match="^crash$"):
        model.fit(
            X,
            y,
            optimizer=OPTIMIZERS[optimizer](model),
            callbacks=[gn.Checkpoint(path, every=4), Crash(crash_after)],
            **FIT,
        )

    checkpoint = gn.load_checkpoint(path)
    history = checkpoint.resume(X, y, seed=FIT["seed"])

    assert np.array_equal(checkpoint.model.get_weights(), reference.get_weights())
    assert history.to_dict() == reference.history.to_dict()
    assert checkpoint.optimizer.iterations == reference.optimizer.iterations


def test_epoch_end_checkpoint_is_the_start_of_the_next_epoch(tmp_path):
    X, y = _data()
    model = _model()
    model.fit(X, y, callbacks=[gn.Checkpoint(tmp_path / "run.ckpt")], **{**FIT, "epochs": 2})

    checkpoint = gn.load_checkpoint(tmp_path / "run.ckpt")

    state = checkpoint.training_state
    assert (state.epoch, state.batch, state.order, state.seen) == (2, 0, None, 0)
    assert state.history["epoch"] == [0, 1]
    assert checkpoint.fit_params == {"epochs": 2, "batch_size": 16, "samples": 200, "batches": 13}
    assert checkpoint.finished
    # Asking for more epochs continues exactly like one longer run.
    checkpoint.resume(X, y, epochs=4, seed=FIT["seed"])
    longer = _model()
    longer.fit(X, y, **{**FIT, "epochs": 4})
    assert np.array_equal(checkpoint.model.get_weights(), longer.get_weights())
    assert checkpoint.model.history.to_dict() == longer.history.to_dict()


def test_history_includes_the_epoch_whichever_callback_runs_first():
    recorded = {"epoch": [0, 1], "loss": [0.9, 0.7]}
    assert _with_epoch(recorded, 1, {"loss": 0.7}) is recorded
    assert _with_epoch({"epoch": [0], "loss": [0.9]}, 1, {"loss": 0.7, "note": "x"}) == recorded


def test_ctrl_c_saves_the_position_and_resuming_matches(tmp_path):
    X, y = _data()
    reference = _reference("adam")

    class PressCtrlC(gn.Callback):
        def on_batch_end(self, batch, logs):
            if self.model.optimizer.iterations == 18:
                os.kill(os.getpid(), signal.SIGINT)

    model = _model()
    history = model.fit(
        X,
        y,
        optimizer=OPTIMIZERS["adam"](model),
        callbacks=[PressCtrlC(), gn.Checkpoint(tmp_path / "run.ckpt")],
        **FIT,
    )
    assert history.interrupted

    checkpoint = gn.load_checkpoint(tmp_path / "run.ckpt")
    assert (checkpoint.training_state.epoch, checkpoint.training_state.batch) == (1, 5)
    checkpoint.resume(X, y, seed=FIT["seed"])
    assert np.array_equal(checkpoint.model.get_weights(), reference.get_weights())


def test_validation_metrics_are_kept_in_the_history(tmp_path):
    X, y = _data()
    options = {"validation_split": 0.25}
    reference = _reference("adam", **options)
    model = _model()
    with pytest.raises(RuntimeError, match="^crash$"):  # the Crash callback's, no other
        model.fit(
            X,
            y,
            optimizer=OPTIMIZERS["adam"](model),
            callbacks=[gn.Checkpoint(tmp_path / "run.ckpt", every=3), Crash(17)],
            **FIT,
            **options,
        )
    checkpoint = gn.load_checkpoint(tmp_path / "run.ckpt")
    assert "val_loss" in checkpoint.training_state.history
    history = checkpoint.resume(X, y, seed=FIT["seed"], **options)
    assert history.to_dict() == reference.history.to_dict()
    assert np.array_equal(checkpoint.model.get_weights(), reference.get_weights())


def test_a_checkpoint_also_loads_as_a_model(tmp_path):
    X, y = _data()
    model = _model()
    model.class_names = ["a", "b", "c"]
    model.fit(X, y, callbacks=[gn.Checkpoint(tmp_path / "run.ckpt")], **FIT)

    loaded = gn.load(tmp_path / "run.ckpt")

    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.class_names == ["a", "b", "c"]
    assert loaded.history.to_dict() == model.history.to_dict()


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    _model().save(tmp_path / "model.safetensors")
    with pytest.raises(ModelFileError, match="it is a glassnet-model file"):
        gn.load_checkpoint(tmp_path / "model.safetensors")


def test_resume_checks_the_data_and_settings(tmp_path):
    X, y = _data()
    _model().fit(X, y, callbacks=[gn.Checkpoint(tmp_path / "run.ckpt")], **FIT)
    checkpoint = gn.load_checkpoint(tmp_path / "run.ckpt")
    with pytest.raises(DataError, match="training on 200 samples, got 150"):
        checkpoint.resume(X[:150], y[:150])
    with pytest.raises(ValueError, match="written with batch_size=16, got batch_size=32"):
        checkpoint.resume(X, y, batch_size=32)
    with pytest.raises(TypeError, match=re.escape("resume() sets optimizer= itself")):
        checkpoint.resume(X, y, optimizer="sgd")


def test_a_custom_learning_rate_function_continues_at_its_last_value(tmp_path):
    X, y = _data()
    model = _model()
    model.fit(
        X,
        y,
        optimizer=gn.SGD(model.parameters(), learning_rate=lambda t: 0.1 / (1 + t)),
        callbacks=[gn.Checkpoint(tmp_path / "run.ckpt")],
        **{**FIT, "epochs": 1},
    )
    with pytest.warns(UserWarning, match="custom function"):
        checkpoint = gn.load_checkpoint(tmp_path / "run.ckpt")
    assert checkpoint.optimizer.learning_rate == pytest.approx(0.1 / 14)


def test_a_custom_optimizer_is_refused_before_training(tmp_path):
    class Halving(gn.SGD):
        pass

    model = _model()
    with pytest.raises(TypeError, match="got Halving"):
        model.fit(
            *_data(),
            optimizer=Halving(model.parameters()),
            callbacks=[gn.Checkpoint(tmp_path / "run.ckpt")],
        )
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize(
    ("every", "message"),
    [
        ("batch", "every must be 'epoch' or a number of batches, got 'batch'"),
        (0, "every must be a whole number >= 1, got every=0"),
        (-2, "every must be a whole number >= 1, got every=-2"),
        (1.5, "every must be a whole number >= 1, got every=1.5"),
        (True, "every must be a whole number >= 1, got every=True"),
    ],
)
def test_checkpoint_every_must_be_epoch_or_a_batch_count(tmp_path, every, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        gn.Checkpoint(tmp_path / "run.ckpt", every=every)


# ---------------------------------------------------------------------- hostile checkpoints


def _checkpoint_bytes(tmp_path) -> bytes:
    X, y = _data()
    model = _model()
    with pytest.raises(RuntimeError, match="^crash$"):  # the Crash callback's, no other
        model.fit(X, y, callbacks=[gn.Checkpoint(tmp_path / "c", every=5), Crash(7)], **FIT)
    return (tmp_path / "c").read_bytes()


def _parts(data: bytes) -> tuple[dict, dict, bytes]:
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    return header, json.loads(header["__metadata__"]["glassnet"]), data[8 + size :]


def _assemble(header: dict, document: dict, payload: bytes) -> bytes:
    header = {**header, "__metadata__": {"glassnet": json.dumps(document)}}
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + payload


def _edit_order(header, document, payload, values: dict[int, int]):
    begin = header["training.order"]["data_offsets"][0]
    order = np.frombuffer(payload, "<i8", 200, begin).copy()
    for index, value in values.items():
        order[index] = value
    payload = payload[:begin] + order.tobytes() + payload[begin + order.nbytes :]
    return header, document, payload


def _drop_v(header, document, payload):
    begin, end = header.pop("optimizer.*.v")["data_offsets"]
    for key, entry in header.items():
        if key != "__metadata__" and entry["data_offsets"][0] >= end:
            entry["data_offsets"] = [o - (end - begin) for o in entry["data_offsets"]]
    document["optimizer"]["state"]["*"] = ["m"]
    return header, document, payload[:begin] + payload[end:]


def _doc(edit):
    def apply(header, document, payload):
        edit(document)
        return header, document, payload

    return apply


HOSTILE_CHECKPOINTS = {
    "order-repeats-a-sample": lambda h, d, p: _edit_order(h, d, p, {0: 5, 1: 5}),
    "order-out-of-range": lambda h, d, p: _edit_order(h, d, p, {0: 200}),
    "order-negative": lambda h, d, p: _edit_order(h, d, p, {0: -1}),
    "order-wrong-dtype": lambda h, d, p: (
        {**h, "training.order": {**h["training.order"], "dtype": "F64"}},
        d,
        p,
    ),
    "rng-not-pcg64": _doc(lambda d: d["training"]["rng_state"].update(bit_generator="MT19937")),
    "rng-state-too-big": _doc(lambda d: d["training"]["rng_state"]["state"].update(inc=2**130)),
    "rng-state-missing-field": _doc(lambda d: d["training"]["rng_state"].pop("uinteger")),
    "optimizer-type-unknown": _doc(lambda d: d["optimizer"].update(type="Lion")),
    "optimizer-type-base-class": _doc(lambda d: d["optimizer"].update(type="Optimizer")),
    "optimizer-option-unknown": _doc(lambda d: d["optimizer"]["options"].update(hack=1)),
    "optimizer-option-out-of-range": _doc(lambda d: d["optimizer"]["options"].update(beta1=5.0)),
    "optimizer-option-string": _doc(lambda d: d["optimizer"]["options"].update(beta1="0.9")),
    "optimizer-state-of-a-stranger": _doc(
        lambda d: d["optimizer"].update(state={"dense_9.W": ["m", "v"]})
    ),
    "optimizer-state-key-missing": _drop_v,
    "optimizer-state-tensor-missing": _doc(lambda d: d["optimizer"]["state"]["*"].append("w")),
    "optimizer-iterations-negative": _doc(lambda d: d["optimizer"].update(iterations=-1)),
    "schedule-unknown": _doc(
        lambda d: d["optimizer"].update(learning_rate={"schedule": "Lambda", "config": {}})
    ),
    "schedule-bad-config": _doc(
        lambda d: d["optimizer"].update(
            learning_rate={"schedule": "StepDecay", "config": {"learning_rate": -1}}
        )
    ),
    "training-batch-past-the-epoch": _doc(lambda d: d["training"].update(batch=14)),
    "training-epoch-past-the-end": _doc(lambda d: d["training"].update(epoch=4)),
    "training-fit-inconsistent": _doc(lambda d: d["training"]["fit"].update(batches=20)),
    "training-missing-field": _doc(lambda d: d["training"].pop("seen")),
    "training-correct-exceeds-seen": _doc(lambda d: d["training"].update(correct=10_000)),
    "checkpoint-without-optimizer": _doc(lambda d: d.pop("optimizer")),
}


_RNG_STATE = r"training.rng_state is \{'bit_generator': .*; expected a PCG64 generator state"
# case → the message of the check that must refuse it (issue 18)
CHECKPOINT_REASONS = {
    "order-repeats-a-sample": "training.order repeats some samples and misses others",
    "order-out-of-range": r"training.order holds sample numbers outside \[0, 200\)",
    "order-negative": r"training.order holds sample numbers outside \[0, 200\)",
    "order-wrong-dtype": r"tensor 'training.order' is F64 of shape \[200\]; expected I64",
    "rng-not-pcg64": _RNG_STATE.replace(".*", "'MT19937'.*"),
    "rng-state-too-big": _RNG_STATE,
    "rng-state-missing-field": _RNG_STATE,
    "optimizer-type-unknown": r"optimizer type 'Lion' is not one of \['Adam', 'AdamW'",
    "optimizer-type-base-class": "optimizer type 'Optimizer' is not one of",
    "optimizer-option-unknown": r"Adam options .* should only have the fields \['beta1'",
    "optimizer-option-out-of-range": r"cannot be rebuilt: beta1 must be in \[0.0, 1.0\], got beta1",
    "optimizer-option-string": "Adam options has beta1='0.9'; expected a number",
    "optimizer-state-of-a-stranger": "the optimizer state names 'dense_9.W', which is not a param",
    "optimizer-state-key-missing": r"the optimizer state of '\*' lacks \['v'\]",
    "optimizer-state-tensor-missing": r"the tensor 'optimizer.\*.w' is missing",
    "optimizer-iterations-negative": "iterations is -1; expected an integer >= 0",
    "schedule-unknown": "learning_rate .*'Lambda'.* is not a schedule of",
    "schedule-bad-config": "cannot be rebuilt: learning_rate must be in .*got learning_rate=-1",
    "training-batch-past-the-epoch": r"training.batch is 14; expected an integer in \[0, 13\]",
    "training-epoch-past-the-end": r"training.epoch is 4; expected an integer in \[0, 3\]",
    "training-fit-inconsistent": "training.fit is .*'batches': 20.*; expected consistent positive",
    "training-missing-field": r"training should have the fields \['batch', 'correct'",
    "training-correct-exceeds-seen": r"training.correct is 10000; expected an integer in \[0, 600",
    "checkpoint-without-optimizer": r"the metadata lacks the fields \['optimizer'\]",
}


def test_every_hostile_checkpoint_names_the_check_that_must_refuse_it():
    assert sorted(CHECKPOINT_REASONS) == sorted(HOSTILE_CHECKPOINTS)


@pytest.fixture(scope="module")
def valid_checkpoint(tmp_path_factory) -> bytes:
    return _checkpoint_bytes(tmp_path_factory.mktemp("checkpoint"))


def test_the_valid_checkpoint_loads(valid_checkpoint):
    header, document, payload = _parts(valid_checkpoint)
    checkpoint = gn.load_checkpoint(io.BytesIO(_assemble(header, document, payload)))
    assert (checkpoint.training_state.epoch, checkpoint.training_state.batch) == (0, 5)


@pytest.mark.parametrize("case", HOSTILE_CHECKPOINTS)
def test_hostile_checkpoint_raises_model_file_error(valid_checkpoint, case):
    header, document, payload = _parts(valid_checkpoint)
    data = _assemble(*HOSTILE_CHECKPOINTS[case](copy.deepcopy(header), document, payload))
    with pytest.raises(ModelFileError, match=CHECKPOINT_REASONS[case]):
        gn.load_checkpoint(io.BytesIO(data))


# Values a hostile writer may put in any JSON field: other types, extremes, deep or long values.


def test_every_json_field_of_a_checkpoint_with_hostile_values_loads_or_is_refused(
    valid_checkpoint,
):
    """Each field of the checkpoint's document, in turn, replaced by each hostile value."""
    header, document, payload = _parts(valid_checkpoint)
    paths = [path for path, _ in json_paths(document) if path]
    assert len(paths) > 50  # the walk reaches the nested fields, not only the top level
    outcomes = {"loaded": 0, "refused": 0}
    crashes: list[str] = []
    for index, path in enumerate(paths):
        # every third value per field, rotating, so each value meets a third of the fields
        for value in HOSTILE_VALUES[index % 3 :: 3]:
            data = _assemble(header, replaced(document, path, value), payload)
            try:
                gn.load_checkpoint(io.BytesIO(data))
            except ModelFileError as error:
                assert str(error).startswith("Cannot load"), (path, value, error)
                outcomes["refused"] += 1
            except Exception as error:  # any other exception is a bug: collected, reported
                crashes.append(f"{path} = {value!r:.40}: {type(error).__name__}: {error}")
            else:
                outcomes["loaded"] += 1
    assert not crashes, "\n".join(crashes)
    assert outcomes["refused"] > outcomes["loaded"] > 0, outcomes


# ---------------------------------------------------------------------- killed with SIGKILL


def _mnist_dir() -> Path:
    shared = Path(os.environ.get("GLASSNET_SHARED", REPO_ROOT.parent / "shared"))
    return shared / "data" / "mnist"


needs_mnist_and_posix = pytest.mark.skipif(
    os.name != "posix" or not (_mnist_dir() / "t10k-images-idx3-ubyte.gz").exists(),
    reason="needs POSIX signals and the real MNIST test set (set GLASSNET_SHARED)",
)


def _run_worker(tmp_path: Path, mode: str, *flags: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env["MKL_NUM_THREADS"] = "1"
    command = [sys.executable, str(WORKER), str(_mnist_dir()), str(tmp_path / "run.ckpt")]
    command += [str(tmp_path / f"{mode}.json"), mode, *flags]
    return subprocess.Popen(command, env=env, text=True, **popen)


def _result(tmp_path: Path, mode: str) -> dict:
    return json.loads((tmp_path / f"{mode}.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("uninterrupted")
    assert _run_worker(folder, "full").wait(120) == 0
    return _result(folder, "full")


# (event to act on, delay in seconds between letting the worker go on and killing it; None
# kills at once, while the worker waits). The worker saves after batches 7, 14... of each
# 40-batch epoch and at its end: save 6 is the first epoch's end.
KILL_POINTS = {
    "right-after-the-first-save": ("saved 1", None),
    "mid-epoch-while-training": ("saved 3", 0.002),
    "at-an-epoch-end": ("saved 6", None),
    "in-the-second-epoch-while-training": ("saved 9", 0.003),
    "in-the-middle-of-a-save": ("replacing 11", None),
    "in-the-last-epoch": ("saved 16", 0.001),
}


@needs_mnist_and_posix
@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkilled_run_resumed_from_its_checkpoint_is_bit_identical(tmp_path, uninterrupted, point):
    target, delay = KILL_POINTS[point]
    flags = ("--pause",) if target.startswith("replacing") else ()
    worker = _run_worker(tmp_path, "train", *flags, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert worker.stdin is not None and worker.stdout is not None
    try:
        for line in worker.stdout:
            if line.strip() != target:
                worker.stdin.write("\n")
                worker.stdin.flush()
                continue
            if delay is not None:  # let it train on, then kill it wherever it is
                worker.stdin.write("\n")
                worker.stdin.flush()
                time.sleep(delay)
            worker.send_signal(signal.SIGKILL)
            break
    finally:
        worker.wait(60)
    assert worker.returncode == -signal.SIGKILL, f"the worker was not killed at {target!r}"
    # A kill inside a save leaves its temporary file (always with --pause; by chance otherwise).
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(leftovers) == 1 if flags else len(leftovers) <= 1

    assert _run_worker(tmp_path, "resume").wait(120) == 0

    resumed = _result(tmp_path, "resume")
    assert resumed["weights"] == uninterrupted["weights"]  # bit for bit
    assert resumed["history"] == uninterrupted["history"]
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


@pytest.fixture(scope="module")
def uninterrupted_cnn(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("uninterrupted_cnn")
    assert _run_worker(folder, "full", "--cnn").wait(120) == 0
    return _result(folder, "full")


@needs_mnist_and_posix
@pytest.mark.slow
@pytest.mark.parametrize("point", ["mid-epoch-while-training", "in-the-middle-of-a-save"])
def test_a_sigkilled_cnn_with_batchnorm_resumes_bit_identically(tmp_path, uninterrupted_cnn, point):
    """Issue 11: conv weights, BatchNorm's running statistics (buffers) and the augmentation's
    random stream all come back from the checkpoint exactly."""
    target, delay = KILL_POINTS[point]
    flags = ("--cnn", "--pause") if target.startswith("replacing") else ("--cnn",)
    worker = _run_worker(tmp_path, "train", *flags, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert worker.stdin is not None and worker.stdout is not None
    try:
        for line in worker.stdout:
            if line.strip() != target:
                worker.stdin.write("\n")
                worker.stdin.flush()
                continue
            if delay is not None:
                worker.stdin.write("\n")
                worker.stdin.flush()
                time.sleep(delay)
            worker.send_signal(signal.SIGKILL)
            break
    finally:
        worker.wait(60)
    assert worker.returncode == -signal.SIGKILL, f"the worker was not killed at {target!r}"
    assert _run_worker(tmp_path, "resume", "--cnn").wait(120) == 0
    resumed = _result(tmp_path, "resume")
    assert resumed["weights"] == uninterrupted_cnn["weights"]  # bit for bit, buffers included
    assert resumed["history"] == uninterrupted_cnn["history"]
