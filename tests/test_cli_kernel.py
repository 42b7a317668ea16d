"""``glassnet train --kernel``: the compiled training step from the shell, recorded and verified.

On real Fashion-MNIST (a small slice): ``--kernel auto`` takes numba's compiled step for the
default sigmoid network, ``--kernel numpy`` NumPy's reference code; the two agree to float
rounding, each repeats its own bits under ``glassnet verify``, and the receipt names numba's
version so that a rerun without it says why its weights differ.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
from cli_runs import needs_fashion, run, weights  # noqa: E402

pytestmark = needs_fashion
SMALL = ["fashion-mnist", "--limit", "1200", "--epochs", "2", "--schedule", "constant"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("numba")
    root = tmp_path_factory.mktemp("kernel-runs")
    made = {}
    for kernel in ("auto", "numpy"):
        made[kernel] = root / kernel
        code, _, stderr = run("train", *SMALL, "--kernel", kernel, "--out", str(made[kernel]))
        assert code == 0, stderr
    return made


def test_both_paths_train_the_same_network_to_float_rounding(runs):
    compiled, reference = weights(runs["auto"]), weights(runs["numpy"])
    # the compiled step sums in another order: not the same bits, the same numbers
    assert not np.array_equal(compiled, reference)
    np.testing.assert_allclose(compiled, reference, rtol=0, atol=1e-4)
    for kernel, run_dir in runs.items():
        config = json.loads((run_dir / "config.json").read_text())
        assert config["kernel"] == kernel


def test_each_path_repeats_its_bits_and_the_receipt_names_numba(runs, tmp_path):
    for run_dir in runs.values():
        code, stdout, _ = run("verify", str(run_dir))
        assert code == 0 and "identical" in stdout
    receipt_path = runs["auto"] / "receipt.json"
    receipt = json.loads(receipt_path.read_text())
    assert receipt["numba"] == metadata.version("numba")
    # a receipt made where another numba ran: verify names the difference
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for item in runs["auto"].iterdir():
        if item.is_file():
            (elsewhere / item.name).write_bytes(item.read_bytes())
    receipt["numba"] = "0.1.0"
    (elsewhere / "receipt.json").write_text(json.dumps(receipt))
    code, stdout, _ = run("verify", str(elsewhere))
    assert f"numba 0.1.0 → {metadata.version('numba')}" in stdout


def test_an_unknown_kernel_is_one_error_line_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    code, stdout, stderr = run("train", *SMALL, "--kernel", "cuda", "--out", str(out))
    assert code == 1
    assert stderr.strip().splitlines() == [
        "error: --kernel must be one of auto, numpy, numba; got 'cuda'."
    ]
    assert not out.exists()
