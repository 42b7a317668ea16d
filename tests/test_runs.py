"""Runs you can trust and revisit (issue 14), on real Fashion-MNIST: per-epoch checkpoints,
branches, receipts and ``glassnet verify``, learning maps, ``glassnet compare``, bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

import glassnet as gn  # noqa: E402
from cli_runs import needs_fashion, run, weights  # noqa: E402
from glassnet import datasets, io  # noqa: E402
from glassnet.cli import app  # noqa: E402

pytestmark = needs_fashion
SMALL = ["fashion-mnist", "--limit", "1500", "--hidden", "24", "--activation", "relu"]


def history(run_dir: Path) -> dict:
    return json.loads((run_dir / "history.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def parent(runs) -> Path:
    out = runs / "parent"
    code, _, stderr = run("train", *SMALL, "--epochs", "3", "--map", "--out", str(out))
    assert code == 0, stderr
    return out


def test_a_run_keeps_a_checkpoint_per_epoch_and_a_receipt(parent):
    assert io.epoch_checkpoints(parent / "checkpoints") == [1, 2, 3]
    receipt = json.loads((parent / "receipt.json").read_text())
    assert receipt["numpy"] == np.__version__ and receipt["glassnet"] == gn.__version__
    assert receipt["blas"]["threads"] >= 1 and receipt["python"]
    assert receipt["seed"] == 0 and receipt["config"]["hidden"] == "24"
    assert receipt["data"]["train_samples"] == 1500 and len(receipt["data"]["train_sha256"]) == 64
    last = io.load_checkpoint(io.epoch_checkpoint_path(parent / "checkpoints", 3))
    np.testing.assert_array_equal(last.model.get_weights(), weights(parent))


def test_the_learning_map_files_rank_every_training_example(parent):
    for name in ("map.png", "hard.png", "map.npz"):
        assert (parent / name).stat().st_size > 0
    with open(parent / "hard.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 1350  # the 90% trained on (validation_split 0.1)
    assert {"index", "label", "predicted", "confidence", "variability"} <= set(rows[0])
    assert sorted(int(r["index"]) for r in rows) == list(range(1350))
    labels = datasets.load("fashion-mnist", "train").labels[:1350]
    names = gn.load(parent / "model.glassnet").class_names
    assert all(r["label"] == names[labels[int(r["index"])]] for r in rows)
    confidence = [float(r["confidence"]) for r in rows]
    assert min(confidence[:50]) < max(confidence[-50:])  # the hardest first
    (parent / "map.png").unlink()
    code, stdout, _ = run("map", str(parent))
    assert code == 0 and (parent / "map.png").is_file() and "map.png" in stdout


def test_a_branch_without_changes_is_bit_identical_and_one_with_changes_follows_them(parent, runs):
    same, faster = runs / "same", runs / "faster"
    assert run("train", "--from", str(parent), "--at-epoch", "1", "--out", str(same))[0] == 0
    np.testing.assert_array_equal(weights(same), weights(parent))
    assert history(same) == history(parent)
    code, _, stderr = run(
        "train", "--from", str(parent), "--at-epoch", "2", "--lr", "0.01", "--epochs", "4",
        "--out", str(faster),
    )  # fmt: skip
    assert code == 0, stderr
    branched = history(faster)
    assert branched["loss"][:2] == history(parent)["loss"][:2]  # bit-identical up to K
    assert branched["loss"][2] != history(parent)["loss"][2] and len(branched["loss"]) == 4
    receipt = json.loads((faster / "receipt.json").read_text())
    assert receipt["segments"][-1]["parent"] == {"run": str(parent), "epoch": 2}
    assert io.epoch_checkpoints(faster / "checkpoints") == [3, 4]

    result = CliRunner().invoke(app, ["--json", "compare", str(parent), str(same), str(faster),
                                      "--out", str(runs / "compare.png")])  # fmt: skip
    assert result.exit_code == 0 and (runs / "compare.png").stat().st_size > 0
    table = json.loads(result.stdout.splitlines()[-1])["runs"]
    assert [row["branch of"] for row in table] == ["-", "parent @ 1", "parent @ 2"]
    assert table[1]["loss"] == table[0]["loss"] != table[2]["loss"]

    # glassnet verify retrains a branch from scratch, through its parent's segment
    code, stdout, _ = run("verify", str(faster))
    assert code == 0 and stdout.strip().startswith("identical")


def test_a_branch_that_changes_the_optimizer_says_it_starts_fresh(parent, runs):
    """The parent trained with adam (relu's default); a branch to sgd cannot carry adam's
    moments over: it trains, says so in one line and in its receipt, and verifies."""
    out = runs / "to-sgd"
    code, _, stderr = run(
        "train", "--from", str(parent), "--at-epoch", "2", "--optimizer", "sgd", "--lr", "0.01",
        "--epochs", "3", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert "note: the optimizer changes from adam to sgd at epoch 2" in stderr
    assert "fresh state" in stderr and stderr.count("\n") == 1
    receipt = json.loads((out / "receipt.json").read_text())
    assert receipt["segments"][-1]["optimizer_state"] == "fresh"
    assert history(out)["loss"][:2] == history(parent)["loss"][:2]
    code, stdout, _ = run("verify", str(out))
    assert code == 0 and stdout.strip().startswith("identical")
    same = runs / "same-optimizer"  # the same type keeps the parent's state, and says nothing
    code, _, stderr = run("train", "--from", str(parent), "--at-epoch", "2", "--out", str(same))
    assert code == 0 and "note:" not in stderr
    receipt = json.loads((same / "receipt.json").read_text())
    assert receipt["segments"][-1]["optimizer_state"] == "continued"


def test_verify_says_identical_and_refuses_data_that_no_longer_matches(parent, runs):
    code, stdout, _ = run("verify", str(parent))
    assert (code, stdout.strip().split(" (")[0]) == (0, "identical")
    changed = runs / "changed"
    shutil.copytree(parent, changed)
    receipt = json.loads((changed / "receipt.json").read_text())
    receipt["segments"][0]["options"]["limit"] = 1400  # other data than the run trained on
    (changed / "receipt.json").write_text(json.dumps(receipt))
    code, stdout, stderr = run("verify", str(changed))
    assert code == 1 and stderr.count("\n") == 1
    assert stderr.startswith("error: The data no longer matches the receipt")
    receipt = json.loads((parent / "receipt.json").read_text())
    receipt["weights_sha256"] = "0" * 64  # weights that differ from the receipt's
    (changed / "receipt.json").write_text(json.dumps(receipt))
    code, stdout, _ = run("verify", str(changed))
    assert code == 1 and stdout.startswith("different") and "largest weight difference 0" in stdout


def test_keep_limits_the_checkpoints(runs):
    out = runs / "kept"
    assert run("train", *SMALL, "--epochs", "3", "--keep", "2", "--out", str(out))[0] == 0
    assert io.epoch_checkpoints(out / "checkpoints") == [2, 3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "{runs}/nowhere", "--at-epoch", "1"], "No run directory at"),
        (["--from", "{parent}", "--at-epoch", "9"], "has no checkpoint for epoch 9"),
        (["--from", "{parent}"], "--from needs --at-epoch"),
        (["--at-epoch", "2"], "--at-epoch needs --from"),
        (["--from", "{parent}", "--at-epoch", "1", "--hidden", "64"], "--hidden cannot change"),
        (["--from", "{parent}", "--at-epoch", "1", "--batch-size", "8"], "--batch-size cannot"),
        (["--from", "{parent}", "--at-epoch", "2", "--epochs", "2"], "leaves nothing to train"),
        (["--from", "{damaged}", "--at-epoch", "1"], "damaged"),
        (["--from", "{broken}", "--at-epoch", "1"], "is damaged"),
    ],
)
def test_bad_branches_are_one_error_line_and_write_nothing(parent, runs, args, message):
    damaged = runs / "damaged"  # a receipt that is not JSON
    if not damaged.exists():
        shutil.copytree(parent, damaged)
        (damaged / "receipt.json").write_text("{not json")
    broken = runs / "broken"  # a truncated checkpoint
    if not broken.exists():
        shutil.copytree(parent, broken)
        checkpoint = io.epoch_checkpoint_path(broken / "checkpoints", 1)
        checkpoint.write_bytes(checkpoint.read_bytes()[:500])
    out = runs / "not-written"
    filled = [a.format(runs=runs, parent=parent, damaged=damaged, broken=broken) for a in args]
    code, _, stderr = run("train", *filled, "--out", str(out))
    assert code == 1 and stderr.startswith("error: ") and stderr.count("\n") == 1
    assert message in stderr
    assert not out.exists()


def test_map_compare_and_verify_refuse_what_is_not_a_run(parent, runs):
    plain = runs / "plain"
    plain.mkdir()
    for args, message in [
        (["map", str(plain)], "has no learning map"),
        (["map", str(runs / "nowhere")], "No run directory"),
        (["verify", str(plain)], "has no receipt.json"),
        (["compare", str(parent), str(plain), "--out", str(runs / "c.png")], "no history.json"),
    ]:
        code, _, stderr = run(*args)
        assert code == 1 and stderr.startswith("error: ") and message in stderr, stderr
    assert not (runs / "c.png").exists()


def test_epoch_checkpoints_branch_from_python(tmp_path):
    """The same from Python: resume an epoch's checkpoint with a changed learning rate."""
    data = datasets.load("fashion-mnist", "train")
    X, y = data.X[:600], data.labels[:600]
    model = gn.MLP([784, 16, 10], activation="relu", output="softmax", seed=0)
    model.fit(X, y, epochs=3, optimizer="adam", seed=0,
              callbacks=[io.EpochCheckpoints(tmp_path)])  # fmt: skip
    checkpoint = io.load_checkpoint(io.epoch_checkpoint_path(tmp_path, 1))
    checkpoint.resume(X, y, seed=0)  # unchanged: the same weights as the whole run
    np.testing.assert_array_equal(checkpoint.model.get_weights(), model.get_weights())
    branch = io.load_checkpoint(io.epoch_checkpoint_path(tmp_path, 1))
    branch.optimizer.learning_rate = 0.01
    branch.resume(X, y, seed=0)
    assert not np.array_equal(branch.model.get_weights(), model.get_weights())
