"""Data-parallel training over a real MPI (issue 16): ``mpiexec -n 2`` on the MNIST test set.

Every test launches real processes with Open MPI's ``mpiexec`` (installed by ``make
system-packages``) and one BLAS thread per rank, so each process computes the same bits. The
worker script, ``mpi_worker.py``, trains 2,001 digits in batches of 64 through a network with
dropout: the last global batch has 17 samples, split 8 / 9 between two ranks (the uneven case,
weighted by shard size), and every rank draws the global batch's dropout masks.

Measured: one process and two ranks with the same global batch differ by at most ~3e-7 in any
weight after three epochs (float32 rounding: the two halves' gradients are summed in another
order); the tolerance below is 1e-5.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from digit_data import mnist_folder
from glassnet import Augment, Dropout, load_checkpoint

HERE = Path(__file__).resolve().parent
WORKER = HERE / "mpi_worker.py"
MPIEXEC = shutil.which("mpiexec")

if MPIEXEC is None or shutil.which("ompi_info") is None:
    # CI installs Open MPI (make system-packages): there, a missing MPI is a failure, not a skip.
    if os.environ.get("CI"):
        raise RuntimeError("mpiexec (Open MPI) is missing: run make system-packages.")
    pytest.skip("Open MPI is not installed (apt-get install openmpi-bin)", allow_module_level=True)
pytest.importorskip("mpi4py")


def mpi_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        # The tests run as root in CI; Open MPI refuses that unless told it is intended.
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


def launch(n: int, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``mpiexec -n n ARGS`` (n = 1: the plain process, no MPI), bounded by ``timeout``."""
    command = [sys.executable, *args]
    if n > 1:
        command = [MPIEXEC, "-n", str(n), "--oversubscribe", *command]
    return subprocess.run(
        command, env=mpi_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def train(n: int, result: Path, mode: str, mnist_dir: Path, checkpoint: Path | None = None):
    args = [str(WORKER), str(mnist_dir), str(result), mode]
    if checkpoint is not None:
        args.append(str(checkpoint))
    return launch(n, *args)


def weights(path: Path | str) -> np.ndarray:
    return np.frombuffer(Path(path).read_bytes(), dtype=np.float32)


@pytest.fixture(scope="module")
def runs(mnist_dir, tmp_path_factory) -> Path:
    """One process, and two ranks twice, each training the same network the same way."""
    folder = tmp_path_factory.mktemp("mpi")
    for n, name in ((1, "one"), (2, "two"), (2, "again")):
        done = train(n, folder / name, "full", mnist_dir)
        assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.slow  # the fixture launches three trainings
def test_two_ranks_match_one_process_with_the_same_global_batch(runs):
    one, two = weights(runs / "one"), weights(runs / "two")
    assert one.shape == two.shape
    difference = float(np.abs(one - two).max())
    assert difference < 1e-5, difference
    history_one = json.loads((runs / "one.json").read_text())
    history_two = json.loads((runs / "two.json").read_text())
    # The logs are global: the loss and accuracy of all 2,001 samples, not of rank 0's half.
    np.testing.assert_allclose(history_two["loss"], history_one["loss"], rtol=1e-5)
    assert history_two["accuracy"] == history_one["accuracy"]


def test_the_weights_are_bit_identical_on_every_rank(runs):
    assert np.array_equal(weights(runs / "two"), weights(runs / "two.rank1"))


def test_the_same_ranks_and_seed_give_bit_identical_runs(runs):
    assert np.array_equal(weights(runs / "two"), weights(runs / "again"))


def test_a_resumed_run_under_mpi_is_exact(runs, mnist_dir, tmp_path):
    checkpoint = tmp_path / "fit.ckpt"
    stopped = train(2, tmp_path / "stopped", "stop", mnist_dir, checkpoint)
    assert stopped.returncode == 0, stopped.stderr
    assert not np.array_equal(weights(tmp_path / "stopped"), weights(runs / "two"))
    resumed = train(2, tmp_path / "resumed", "resume", mnist_dir, checkpoint)
    assert resumed.returncode == 0, resumed.stderr
    assert np.array_equal(weights(tmp_path / "resumed"), weights(runs / "two"))
    assert np.array_equal(weights(tmp_path / "resumed"), weights(tmp_path / "resumed.rank1"))
    assert json.loads((tmp_path / "resumed.json").read_text()) == json.loads(
        (runs / "two.json").read_text()
    )


def test_a_ctrl_c_on_one_rank_stops_every_rank_after_the_same_batch(runs, mnist_dir, tmp_path):
    # Rank 1 alone gets SIGINT after batch 10 of epoch 2, after that batch's status reduction:
    # its request travels in batch 11's, so both ranks stop after batch 11 (0-based), and
    # rank 0's checkpoint of the interrupted run resumes to the uninterrupted run's weights.
    checkpoint = tmp_path / "fit.ckpt"
    done = train(2, tmp_path / "interrupted", "interrupt", mnist_dir, checkpoint)
    assert done.returncode == 0, done.stderr
    batches_per_epoch = -(-2001 // 64)
    expected = {"batches": batches_per_epoch + 10 + 2, "interrupted": True}
    for suffix in ("", ".rank1"):
        stopped = json.loads((tmp_path / f"interrupted{suffix}.stop.json").read_text())
        assert stopped == expected, suffix
    assert np.array_equal(
        weights(tmp_path / "interrupted"), weights(tmp_path / "interrupted.rank1")
    )
    state = load_checkpoint(checkpoint).training_state
    assert (state.epoch, state.batch) == (1, 12)
    resumed = train(2, tmp_path / "resumed", "resume", mnist_dir, checkpoint)
    assert resumed.returncode == 0, resumed.stderr
    assert np.array_equal(weights(tmp_path / "resumed"), weights(runs / "two"))


@pytest.mark.parametrize(
    "layer",
    [Dropout(0.5), Augment(max_shift=2, horizontal_flip=True, max_rotation=15.0)],
    ids=["dropout", "augment"],
)
def test_a_shard_uses_its_rows_of_the_global_batch_draws(layer):
    # What one rank of a data-parallel step does (fit sets batch_shard): draw for the whole
    # global batch, keep rows [4, 10) — the very numbers one process uses for those rows, and
    # the generator ends in the same state, whichever rows a rank has.
    x = np.random.default_rng(1).random((10, 1, 6, 6), dtype=np.float32) + 0.5
    layer.rng = np.random.default_rng(0)
    whole = layer.forward(x, training=True)
    after = layer.rng.bit_generator.state
    layer.rng = np.random.default_rng(0)
    layer.batch_shard = (4, 10, 10)
    part = layer.forward(x[4:], training=True)
    assert np.array_equal(part, whole[4:])
    assert layer.rng.bit_generator.state == after
    grad = np.ones_like(part)
    assert np.array_equal(layer.backward(grad), backward_of_whole(layer, x, grad))


def backward_of_whole(layer, x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The gradient one process gets for rows [4, 10): the whole batch's, cut."""
    layer.rng, layer.batch_shard = np.random.default_rng(0), None
    layer.forward(x, training=True)
    whole_grad = np.zeros_like(x)
    whole_grad[4:] = grad
    return layer.backward(whole_grad)[4:]


def test_a_rank_killed_mid_training_ends_the_job_with_a_message(mnist_dir, tmp_path):
    # Rank 1 SIGKILLs itself in epoch 2; rank 0 waits for it in the status reduction, gets
    # the launcher's SIGTERM and says so. Bounded by launch's timeout: a hang fails the test.
    done = train(2, tmp_path / "killed", "kill", mnist_dir)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Rank 0 of 2: the MPI launcher ended the job" in output
    assert "another rank died" in output
    assert "exited on signal 9" in output  # mpiexec names the rank that was killed
    assert not (tmp_path / "killed").exists()


def test_an_error_on_one_rank_stops_every_rank_with_its_message(mnist_dir, tmp_path):
    done = train(2, tmp_path / "failed", "fail", mnist_dir)
    assert done.returncode != 0
    assert (
        "DistributedError: Rank 1 of 2 failed during training, so every rank stopped: "
        "TypeError" in done.stderr
    )
    assert not (tmp_path / "failed").exists()


@pytest.fixture(scope="module")
def digits_dir(mnist_dir, tmp_path_factory) -> Path:
    """An MNIST folder made of the real test set: 1,500 digits to train on, 1,000 to test."""
    return mnist_folder(mnist_dir, tmp_path_factory.mktemp("data"), 1500, 9000)


@pytest.mark.slow
def test_glassnet_train_under_mpiexec_trains_once_and_rank_0_writes(digits_dir, tmp_path):
    out = tmp_path / "run"
    args = ["-m", "glassnet.cli", "--json", "train", "mnist", "--data-dir", str(digits_dir)]
    done = launch(
        2,
        *args,
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--activation",
        "relu",
        "--out",
        str(out),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    # Rank 0 alone prints: two epoch lines and one summary, not one set per rank.
    assert [r["event"] for r in records] == ["epoch", "epoch", "done"]
    assert records[-1]["ranks"] == 2
    assert records[-1]["test"]["accuracy"] > 0.3  # it learned (chance: 0.1; 2 short epochs)
    assert (out / "model.glassnet").exists() and (out / "metrics.json").exists()


def json_records(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.mark.slow
def test_sigusr1_to_mpiexec_stops_every_rank_and_rank_0_saves_the_run(digits_dir, tmp_path):
    # Open MPI's mpiexec ends the job on SIGINT but passes SIGUSR1 on to every rank: once the
    # first epoch is reported, SIGUSR1 must end the 200-epoch run after one agreed batch (a
    # rank that went on would wait forever for the other, and the timeout would fail the test).
    out = tmp_path / "run"
    args = ["-m", "glassnet.cli", "--json", "train", "mnist", "--data-dir", str(digits_dir)]
    args += ["--epochs", "200", "--batch-size", "64", "--activation", "relu", "--out", str(out)]
    command = [MPIEXEC, "-n", "2", "--oversubscribe", sys.executable, *args]
    stderr_path = tmp_path / "stderr.txt"
    lines: queue.Queue[str | None] = queue.Queue()  # rank 0's output, line by line
    with open(stderr_path, "w") as stderr:
        job = subprocess.Popen(
            command, env=mpi_env(), stdout=subprocess.PIPE, stderr=stderr, text=True
        )

        def read() -> None:
            for line in job.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        seen: list[str] = []
        try:
            deadline = time.monotonic() + 60
            while not any(record["event"] == "epoch" for record in json_records(seen)):
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
                assert line is not None, "the job ended before its first epoch"
                seen.append(line)
            job.send_signal(signal.SIGUSR1)  # to mpiexec, which passes it on to both ranks
            returncode = job.wait(timeout=60)
        finally:
            job.kill()  # only if still running (a failed assert or a timeout)
        reader.join(timeout=10)
    while (line := lines.get_nowait()) is not None:
        seen.append(line)
    assert returncode == 0, stderr_path.read_text()
    done = json_records(seen)[-1]
    assert done["event"] == "done" and done["interrupted"] and done["ranks"] == 2
    assert 1 <= done["epochs"] < 200
    assert json.loads((out / "config.json").read_text())["interrupted"] is True
    assert (out / "model.glassnet").exists()


@pytest.mark.slow
def test_the_distributed_benchmark_runs_one_and_two_ranks(digits_dir, tmp_path):
    out = tmp_path / "distributed.json"
    script = str(HERE.parent / "benchmarks" / "distributed.py")
    args = [script, "--data", str(digits_dir / "mnist"), "--samples", "512", "--epochs", "1"]
    done = launch(1, *args, "--workloads", "wide", "--json", str(out), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| ranks | s / epoch | speed-up" in done.stdout
    results = json.loads(out.read_text())["workloads"]["wide"]
    one, two = results["rows"]
    assert (one["ranks"], two["ranks"]) == (1, 2)
    assert one["allreduce_ms_per_step"] == 0 and two["allreduce_ms_per_step"] > 0
    # the packed float32 gradient of 784-512-512-10: 669,706 parameters
    assert results["cost_model"]["bytes_per_allreduce"] == 4 * 669_706
    assert two["bandwidth_needed_GB_s"] > 0
