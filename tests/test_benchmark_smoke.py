"""Smoke test of the benchmark script (issue 5): a --quick run produces every figure.

The real benchmark is not part of the test suite (`make bench` runs it); this only checks that
`benchmarks/run.py` runs end to end and reports positive numbers where numbers belong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (FASHION_MNIST / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)
def test_quick_benchmark_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), "--quick"]
    command += ["--peers", "glassnet", "--workloads", "seed", "--threads", "1", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| glassnet" in done.stdout  # the Markdown table
    results = json.loads(out.read_text())

    assert results["comparable_with_targets"] is False  # a quick run says so
    assert results["machine"]["threads"]["requested"] == 1
    assert results["matmul"]["peak_gflops"] > 0
    assert results["import_time"]["glassnet"]["seconds"] >= 0
    glassnet = results["workloads"]["seed"]["frameworks"]["glassnet"]
    assert glassnet["ratio_to_glassnet"] == 1.0
    assert len(glassnet["epoch_seconds"]) == 1
    for field in ("median_epoch_s", "gflops", "percent_of_peak", "latency_us", "throughput_per_s"):
        assert glassnet[field] > 0, field
    assert 0.0 < glassnet["test_accuracy"] <= 1.0
    assert glassnet["kernel"] in ("numba", "numpy")  # the path kernel="auto" took
    assert results["workloads"]["seed"]["matmul_on_shapes"]["floor_epoch_s"] > 0
    assert results["kernels"]["compile_cost"] is None  # measured in full runs only
    memory = glassnet["memory"]
    assert memory["peak_training_mib"] >= memory["baseline_mib"] > 0
    statuses = {t["target"]: t["status"] for t in results["targets"]}
    assert statuses["seed: one-sample predict_proba latency"] in ("PASS", "MISS", "inconclusive")
    assert statuses["seed: PyTorch eager time per epoch ÷ glassnet's"] == "n/a"  # not run
    regression = "seed: without numba, no regression (NumPy path ÷ baseline glassnet)"
    assert statuses[regression] == "n/a"  # glassnet-numpy not run
