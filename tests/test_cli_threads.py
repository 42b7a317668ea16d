"""``glassnet train --threads``: a CNN's batches split over threads from the shell (issue 11).

On real Fashion-MNIST (a small slice): ``--threads 2`` trains the same network as one thread to
float rounding, is recorded in the run's config and repeats its bits under ``glassnet verify``;
what it cannot split is refused with one ``error:`` line before any run directory exists.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("typer")
from cli_runs import needs_fashion, run, weights  # noqa: E402

pytestmark = needs_fashion
SMALL = ["fashion-mnist", "--arch", "conv4-pool-dense16", "--limit", "800", "--epochs", "2"]


def test_two_threads_train_like_one_and_verify_repeats_them(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for out, threads in ((one, "1"), (two, "2")):
        code, _, stderr = run("train", *SMALL, "--threads", threads, "--out", str(out))
        assert code == 0, stderr
    assert json.loads((two / "config.json").read_text())["threads"] == 2
    np.testing.assert_allclose(weights(two), weights(one), rtol=1e-4, atol=1e-5)
    code, stdout, stderr = run("verify", str(two))
    assert code == 0 and "identical" in stdout, stdout + stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threads", "2", "--map"], "--threads splits each batch inside one process"),
        (["--threads", "2", "--arch", "conv4-dropout0.5-dense16"],
         "--threads 2 cannot split this training: Dropout 'dropout_0'"),
        (["--threads", "0"], "--threads must be a whole number from 1 to 256, got 0."),
    ],
)  # fmt: skip
def test_what_threads_cannot_split_is_one_error_line_and_no_run(tmp_path, extra, message):
    out = tmp_path / "run"
    code, stdout, stderr = run("train", *SMALL, *extra, "--out", str(out))
    assert code != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
