"""In Chromium: models that are not 28×28 digit classifiers, and the view while training.

Issue 17: a 64-input table model's column-named form and a 3×32×32 RGB model's picture upload
give the answer of ``glassnet predict`` and `glassnet.datasets.predict` on the same input, and
wide inputs are drawn legibly (no text overlapping text, nothing outside the picture, no column
of neurons running into the next). Issue 13: while a training started from the page runs, the
network view and the drawing's prediction follow the network being trained, with a
gradient-health chart.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from lab_helpers import OUTPUT, ServerThread
from test_lab_browser import browser, draw, settle  # noqa: F401 (browser: a fixture)

import glassnet as gn
from glassnet import datasets, io
from glassnet.lab import server

PIL = pytest.importorskip("PIL.Image", reason="pictures need Pillow (the image extra)")

NUMERIC = [f"sensor_reading_{k:02d}" for k in range(62)]  # + city (2 levels) = 64 inputs


def _table_model() -> gn.Sequential:
    """A regression model of 62 numeric columns and a text one, with its recipe (as the CLI)."""
    rng = np.random.default_rng(0)
    numbers = rng.normal(10, 3, (300, len(NUMERIC))).astype(np.float32)
    city = rng.choice(["Lyon", "Paris"], 300)
    rows = [
        dict(zip(NUMERIC, map(float, r), strict=True)) | {"city": c}
        for r, c in zip(numbers, city, strict=True)
    ]
    table = datasets.Table(
        np.zeros((300, 64), np.float32),
        np.zeros(300, np.float32),
        (*NUMERIC, "city=Lyon", "city=Paris"),
        "price",
        None,
        "regression",
        (*NUMERIC, "city"),
        {"city": ("Lyon", "Paris")},
    )
    encoded = np.column_stack([numbers, city == "Lyon", city == "Paris"]).astype(np.float32)
    price = (numbers[:, :4].sum(axis=1) * 100 + (city == "Paris") * 500).astype(np.float32)
    recipe = datasets.table_preprocessing(table, encoded, price)
    X = datasets.prepare_rows(recipe, rows)
    scaling = recipe["target_scaling"]
    model = gn.MLP([64, 12, 1], activation="relu", output="identity", seed=0)
    model.fit(X, (price - scaling["mean"]) / scaling["scale"], epochs=5, seed=0)
    datasets.fold_target_scaling(model, recipe)
    model.preprocessing = recipe
    return model


def _rgb_model() -> gn.Sequential:
    model = gn.MLP([32 * 32 * 3, 16, 3], activation="relu", seed=1)
    model.preprocessing = {"kind": "image", "image_size": [32, 32], "color": "rgb", "scale": 1.0}
    model.class_names = ["red", "green", "blue"]
    return model


def _cli_predict(model, path, folder) -> dict:
    """``glassnet --json predict`` on one input file."""
    io.save(model, folder / "model.glassnet")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "glassnet.cli",
            "--json",
            "predict",
            str(folder / "model.glassnet"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _open(chromium, model, folder, width=1100):
    app = server.create_app(model, folder / "models", model_name="wide")
    running = ServerThread(app).__enter__()
    context = chromium.new_context(viewport={"width": width, "height": 1000}, bypass_csp=True)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(running.url + "/")
    page.wait_for_function("window.lab && window.lab.model && window.lab.idle()")
    return running, context, page


LAYOUT = """() => {
  const net = document.getElementById("net");
  const [, , width, height] = net.getAttribute("viewBox").split(" ").map(Number);
  const texts = [...net.querySelectorAll("text")].filter((t) => t.textContent.trim())
    .map((t) => { const b = t.getBBox(); return [t.textContent, b.x, b.y, b.width, b.height]; });
  const columns = window.lab.layout.columns.map((c) => {
    const xs = c.at.map((p) => p[0]);
    const ys = c.at.map((p) => p[1]);
    return [Math.min(...xs) - c.r, Math.max(...xs) + c.r, Math.min(...ys) - c.r,
      Math.max(...ys) + c.r];
  });
  return { width, height, texts, columns };
}"""


def assert_legible(page) -> None:
    """No two labels overlap, every label and neuron is inside the picture, columns apart."""
    layout = page.evaluate(LAYOUT)
    width, height = layout["width"], layout["height"]
    texts = layout["texts"]
    for text, x, y, w, h in texts:
        assert x >= -0.5 and y >= -0.5 and x + w <= width + 0.5 and y + h <= height + 0.5, text
    for i, (a, ax, ay, aw, ah) in enumerate(texts):
        for b, bx, by, bw, bh in texts[i + 1 :]:
            apart = ax + aw <= bx + 1 or bx + bw <= ax + 1 or ay + ah <= by + 1 or by + bh <= ay + 1
            assert apart, f"{a!r} overlaps {b!r}"
    columns = layout["columns"]
    for left, right, top, bottom in columns:
        assert 0 <= left and right <= width and 0 <= top and bottom <= height
    for (_, right, _, _), (left, _, _, _) in zip(columns, columns[1:], strict=False):
        assert right < left, columns


@pytest.mark.slow
def test_a_64_input_table_model_by_its_form_matches_glassnet_predict(browser, tmp_path):  # noqa: F811
    model = _table_model()
    running, context, page = _open(browser, model, tmp_path)
    try:
        assert page.locator("#row-form [data-column]").count() == len(NUMERIC) + 1
        row = {name: round(8 + 0.1 * k, 2) for k, name in enumerate(NUMERIC)} | {"city": "Paris"}
        for name in NUMERIC:
            page.locator(f'#row-form [data-column="{name}"]').fill(str(row[name]))
        page.locator('#row-form [data-column="city"]').select_option("Paris")
        page.locator("#run-numbers").click()
        page.wait_for_function("window.lab.idle() && window.lab.last.input[0] !== 0")
        last = settle(page)
        with open(tmp_path / "row.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=[*NUMERIC, "city"])
            writer.writeheader()
            writer.writerow(row)
        cli = _cli_predict(model, tmp_path / "row.csv", tmp_path)
        assert last["output"][0] == pytest.approx(cli["value"], rel=1e-5)
        assert last["output"][0] == pytest.approx(
            float(datasets.predict(model, [row])[0]), rel=1e-5
        )
        assert float(page.locator("#prediction").inner_text()) == pytest.approx(
            cli["value"], rel=1e-3
        )
        assert_legible(page)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "lab-table-64.png"), full_page=True)
        assert page.problems == []
    finally:
        context.close()
        running.__exit__(None, None, None)


@pytest.mark.slow
def test_an_uploaded_picture_for_a_32x32_rgb_model_matches_glassnet_predict(browser, tmp_path):  # noqa: F811
    model = _rgb_model()
    running, context, page = _open(browser, model, tmp_path)
    try:
        photo = np.random.default_rng(2).integers(0, 256, (45, 60, 3), dtype=np.uint8)
        photo[:, :30, 0] = 250  # some structure: a red left half
        PIL.fromarray(photo, "RGB").save(tmp_path / "photo.png")
        page.locator("#upload").set_input_files(str(tmp_path / "photo.png"))
        page.wait_for_function("window.lab.idle() && window.lab.last.input.some((v) => v > 0)")
        last = settle(page)
        assert len(last["input"]) == 32 * 32 * 3
        cli = _cli_predict(model, tmp_path / "photo.png", tmp_path)
        assert last["prediction"] == cli["class"] and last["label"] == cli["name"]
        assert last["output"][cli["class"]] == pytest.approx(cli["probability"], rel=1e-5)
        expected = model.predict_proba(datasets.prepare_images(model.preprocessing, photo))[0]
        np.testing.assert_allclose(last["output"], expected, rtol=1e-5)
        assert page.locator("#prediction").inner_text() == cli["name"]
        # the input is drawn as the 32×32 colour picture the network sees, legibly
        assert page.evaluate("window.lab.layout.picture") == {
            "height": 32,
            "width": 32,
            "channels": 3,
        }
        assert_legible(page)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "lab-rgb-32.png"), full_page=True)
        assert page.problems == []
    finally:
        context.close()
        running.__exit__(None, None, None)


@pytest.mark.slow
def test_the_view_follows_the_network_being_trained(browser, lab_model, data_dir, tmp_path, digit):  # noqa: F811
    app = server.create_app(lab_model, tmp_path / "models", model_name="digits", data_dir=data_dir)
    with ServerThread(app) as running:
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, bypass_csp=True)
        page = context.new_page()
        problems = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("dialog", lambda dialog: dialog.dismiss())  # keep the page's model when stopped
        page.goto(running.url + "/")
        page.wait_for_function("window.lab && window.lab.model && window.lab.idle()")
        draw(page, digit)
        before = settle(page)
        page.locator("#t-hidden").fill("12")
        page.locator("#t-epochs").fill("50")
        page.locator("#t-samples").fill("10000")
        page.locator("#t-batch").fill("1")
        page.locator("#t-start").click()
        # without touching the drawing, its prediction follows snapshot after snapshot
        page.wait_for_function("window.lab.last && window.lab.last.live", timeout=30_000)
        first = page.evaluate("window.lab.last")
        page.wait_for_function(
            f"window.lab.last.live && window.lab.last.live.frame > {first['live']['frame'] + 1}",
            timeout=30_000,
        )
        later = page.evaluate("window.lab.last")
        assert later["output"] != first["output"]
        assert page.evaluate("window.lab.model.sizes") == [784, 12, 10]  # the network trained
        assert page.locator("#net .neuron").count() == 12 + 10
        assert page.locator("#model-name").inner_text().startswith("training")
        np.testing.assert_array_equal(later["input"], before["input"])  # the same drawing
        # gradient health: one line per layer, with its name in the key
        page.wait_for_function("document.querySelectorAll('#health-key .key').length === 2")
        keys = page.locator("#health-key .key").all_inner_texts()
        assert [k.split()[1] for k in keys] == ["dense_0", "dense_1"]
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "lab-training-live.png"), full_page=True)
        page.locator("#t-stop").click()
        page.wait_for_function("window.lab.model && !window.lab.model.live && window.lab.idle()")
        # stopped and not adopted: the page's own model and prediction are back
        assert page.evaluate("window.lab.model.sizes") == [784, 16, 16, 10]
        back = settle(page)
        assert back["output"] == pytest.approx(before["output"], rel=1e-6)
        assert problems == []
        context.close()
