"""The lab's runs section (issue 14): runs and branches listed, a learning map, a clicked example.

The runs are real ``glassnet train --map`` runs on Fashion-MNIST; the page test clicks the map
in Debian's headless Chromium.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from lab_helpers import ServerThread
from starlette.testclient import TestClient
from test_lab_browser import browser  # noqa: F401  (the shared headless Chromium fixture)

from glassnet import datasets
from glassnet.lab import server

pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

from glassnet.cli import app as cli  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")
pytestmark = pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    small = ["fashion-mnist", "--limit", "800", "--hidden", "16", "--epochs", "2"]
    for args in (
        ["train", *small, "--map", "--out", str(runs / "mapped")],
        ["train", "--from", str(runs / "mapped"), "--at-epoch", "1", "--lr", "0.3", "--out",
         str(runs / "branch")],
    ):  # fmt: skip
        result = CliRunner().invoke(cli, ["-q", *args])
        assert result.exit_code == 0, result.stderr
    (runs / "not-a-run").mkdir()
    return runs


@pytest.fixture
def runs_client(runs_dir, model_dir):
    app = server.create_app(None, model_dir, runs_dir=runs_dir)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def test_runs_and_branches_are_listed(runs_client):
    runs = {run["name"]: run for run in runs_client.get("/api/runs").json()["runs"]}
    assert set(runs) == {"mapped", "branch"}
    assert runs["mapped"]["has_map"] and runs["mapped"]["parent"] is None
    assert (runs["branch"]["parent"], runs["branch"]["branched_at"]) == ("mapped", 1)
    assert runs["branch"]["epochs"] == 2 and not runs["branch"]["has_map"]


def test_the_map_and_an_example_are_served(runs_client):
    learning_map = runs_client.get("/api/runs/mapped/map").json()
    assert learning_map["examples"] == learning_map["shown"] == 720  # 90% of 800
    assert learning_map["rank"][:3] == [0, 1, 2]  # the hardest first
    assert len(learning_map["confidence"]) == 720 and "Shirt" in learning_map["class_names"]
    hardest = learning_map["index"][0]
    example = runs_client.get(f"/api/runs/mapped/examples/{hardest}").json()
    assert example["rank"] == 0 and example["image_shape"] == [28, 28]
    assert len(example["pixels"]) == 784
    assert example["confidence"] == pytest.approx(learning_map["confidence"][0], abs=1e-4)


def test_any_example_of_the_map_has_its_image_and_can_be_found_by_rank(runs_client, runs_dir):
    """The run keeps the 200 hardest inputs; the lab reads the others from Fashion-MNIST."""
    learning_map = runs_client.get("/api/runs/mapped/map").json()
    index = learning_map["index"][learning_map["rank"].index(500)]  # far beyond the kept 200
    example = runs_client.get("/api/runs/mapped/examples/500?by=rank").json()
    assert (example["index"], example["rank"], example["pixels_note"]) == (index, 500, None)
    train = datasets.load("fashion-mnist", "train")
    np.testing.assert_allclose(example["pixels"], train.X[index], atol=1e-4)
    assert (
        runs_client.get(f"/api/runs/mapped/examples/{index}").json()["pixels"]
        == (example["pixels"])
    )
    reply = runs_client.get("/api/runs/mapped/examples/0?by=size")
    assert reply.status_code == 400 and "by must be" in reply.json()["error"]


def test_an_example_whose_data_changed_has_no_image_and_says_why(runs_dir, model_dir, tmp_path):
    changed = tmp_path / "runs" / "changed"
    shutil.copytree(runs_dir / "mapped", changed)
    with np.load(changed / "map_examples.npz") as file:
        kept = dict(file)
    kept["X"] = 1.0 - kept["X"]  # not the rows of the Fashion-MNIST found here
    np.savez(changed / "map_examples.npz", **kept)
    app = server.create_app(None, model_dir, runs_dir=tmp_path / "runs")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        hardest = client.get("/api/runs/changed/examples/0?by=rank").json()
        assert hardest["pixels"] is not None  # kept in the run itself
        later = client.get("/api/runs/changed/examples/600?by=rank")
    assert later.status_code == 200 and later.json()["pixels"] is None
    assert "not what the run trained on" in later.json()["pixels_note"]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/runs/nowhere/map", 404, "No run 'nowhere'"),
        ("/api/runs/not-a-run/map", 404, "No run"),
        ("/api/runs/branch/map", 404, "has no learning map"),
        ("/api/runs/..%2Fetc/map", 404, ""),
        ("/api/runs/mapped/examples/99999", 404, "has 720"),
        ("/api/runs/mapped/examples/720?by=rank", 404, "No rank '720'"),
        ("/api/runs/mapped/examples/-1", 404, "No example"),
    ],
)
def test_bad_run_requests_get_a_clear_4xx(runs_client, path, status, message):
    reply = runs_client.get(path)
    assert reply.status_code == status and message in reply.json()["error"]


def test_clicking_the_map_shows_the_example(browser, runs_dir, model_dir):  # noqa: F811
    app = server.create_app(None, model_dir, runs_dir=runs_dir)
    with ServerThread(app) as running:
        context = browser.new_context(viewport={"width": 1440, "height": 1400}, bypass_csp=True)
        tab = context.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda error: problems.append(str(error)))
        tab.goto(running.url + "/")
        tab.click("button[data-run=mapped]")
        tab.wait_for_function("window.runsView && window.runsView.map !== null")
        # click where the hardest example is drawn
        x, y = tab.evaluate(
            "(() => { const m = window.runsView.map, c = document.getElementById('map-canvas');"
            " return toCanvas(c, m.variability[0], m.confidence[0]); })()"
        )
        tab.locator("#map-canvas").scroll_into_view_if_needed()  # mouse clicks need it on screen
        box = tab.locator("#map-canvas").bounding_box()
        tab.mouse.click(box["x"] + x * box["width"] / 420, box["y"] + y * box["height"] / 360)
        tab.wait_for_function("window.runsView.shown !== undefined")
        text = tab.inner_text("#example-text")
        shown = tab.evaluate("window.runsView.shown.rank")
        tab.click("#rank-easier")  # page on through the ranking, past the clicked example
        tab.wait_for_function(f"window.runsView.shown.rank === {shown + 1}")
        after = tab.evaluate("window.runsView.shown")
        context.close()
    assert "given" in text and "predicted" in text and "confidence" in text
    assert len(after["pixels"]) == 784 and after["index"] != -1
    assert problems == []
