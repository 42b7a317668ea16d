"""End to end in Chromium (issue 13): draw, label, open a weight's chain rule, step, undo, play,
the sigmoid vs ReLU comparison and XOR's decision boundary. Waits on conditions only."""

from __future__ import annotations

import numpy as np
import pytest
from lab_helpers import OUTPUT
from test_lab_browser import browser, draw, running  # noqa: F401  (fixtures)

IDLE = "window.lab.learnIdle()"


@pytest.fixture
def page(browser, running):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, bypass_csp=True)
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    tab.goto(running.url + "/")
    tab.wait_for_function("window.lab && window.lab.model && window.lab.learn && " + IDLE)
    yield tab
    context.close()


def _fills(page, layer):
    return page.evaluate(
        f'[...document.querySelectorAll(\'#net .neuron[data-layer="{layer}"] circle, '
        f"#net .neuron[data-layer=\"{layer}\"] rect')].map(e => e.getAttribute('fill'))"
    )


@pytest.mark.slow
def test_backward_view_chain_rule_and_stepping_in_chromium(page, digit, lab_model):
    OUTPUT.mkdir(exist_ok=True)
    draw(page, digit)
    page.wait_for_function(IDLE + " && window.lab.last && !window.lab.last.blank")
    forward_fills = _fills(page, 2)

    # label the drawing: the loss, neurons coloured by δ, connections by ∂L/∂w
    page.locator('#b-labels button[data-label="3"]').click()
    page.wait_for_function("window.lab.learn.backward !== null && " + IDLE)
    backward = page.evaluate("window.lab.learn.backward")
    p3 = backward["output"][3]
    assert backward["loss"] == pytest.approx(-np.log(p3), rel=1e-5)
    assert "loss L = −log p" in page.locator("#b-loss").inner_text()
    assert _fills(page, 2) != forward_fills
    assert page.locator("#net .grad-links line").count() > 100

    # open one weight's chain rule
    line = page.locator('#net .grad-links line[data-parameter="dense_1.W"]').last
    parameter, index = line.get_attribute("data-parameter"), line.get_attribute("data-index")
    line.click(force=True)
    page.wait_for_function("window.lab.learn.explained !== null && " + IDLE)
    explained = page.evaluate("window.lab.learn.explained")
    assert explained["parameter"] == parameter
    assert explained["index"] == [int(k) for k in index.split(",")]
    assert abs(explained["value_float64"] - explained["finite_difference"]) < 1e-6
    formula = page.locator("#b-formula").inner_text()
    assert "aᵢ·δⱼ" in formula and "finite difference" in formula
    # a neuron: its bias's chain rule, ∂L/∂b = δ
    page.locator('#net .neuron[data-layer="2"][data-index="3"]').click()
    page.wait_for_function("window.lab.learn.explained.parameter === 'dense_2.b' && " + IDLE)
    assert "∂L/∂b[3] = δⱼ" in page.locator("#b-formula").inner_text()
    page.screenshot(path=str(OUTPUT / "lab-backward.png"), full_page=True)

    # step, undo, play on a fresh network; the page's model and prediction follow
    page.locator("#s-lr").fill("0.5")
    page.locator("#s-start").click()
    page.wait_for_function(
        "window.lab.learn.steps && window.lab.learn.steps.steps === 0 && " + IDLE
    )
    page.locator('#net .neuron[data-layer="0"][data-index="4"]').click()
    page.wait_for_function(IDLE)
    output0 = page.evaluate("window.lab.last.output")
    page.locator("#s-step").click()
    page.wait_for_function("window.lab.learn.steps.steps === 1 && " + IDLE)
    step = page.evaluate("window.lab.learn.steps")
    assert step["neuron"]["before"] != step["neuron"]["after"]
    assert page.locator("#s-neuron-body canvas").count() == 3
    assert page.evaluate("window.lab.last.output") != output0
    page.locator("#s-undo").click()
    page.wait_for_function("window.lab.learn.steps.steps === 0 && " + IDLE)
    assert page.evaluate("window.lab.last.output") == output0  # bit for bit
    before = page.evaluate("window.lab.predictions")
    page.locator("#s-play").click()
    page.wait_for_function("window.lab.learn.steps.steps >= 8", timeout=60_000)
    page.locator("#s-play").click()  # pause
    page.wait_for_function("!window.lab.learn.playing && " + IDLE)
    assert page.evaluate("window.lab.predictions") >= before + 4  # the prediction kept updating
    assert "step by step" in page.locator("#model-name").inner_text()
    # the comparison, one click
    page.locator("#h-compare").click()
    page.wait_for_function("window.lab.learn.compare !== null && " + IDLE, timeout=60_000)
    assert "larger" in page.locator("#h-status").inner_text()
    compare = page.evaluate("window.lab.learn.compare")
    assert (
        compare["sigmoid"]["grad_norm"]["dense_0"][0] < compare["relu"]["grad_norm"]["dense_0"][0]
    )
    page.locator("#steps-card").screenshot(path=str(OUTPUT / "lab-steps.png"))
    assert page.problems == []


def test_xor_needs_a_hidden_layer_in_chromium(page):
    page.locator("#toy-dataset").select_option("xor")
    page.locator("#toy-hidden").fill("")
    page.locator("#toy-start").click()
    page.wait_for_function("window.lab.learn.toy && " + IDLE)
    for _ in range(5):
        page.locator("#toy-step").click()
        page.wait_for_function(IDLE)
    assert float(page.locator("#toy-status").get_attribute("data-accuracy")) < 0.8
    page.locator("#toy-hidden").fill("8")
    page.locator("#toy-start").click()
    page.wait_for_function("window.lab.learn.toy.steps === 0 && " + IDLE)
    page.locator("#toy-play").click()
    page.wait_for_function(
        "Number(document.getElementById('toy-status').dataset.accuracy) > 0.95", timeout=60_000
    )
    page.locator("#toy-play").click()
    page.wait_for_function("!window.lab.learn.toyPlaying && " + IDLE)
    assert "XOR" in page.locator("#toy-status").inner_text()
    assert page.problems == []


def _poll(page, condition: str, tries: int = 400):
    """Poll from Python: the page's policy forbids Playwright's own polling (which evaluates
    strings)."""
    for _ in range(tries):
        if page.evaluate(condition):
            return
        page.wait_for_timeout(25)
    raise AssertionError(f"Timed out waiting for {condition}")


@pytest.mark.slow
def test_the_learning_views_work_under_the_content_security_policy(browser, running, digit):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    problems = []
    tab.on("console", lambda m: m.type == "error" and problems.append(m.text))
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.goto(running.url + "/")
    _poll(tab, "window.lab && window.lab.learn && window.lab.model && " + IDLE)
    draw(tab, digit[:14])
    _poll(tab, "window.lab.last && !window.lab.last.blank && " + IDLE)
    tab.locator('#b-labels button[data-label="3"]').click()
    _poll(tab, "window.lab.learn.backward !== null && " + IDLE)
    tab.locator("#net .grad-links line").last.click(force=True)
    _poll(tab, "window.lab.learn.explained !== null && " + IDLE)
    tab.locator("#toy-start").click()
    _poll(tab, "window.lab.learn.toy !== null && " + IDLE)
    tab.locator("#toy-step").click()
    _poll(tab, "window.lab.learn.toy.steps === 10 && " + IDLE)
    assert problems == []
    context.close()
