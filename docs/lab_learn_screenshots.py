"""Make the README's pictures of the lab's learning views (issue 13):

- docs/lab-backward.png: a drawn 3 labelled "3", the network coloured by δ and ∂L/∂w, one
  weight's chain rule open;
- docs/lab-steps.png: a step-by-step run played for a while, a neuron's weights before and
  after, and the sigmoid vs ReLU gradient-health comparison;
- docs/lab-xor.png: XOR learnt by a hidden layer, its decision boundary.

    python docs/lab_learn_screenshots.py [DATA_DIR]     # DATA_DIR holds mnist/ (default:
                                                        # ../shared/data)

Needs the lab and test extras and Debian's chromium.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import uvicorn
from PIL import Image
from playwright.sync_api import sync_playwright

import glassnet as gn
from glassnet import datasets
from glassnet.lab import server

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IDLE = "window.lab.learnIdle()"

# A "3" as two pen strokes, in units of the pad's side (0 to 1), as in lab_screenshot.py.
TOP = [(0.30, 0.22), (0.42, 0.15), (0.58, 0.15), (0.68, 0.23), (0.66, 0.35), (0.50, 0.46)]
BOTTOM = [(0.50, 0.46), (0.66, 0.52), (0.72, 0.65), (0.66, 0.79), (0.50, 0.85), (0.30, 0.80)]


def trained_model(data_dir: Path) -> gn.Sequential:
    data = datasets.load("mnist", "test", data_dir, download=False)
    model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    model.fit(data.X[:8000], data.labels[:8000], epochs=5, learning_rate=0.005, seed=0)
    model.class_names = [str(i) for i in range(10)]
    model.preprocessing = {"kind": "image", "image_size": [28, 28], "color": "grayscale",
                           "scale": 1 / 255, "mnist_centering": True}  # fmt: skip
    return model


def save(locator, name: str) -> None:
    path = DOCS / name
    locator.screenshot(path=str(path))
    # 256 colours keep every colour of the page and a third of the bytes.
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
        path, optimize=True
    )
    print(f"{path}: {path.stat().st_size // 1024} KB")


def _page_box(page, selector: str) -> tuple[int, int, int, int]:
    """The element's box in full-page pixels (left, top, right, bottom)."""
    box = page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY]; }",
        selector,
    )
    return tuple(round(v) for v in box)


def main(data_dir: Path) -> None:
    app = server.create_app(
        trained_model(data_dir), ROOT / "test-output" / "models", model_name="784-16-16-10, MNIST",
        data_dir=data_dir,
    )  # fmt: skip
    sock = server.listen("127.0.0.1", 0)
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not uv.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"]
        )
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, bypass_csp=True)
        page.goto(url)
        page.wait_for_function("window.lab && window.lab.learn && " + IDLE)
        box = page.locator("#pad").bounding_box()
        for stroke in (TOP, BOTTOM):
            points = np.array(stroke) * box["width"] + [box["x"], box["y"]]
            page.mouse.move(*points[0])
            page.mouse.down()
            for a, b in zip(points[:-1], points[1:], strict=True):
                for t in np.linspace(0, 1, 8)[1:]:
                    page.mouse.move(*(a + (b - a) * t))
            page.mouse.up()
        page.wait_for_function(IDLE + " && window.lab.last && !window.lab.last.blank")
        page.locator('#b-labels button[data-label="3"]').click()
        page.wait_for_function("window.lab.learn.backward !== null && " + IDLE)
        page.locator('#net .grad-links line[data-parameter="dense_1.W"]').last.click(force=True)
        page.wait_for_function("window.lab.learn.explained !== null && " + IDLE)
        page.mouse.move(0, 0)
        # the network card above the backward card, one picture
        full = DOCS / "lab-backward.png"
        page.screenshot(path=str(full), full_page=True)
        shot = Image.open(full).convert("RGB")
        parts = [
            shot.crop(_page_box(page, selector)) for selector in (".net-card", "#backward-card")
        ]
        width = max(part.width for part in parts)
        picture = Image.new("RGB", (width, sum(part.height for part in parts) + 8), "#f4f5f8")
        picture.paste(parts[0], (0, 0))
        picture.paste(parts[1], (0, parts[0].height + 8))
        picture.quantize(256, dither=Image.Dither.NONE).save(full, optimize=True)
        print(f"{full}: {full.stat().st_size // 1024} KB")

        page.locator("#s-start").click()
        page.wait_for_function("window.lab.learn.steps && " + IDLE)
        page.locator('#net .neuron[data-layer="0"][data-index="4"]').click()
        page.wait_for_function(IDLE)
        page.locator("#s-play").click()
        page.wait_for_function("window.lab.learn.steps.steps >= 60", timeout=120_000)
        page.locator("#s-play").click()
        page.wait_for_function("!window.lab.learn.playing && " + IDLE)
        page.locator("#h-compare").click()
        page.wait_for_function("window.lab.learn.compare !== null && " + IDLE, timeout=60_000)
        save(page.locator("#steps-card"), "lab-steps.png")

        page.locator("#toy-dataset").select_option("xor")
        page.locator("#toy-hidden").fill("8")
        page.locator("#toy-start").click()
        page.wait_for_function("window.lab.learn.toy && " + IDLE)
        page.locator("#toy-play").click()
        page.wait_for_function(
            "Number(document.getElementById('toy-status').dataset.accuracy) > 0.97",
            timeout=60_000,
        )
        page.locator("#toy-play").click()
        page.wait_for_function("!window.lab.learn.toyPlaying && " + IDLE)
        save(page.locator("#toy-card"), "lab-xor.png")
        browser.close()
    uv.should_exit = True


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
