"""Make docs/lab.png, the README's picture of the lab: a hand-drawn 3, a neuron open, a training.

    python docs/lab_screenshot.py [DATA_DIR]     # DATA_DIR holds mnist/ (default: ../shared/data)

Needs the lab and test extras and Debian's chromium. The page starts with an untrained
784-16-16-10 network, trains it from the page on MNIST, then shows the drawing through it.
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

from glassnet.lab import server

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "lab.png"

# A "3" as two pen strokes, in units of the pad's side (0 to 1).
TOP = [(0.30, 0.22), (0.42, 0.15), (0.58, 0.15), (0.68, 0.23), (0.66, 0.35), (0.50, 0.46)]
BOTTOM = [(0.50, 0.46), (0.66, 0.52), (0.72, 0.65), (0.66, 0.79), (0.50, 0.85), (0.30, 0.80)]


def main(data_dir: Path) -> None:
    app = server.create_app(None, ROOT / "test-output" / "models", data_dir=data_dir)
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
        page.wait_for_function("window.lab && window.lab.model && window.lab.idle()")
        page.locator("#t-start").click()  # the defaults: 16, 16 sigmoid, 5 epochs, 10,000 images
        page.wait_for_function(
            "document.getElementById('t-status').textContent.includes('Training finished')",
            timeout=120_000,
        )
        box = page.locator("#pad").bounding_box()
        for stroke in (TOP, BOTTOM):
            points = np.array(stroke) * box["width"] + [box["x"], box["y"]]
            page.mouse.move(*points[0])
            page.mouse.down()
            for a, b in zip(points[:-1], points[1:], strict=True):
                for t in np.linspace(0, 1, 8)[1:]:
                    page.mouse.move(*(a + (b - a) * t))
            page.mouse.up()
        page.wait_for_function("window.lab.idle() && window.lab.last && !window.lab.last.blank")
        page.locator('#net .neuron[data-layer="0"][data-index="3"]').click()
        page.wait_for_function("window.lab.neuron && window.lab.idle()")
        page.mouse.move(0, 0)
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()
    uv.should_exit = True
    # 256 colours keep every colour of the page and a third of the bytes.
    Image.open(OUT).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(OUT, optimize=True)
    print(f"{OUT}: {OUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
