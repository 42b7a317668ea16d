"""The lab's CNN view: /api/conv/maps and /api/conv/unit, bad input, a CNN trained from the page,
and the page in a real Chromium (draw, see the feature maps, open one, hover, read the formula)."""

from __future__ import annotations

import numpy as np
import pytest
from lab_helpers import drawing_of, packed, wait_for
from starlette.testclient import TestClient
from test_lab_browser import CHROMIUM_ARGS, browser, draw, settle  # noqa: F401 (fixtures)

import glassnet as gn
from glassnet.inspect import conv_unit
from glassnet.lab import server
from glassnet.lab.routes.train import training_config
from glassnet.models.architecture import build_cnn, describe

BASE_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def cnn_model(mnist_test) -> gn.Sequential:
    """conv4-pool-dense16 (ReLU), one short epoch on 2,000 real MNIST test digits."""
    X, y = mnist_test
    model = build_cnn("conv4-pool-dense16", (1, 28, 28), 10, "softmax", "relu", 0)
    model.fit(X[:2000].reshape(-1, 1, 28, 28), y[:2000], epochs=1, batch_size=32, seed=0)
    model.class_names = [str(i) for i in range(10)]
    model.preprocessing = {"kind": "image", "image_size": [28, 28], "color": "grayscale",
                           "scale": 1 / 255, "mnist_centering": True}  # fmt: skip
    return model


@pytest.fixture
def cnn_client(cnn_model, model_dir, data_dir):
    app = server.create_app(cnn_model, model_dir, model_name="cnn", data_dir=data_dir)
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def x(digit) -> np.ndarray:
    """The real digit as the network's input: 784 values in [0, 1] (float32)."""
    return (digit.reshape(-1) / 255).astype(np.float32)


def test_the_model_says_conv_and_predict_still_works(cnn_client, cnn_model, digit):
    info = cnn_client.get("/api/model").json()
    assert info["conv"] is True and info["image"] == {"height": 28, "width": 28}
    assert info["links"][0] == {"live": True, "shown": 0}  # the first dense reads maps, not pixels
    assert info["first_layer"]["kind"] == "conv" and info["first_layer"]["n_inputs"] == 9
    answer = cnn_client.post("/api/predict", json={"image": packed(drawing_of(digit))}).json()
    assert len(answer["input"]) == 784 and "live_links" not in answer
    x = np.asarray(answer["input"], np.float32)
    assert answer["prediction"] == int(cnn_model.predict(x.reshape(1, 1, 28, 28))[0])
    neuron = cnn_client.post("/api/neuron", json={"layer": 0, "index": 3, "input": answer["input"]})
    assert neuron.status_code == 200 and neuron.json()["picture"] is None


def test_maps_are_every_layers_output(cnn_client, cnn_model, x):
    answer = cnn_client.post("/api/conv/maps", json={"input": x.tolist()}).json()
    assert answer["input"]["shape"] == [1, 28, 28]
    layers = answer["layers"]
    assert [(la["type"], la["shape"]) for la in layers] == [
        ("Conv2D", [4, 26, 26]),
        ("ReLU", [4, 26, 26]),
        ("MaxPool2D", [4, 13, 13]),
    ]
    assert layers[0]["kernel_size"] == [3, 3] and layers[0]["padding"] == [0, 0, 0, 0]
    expected = [m.output for m in cnn_model.trace(x).maps[:3]]
    for layer, output in zip(layers, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(layer["values"], np.float32), output.ravel())


def test_a_conv_unit_is_inspect_conv_unit(cnn_client, cnn_model, x):
    answer = cnn_client.post(
        "/api/conv/unit", json={"layer": 0, "channel": 2, "i": 10, "j": 7, "input": x.tolist()}
    ).json()
    unit = conv_unit(cnn_model, 0, 2, 10, 7, x)
    assert answer["kind"] == "conv" and answer["formula"] == unit.formula()
    assert answer["z"] == unit.z and answer["a"] == unit.a == max(unit.z, 0.0)
    assert answer["rows"] == [10, 13] and answer["columns"] == [7, 10]
    np.testing.assert_array_equal(answer["kernel"], unit.kernel)
    np.testing.assert_array_equal(answer["window"], unit.window)
    assert answer["window"][0] == x.reshape(28, 28)[10:13, 7:10].tolist()
    assert answer["weighted_sum"] + answer["bias"] == pytest.approx(unit.z, rel=1e-5, abs=1e-6)


def test_pool_and_activation_units_show_their_window(cnn_client, cnn_model, x):
    maps = [m.output for m in cnn_model.trace(x).maps]
    pool = cnn_client.post(
        "/api/conv/unit", json={"layer": 2, "channel": 1, "i": 4, "j": 5, "input": x.tolist()}
    ).json()
    window = maps[1][1, 8:10, 10:12]
    assert pool["kind"] == "pool" and pool["op"] == "max"
    assert pool["window"] == window.tolist() and pool["value"] == float(window.max())
    relu = cnn_client.post(
        "/api/conv/unit", json={"layer": 1, "channel": 0, "i": 3, "j": 3, "input": x.tolist()}
    ).json()
    assert relu["kind"] == "activation" and relu["z"] == float(maps[0][0, 3, 3])
    assert relu["a"] == max(relu["z"], 0.0) and "relu(" in relu["formula"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"layer": 0, "channel": 4, "i": 0, "j": 0}, 422, "maps 0 to 3"),
        ({"layer": 0, "channel": 0, "i": 26, "j": 0}, 422, "(25, 25)"),
        ({"layer": 3, "channel": 0, "i": 0, "j": 0}, 422, "no feature maps"),  # Flatten
        ({"layer": 99, "channel": 0, "i": 0, "j": 0}, 422, "layer must be from 0"),
        ({"layer": "0", "channel": 0, "i": 0, "j": 0}, 422, "whole number"),
        ({"layer": 0, "channel": 0, "i": 0, "j": 0, "filter": 1}, 422, "Unknown keys"),
        ({"layer": 0, "channel": 0, "i": 0, "j": 0, "no input": 1}, 422, "Unknown keys"),
    ],
)
def test_bad_units_get_a_clear_4xx(cnn_client, x, body, status, words):
    answer = cnn_client.post("/api/conv/unit", json={**body, "input": x.tolist()})
    assert answer.status_code == status and words in answer.json()["error"]


def test_bad_maps_requests_get_a_clear_4xx(cnn_client, client):
    no_input = cnn_client.post("/api/conv/maps", json={})
    assert no_input.status_code == 422 and "Send an input" in no_input.json()["error"]
    short = cnn_client.post("/api/conv/maps", json={"input": [0.5] * 10})
    assert short.status_code == 422 and "784 input values" in short.json()["error"]
    huge = cnn_client.post("/api/conv/maps", json={"input": [1e300] * 784})
    assert huge.status_code == 422 and "values beyond ±1e+06" in huge.json()["error"]
    for path in ("/api/conv/maps", "/api/conv/unit"):  # an MLP has no maps
        mlp = client.post(
            path, json={"input": [0.0] * 784, "layer": 0, "channel": 0, "i": 0, "j": 0}
        )
        assert mlp.status_code == 409 and "no convolutional layers" in mlp.json()["error"]


@pytest.mark.parametrize(
    ("arch", "words"),
    [
        ("conv8-blob", "'blob' is not a layer"),
        ("conv0-pool", "needs a whole number"),
        ("pool99", "arch pool99"),
        ("conv8-pool0", "arch conv8-pool0"),
        ("conv9999", "too large"),
        ("conv128same-conv128same-dense512", "weights; the lab trains CNNs of up to"),
        ("conv8k40", "larger than the 28×28"),
        ("16-16", "such as conv8-pool-dense32"),
        (["conv8"], "short text"),
    ],
)
def test_bad_architectures_are_refused_before_training(client, arch, words):
    answer = client.post("/api/train", json={"arch": arch, "epochs": 1})
    assert answer.status_code == 422 and words in answer.json()["error"], answer.json()


def test_a_cnn_trains_from_the_page_with_live_curves(client):
    assert training_config({"arch": " "}).arch is None  # an empty field: an MLP as before
    settings = {"arch": "conv4-pool-dense16", "activation": "relu", "epochs": 1}
    settings |= {"samples": 600, "batch_size": 32, "learning_rate": 0.01}
    started = client.post("/api/train", json=settings)
    assert started.status_code == 202 and started.json()["config"]["arch"] == settings["arch"]
    status = wait_for(
        lambda: (s := client.get("/api/train").json())["status"] in ("done", "failed") and s,
        timeout=60,
    )
    assert status["status"] == "done", status["message"]
    assert status["epochs"][0]["val_accuracy"] > 0.3  # 540 digits, one epoch: well above 10%
    info = client.get("/api/model").json()
    assert info["conv"] is True and info["name"].startswith("conv4-pool-dense16-dense10 trained")
    maps = client.post("/api/conv/maps", json={"input": [0.0] * 784}).json()
    assert maps["layers"][0]["shape"] == [4, 26, 26]


def test_the_cli_parser_moved_and_still_answers_with_user_errors():
    from glassnet.cli.application import UserError
    from glassnet.cli.architecture import build_cnn as cli_build

    model = cli_build("conv4-pool-dense16", (1, 28, 28), 10, "softmax", "relu", 0)
    assert describe(model) == "conv4-pool-dense16-dense10"  # with the output layer
    with pytest.raises(UserError, match="--arch conv4-blob: 'blob' is not a layer"):
        cli_build("conv4-blob", (1, 28, 28), 10, "softmax", "relu", 0)


# ------------------------------------------------------------------------------ in Chromium


@pytest.fixture
def cnn_page(browser, cnn_model, model_dir, data_dir):  # noqa: F811 (the browser fixture)
    from lab_helpers import ServerThread

    app = server.create_app(cnn_model, model_dir, model_name="cnn", data_dir=data_dir)
    with ServerThread(app) as running:
        context = browser.new_context(viewport={"width": 1440, "height": 1400}, bypass_csp=True)
        tab = context.new_page()
        tab.problems = []
        tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
        tab.on("pageerror", lambda error: tab.problems.append(str(error)))
        tab.goto(running.url + "/")
        tab.wait_for_function("window.lab && window.lab.model && window.lab.idle()")
        yield tab
        context.close()


@pytest.mark.slow
def test_draw_see_feature_maps_open_one_and_read_its_formula_in_chromium(
    cnn_page, cnn_model, digit
):
    page = cnn_page
    assert page.locator("#cnn-card").is_visible()
    draw(page, digit)
    last = settle(page)
    assert not last["blank"]
    page.wait_for_function("window.lab.cnn.idle() && window.lab.cnn.maps !== null")
    maps = page.locator("#cnn-layers canvas.cnn-map")
    assert maps.count() == 4 + 4 + 4  # conv, ReLU, pool: 4 maps each
    page.locator('#cnn-layers canvas[data-layer="0"][data-channel="1"]').click()
    page.wait_for_function("window.lab.cnn.idle() && window.lab.cnn.unit !== null")
    assert page.locator("#cnn-unit").is_visible()
    # hover over the input at row 14, column 9 (of 28): the 3×3 window centred there, unit (13, 8)
    page.locator("#cnn-input").scroll_into_view_if_needed()
    box = page.locator("#cnn-input").bounding_box()
    page.mouse.move(
        box["x"] + (9 + 0.5) * box["width"] / 28, box["y"] + (14 + 0.5) * box["height"] / 28
    )
    page.wait_for_function(
        "window.lab.cnn.idle() && window.lab.cnn.unit && window.lab.cnn.unit.i === 13 "
        "&& window.lab.cnn.unit.j === 8"
    )
    unit = conv_unit(cnn_model, 0, 1, 13, 8, np.asarray(last["input"], np.float32))
    assert page.locator("#cnn-formula").text_content() == unit.formula()
    shown_z = float(page.locator("#cnn-z").text_content())
    assert shown_z == pytest.approx(unit.z, rel=1e-5, abs=1e-6)
    shown_a = float(page.locator("#cnn-a").text_content())
    assert shown_a == pytest.approx(unit.a, rel=1e-5, abs=1e-6)
    assert page.locator("#cnn-terms tr").count() == 1 + 9  # the header and the 9 terms
    # the MLP page is unchanged meanwhile: the network still drew its prediction
    assert page.locator("#prediction").text_content() == str(last["prediction"])
    assert page.problems == []
