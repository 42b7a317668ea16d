"""The lab's JSON API: every endpoint, and every kind of bad input answered with a clear 4xx."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lab_helpers import drawing_of, packed, wait_for
from starlette.testclient import TestClient

from glassnet import MLP
from glassnet.lab import server, sources
from glassnet.lab.guard import LOOPBACK_NAMES, MAX_BODY_BYTES, Guard
from glassnet.lab.routes.predict import TERMS
from glassnet.lab.served import LIVE_LINKS, MAX_LINKS, drawable

# ------------------------------------------------------------------------------ the page


def test_page_and_static_files_are_served_with_security_headers(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "glassnet lab" in page.text and "/static/app.js" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    for name in ("app.js", "style.css", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200


def test_unknown_paths_and_methods_answer_json(client):
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and "/api/nothing" in missing.json()["error"]
    assert client.get("/static/../server.py").status_code == 404
    wrong_method = client.get("/api/predict")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]


# ------------------------------------------------------------------------------ the model


def test_model_describes_layers_links_and_class_names(client, lab_model):
    info = client.get("/api/model").json()
    assert info["sizes"] == [784, 16, 16, 10]
    assert info["image"] == {"height": 28, "width": 28}
    assert info["task"] == "classification" and info["class_names"] == [str(i) for i in range(10)]
    assert [layer["activation"] for layer in info["layers"]] == ["sigmoid", "sigmoid", "softmax"]
    assert info["links"][0]["live"] is True  # from the picture: chosen per drawing
    hidden = info["links"][1]
    assert len(hidden["w"]) == hidden["total"] == 16 * 16  # small layers: every connection
    W = lab_model.layers[2].W.value
    assert hidden["w"][-1] == pytest.approx(float(W[hidden["from"][-1], hidden["to"][-1]]))
    assert abs(hidden["w"][-1]) == pytest.approx(np.abs(W).max())  # strongest drawn last
    assert info["limits"] == []
    assert len(info["first_layer"]["levels"]) == 16


def test_wide_layers_send_only_their_strongest_connections(model_dir):
    wide = MLP([20, 64, 64, 3], activation="relu", seed=1)
    with TestClient(server.create_app(wide, model_dir), base_url="http://127.0.0.1") as c:
        info = c.get("/api/model").json()
    links = info["links"][1]
    assert links["total"] == 64 * 64 and len(links["w"]) == MAX_LINKS
    W = wide.layers[2].W.value
    assert min(map(abs, links["w"])) >= np.sort(np.abs(W).ravel())[-MAX_LINKS] - 1e-6


def test_other_models_say_what_the_page_cannot_show(model_dir):
    regression = MLP([5, 8, 1], activation="tanh", output="identity", seed=0)
    with TestClient(server.create_app(regression, model_dir), base_url="http://127.0.0.1") as c:
        info = c.get("/api/model").json()
        assert info["image"] is None and info["task"] == "regression"
        assert any("not a 28×28 image" in text for text in info["limits"])
        assert any("regression" in text for text in info["limits"])
        answer = c.post("/api/predict", json={"input": [0.1, 0.2, 0.3, 0.4, 0.5]})
        assert answer.status_code == 200
        assert answer.json()["output"][0] == pytest.approx(
            float(regression.predict(np.array([[0.1, 0.2, 0.3, 0.4, 0.5]]))[0]), rel=1e-6
        )
        drawing = c.post("/api/predict", json={"image": np.zeros((28, 28)).tolist()})
        assert drawing.status_code == 422 and "not a 28×28 image" in drawing.json()["error"]


def test_the_lab_refuses_objects_that_are_not_networks(model_dir):
    with pytest.raises(TypeError, match="Sequential"):
        server.create_app(object(), model_dir)


# ------------------------------------------------------------------------------ predict


def test_predict_a_drawing_returns_the_input_used_and_the_exact_trace(client, lab_model, digit):
    drawing = drawing_of(digit)
    answer = client.post("/api/predict", json={"image": packed(drawing)})
    assert answer.status_code == 200
    result = answer.json()
    x = np.array(result["input"], np.float32)
    np.testing.assert_array_equal(x, sources.preprocess(drawing).reshape(-1))
    trace = lab_model.trace(x)
    for got, want in zip(result["layers"], trace.layers, strict=True):
        np.testing.assert_array_equal(np.array(got["z"], np.float32), want.z)
        np.testing.assert_array_equal(np.array(got["a"], np.float32), want.a)
    assert result["prediction"] == int(lab_model.predict(x[None])[0]) == 3
    assert result["label"] == "3" and result["blank"] is False
    assert sum(result["output"]) == pytest.approx(1.0, abs=1e-5)
    live = result["live_links"]  # each first-layer neuron's strongest pixels right now
    assert len(live["from"]) == 16 and max(abs(s) for row in live["strength"] for s in row) == 100
    products = trace.layers[0].weights * x[:, None]  # (784, 16)
    for j, pixels in enumerate(live["from"]):
        assert min(abs(products[pixels, j])) >= np.sort(abs(products[:, j]))[-LIVE_LINKS]
        assert np.array_equal(np.sign(live["strength"][j]), np.sign(products[pixels, j]))


def test_a_drawing_as_rows_of_numbers_gives_the_same_answer(client, digit):
    drawing = drawing_of(digit)
    packed_answer = client.post("/api/predict", json={"image": packed(drawing)}).json()
    rows_answer = client.post("/api/predict", json={"image": drawing.tolist()}).json()
    assert rows_answer["input"] == packed_answer["input"]
    assert rows_answer["output"] == packed_answer["output"]


def test_predict_numbers_as_given(client, lab_model, mnist_test):
    X, _ = mnist_test
    result = client.post("/api/predict", json={"input": X[8001].tolist()}).json()
    assert result["input"] == X[8001].tolist()
    assert result["prediction"] == int(lab_model.predict(X[8001:8002])[0])
    assert result["output"] == pytest.approx(lab_model.predict_proba(X[8001:8002])[0].tolist())


def test_a_blank_drawing_is_an_empty_input_not_an_error(client):
    result = client.post("/api/predict", json={"image": packed(np.zeros((140, 140)))}).json()
    assert result["blank"] is True and not any(result["input"])
    assert result["live_links"]["from"] == [[] for _ in range(16)]


def _post_raw(client, body: bytes, content_type="application/json", **headers):
    return client.post(
        "/api/predict", content=body, headers={"content-type": content_type, **headers}
    )


BAD_PREDICTIONS = {
    "image too small": ({"image": np.zeros((10, 10)).tolist()}, 422, "between 28×28"),
    "image too large": (
        {"image": {"width": 5000, "height": 5000, "data": ""}},
        422,
        "between 28×28",
    ),
    "image not 2-D": ({"image": [0.0] * 784}, 422, "list of rows"),
    "ragged rows": ({"image": [[0] * 30] * 29 + [[0] * 29]}, 422, "rows of one length"),
    "text in image": ({"image": [["a"] * 30] * 30}, 422, "only numbers"),
    "None in image": ({"image": [[None] * 30] * 30}, 422, "only numbers"),
    "ink above 255": ({"image": np.full((30, 30), 300).tolist()}, 422, "0–255"),
    "negative ink": ({"image": np.full((30, 30), -1).tolist()}, 422, "0–255"),
    "image a string": ({"image": "picture"}, 422, "list of numbers"),
    "base64 invalid": (
        {"image": {"width": 28, "height": 28, "data": "%%%"}},
        422,
        "not valid base64",
    ),
    "base64 wrong size": (
        {"image": {"width": 28, "height": 28, "data": "AAAA"}},
        422,
        "needs 784",
    ),
    "width not a number": ({"image": {"width": "28", "height": 28, "data": ""}}, 422, "whole"),
    "unknown image key": ({"image": {"width": 28, "height": 28, "px": ""}}, 422, "unknown"),
    "input too short": ({"input": [0.5] * 783}, 422, "784 input values, got 783"),
    "input too long": ({"input": [0.5] * 785}, 422, "784 input values, got 785"),
    "text in input": ({"input": ["a"] * 784}, 422, "only numbers"),
    "booleans in input": ({"input": [True] * 784}, 422, "only numbers"),
    "input a number": ({"input": 3}, 422, "list of numbers"),
    "input huge": ({"input": [1e30] * 784}, 422, "beyond"),
    "both forms": ({"input": [0.0] * 784, "image": [[0] * 28] * 28}, 422, "not both"),
    "neither form": ({}, 422, "Send image"),
    "array body": ([1, 2, 3], 422, "JSON object"),
}


@pytest.mark.parametrize("body, status, words", BAD_PREDICTIONS.values(), ids=BAD_PREDICTIONS)
def test_bad_predict_bodies_get_a_clear_4xx(client, body, status, words):
    answer = client.post("/api/predict", json=body)
    assert answer.status_code == status
    assert words in answer.json()["error"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(client, constant):
    body = '{"input": [' + ", ".join(["0.5"] * 783 + [constant]) + "]}"
    answer = _post_raw(client, body.encode())
    assert answer.status_code == 422
    assert constant in answer.json()["error"] and "finite" in answer.json()["error"]


def test_numbers_too_large_for_a_float_are_refused(client):
    answer = _post_raw(client, b'{"input": [1e999]}')
    assert answer.status_code == 422 and "finite" in answer.json()["error"]


def test_malformed_json_is_a_400(client):
    answer = _post_raw(client, b'{"input": [0.5,')
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]


def test_only_json_bodies_are_taken(client):
    # A cross-site HTML form can only send form or text bodies: refusing them stops it.
    answer = _post_raw(client, b'{"input": []}', content_type="text/plain")
    assert answer.status_code == 415 and "application/json" in answer.json()["error"]


def test_bodies_over_one_megabyte_are_refused(client):
    big = json.dumps({"input": [0.123456789] * 100_000}).encode()
    assert len(big) > MAX_BODY_BYTES
    answer = _post_raw(client, big)
    assert answer.status_code == 413 and "1,000,000 bytes" in answer.json()["error"]


def test_oversized_bodies_without_a_length_are_cut_off_while_reading(client):
    def chunks():
        yield b'{"input": ['
        for _ in range(2000):
            yield b"0.5, " * 200
        yield b"0.5]}"

    answer = client.post(
        "/api/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and "1,000,000 bytes" in answer.json()["error"]


def test_sums_that_overflow_are_a_422_not_a_500(model_dir):
    big = MLP([4, 3, 2], activation="relu", seed=0)
    big.layers[0].W.value[...] = 3e38
    with TestClient(server.create_app(big, model_dir), base_url="http://127.0.0.1") as c:
        answer = c.post("/api/predict", json={"input": [1e6, 1e6, 1e6, 1e6]})
    assert answer.status_code == 422 and "overflow" in answer.json()["error"]


# ------------------------------------------------------------------------------ one neuron


def test_neuron_details_match_the_trace(client, lab_model, digit):
    x = sources.preprocess(drawing_of(digit)).reshape(-1)
    answer = client.post("/api/neuron", json={"layer": 0, "index": 5, "input": x.tolist()})
    assert answer.status_code == 200
    cell = answer.json()
    # computed here from the weights, not by the trace code the route itself uses (issue 18)
    dense = lab_model.layers[0]
    w, b = dense.W.value[:, 5].astype(np.float64), float(dense.b.value[5])
    z = float(x.astype(np.float64) @ w + b)
    assert cell["bias"] == pytest.approx(b) and cell["z"] == pytest.approx(z, rel=1e-5, abs=1e-6)
    assert cell["a"] == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-5, abs=1e-6)  # float32 σ
    assert cell["weighted_sum"] + cell["bias"] == pytest.approx(cell["z"], abs=1e-5)
    np.testing.assert_allclose(cell["weights"], w, rtol=1e-6)
    assert cell["picture"] == {"height": 28, "width": 28}  # first layer: a 28×28 heat map
    # the formula shows the largest contribution first and ends with the z and a it returned
    head, sum_line, activation_line = cell["formula"].split("\n")
    largest = int(np.argmax(np.abs(w * x)))
    assert sum_line.startswith(f"z = Σ wᵢ·xᵢ + b = {w[largest]:.4g}×{x[largest]:.4g} + ")
    assert sum_line.endswith(f" = {cell['z']:.6g}") and f"({784 - TERMS} more terms" in sum_line
    assert activation_line == f"a = sigmoid(z) = {cell['a']:.6g}"
    products = [abs(t["product"]) for t in cell["terms"]]
    assert products == sorted(products, reverse=True)
    total = sum(t["product"] for t in cell["terms"]) + cell["rest"]["sum"]
    assert total == pytest.approx(cell["weighted_sum"], abs=1e-5)


def test_output_neuron_names_its_class_and_has_no_picture(client, mnist_test):
    X, _ = mnist_test
    cell = client.post("/api/neuron", json={"layer": 2, "index": 7, "input": X[0].tolist()})
    data = cell.json()
    assert data["label"] == "7" and data["activation"] == "softmax" and data["picture"] is None
    assert len(data["weights"]) == 16


def test_neuron_without_input_gives_weights_and_bias(client, lab_model):
    data = client.post("/api/neuron", json={"layer": 1, "index": 0}).json()
    assert data["bias"] == pytest.approx(float(lab_model.layers[2].b.value[0]))
    assert "z" not in data and "terms" not in data
    assert "16 incoming weights" in data["formula"]


def test_neuron_of_a_drawing(client, digit, lab_model):
    answer = client.post("/api/neuron", json={"layer": 0, "index": 1, "image": digit.tolist()})
    assert answer.status_code == 200
    # z is w·x + b for the input the lab made of the drawing (issue 18: not merely "not None")
    x = np.array(client.post("/api/predict", json={"image": digit.tolist()}).json()["input"])
    dense = lab_model.layers[0]
    expected = float(x @ dense.W.value[:, 1].astype(np.float64) + dense.b.value[1])
    assert answer.json()["z"] == pytest.approx(expected, rel=1e-5, abs=1e-5)


BAD_NEURONS = {
    "layer past the end": ({"layer": 3, "index": 0}, 404, "No layer 3"),
    "negative layer": ({"layer": -1, "index": 0}, 404, "No layer -1"),
    "index past the end": ({"layer": 0, "index": 16}, 404, "No neuron 16"),
    "negative index": ({"layer": 2, "index": -1}, 404, "No neuron -1"),
    "index as text": ({"layer": 0, "index": "1"}, 422, "whole number"),
    "layer fractional": ({"layer": 0.5, "index": 1}, 422, "whole number"),
    "layer boolean": ({"layer": True, "index": 1}, 422, "whole number"),
    "layer missing": ({"index": 1}, 422, "whole number"),
    "unknown key": ({"layer": 0, "index": 1, "neuron": 2}, 422, "Unknown keys"),
    "bad input": ({"layer": 0, "index": 1, "input": [1, 2]}, 422, "784 input values"),
}


@pytest.mark.parametrize("body, status, words", BAD_NEURONS.values(), ids=BAD_NEURONS)
def test_bad_neuron_requests_get_a_clear_4xx(client, body, status, words):
    answer = client.post("/api/neuron", json=body)
    assert answer.status_code == status
    assert words in answer.json()["error"]


# ------------------------------------------------------------------------------ Host and Origin


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST", "127.0.0.1"]
)
def test_loopback_host_names_are_answered(client, host):
    assert client.get("/api/model", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "evil.example", "127.0.0.1.evil.example", "192.168.1.20:8000"]
)
def test_other_host_names_are_refused_against_dns_rebinding(client, host):
    for answer in (
        client.get("/api/model", headers={"host": host}),
        client.post("/api/predict", json={"input": [0] * 784}, headers={"host": host}),
        client.get("/", headers={"host": host}),
    ):
        assert answer.status_code == 403
        assert "DNS rebinding" in answer.json()["error"]


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:9999", "https://127.0.0.1:8000", "null"]
)
def test_requests_from_other_origins_are_refused(client, origin):
    answer = client.post("/api/predict", json={"input": [0] * 784}, headers={"origin": origin})
    assert answer.status_code == 403 and "refused" in answer.json()["error"]
    answer = client.get("/api/model", headers={"origin": origin})
    assert (
        answer.status_code == 403
        and f"Requests from {origin!r} are refused" in answer.json()["error"]
    )


def test_the_page_own_origin_is_answered(client):
    answer = client.post("/api/predict", json={"input": [0] * 784}, headers={"origin": BASE})
    assert answer.status_code == 200


BASE = "http://127.0.0.1:8000"


def test_a_request_without_host_is_a_400():
    guard = Guard(app=None, allowed_hosts=LOOPBACK_NAMES, allow_any_ip=False)
    assert guard.check("http", {}) == (400, "The request has no Host header.")
    assert guard.check("http", {b"host": b"127.0.0.1:1"}) is None


def test_wildcard_binding_answers_ip_addresses_and_named_hosts_only(lab_model, model_dir):
    app = server.create_app(lab_model, model_dir, host="0.0.0.0", allowed_hosts=["lab.home"])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/model", headers={"host": "192.168.1.20:8000"}).status_code == 200
        assert c.get("/api/model", headers={"host": "lab.home:8000"}).status_code == 200
        refused = c.get("/api/model", headers={"host": "evil.example"})
        assert refused.status_code == 403 and "Host 'evil.example' is not allowed" in refused.text


# ------------------------------------------------------------------------------ training


def _wait_until_finished(client, timeout=30.0):
    return wait_for(
        lambda: (
            (s := client.get("/api/train").json())["status"] in ("done", "stopped", "failed") and s
        ),
        timeout,
    )


def test_training_runs_in_the_background_and_the_page_then_uses_the_result(client):
    assert client.get("/api/train").json()["status"] == "idle"
    before = client.get("/api/model").json()["version"]
    settings = {"dataset": "mnist", "hidden": [8], "epochs": 2, "samples": 1000, "seed": 1}
    start = client.post("/api/train", json=settings)
    assert start.status_code == 202 and start.json()["config"]["hidden"] == [8]
    status = _wait_until_finished(client)
    assert status["status"] == "done", status
    assert [e["epoch"] for e in status["epochs"]] == [0, 1]
    assert 0 <= status["epochs"][-1]["val_accuracy"] <= 1
    info = client.get("/api/model").json()
    assert info["version"] == before + 1 and info["sizes"] == [784, 8, 10]
    assert info["name"] == "784-8-10 trained on mnist in the lab" and info["trained"]


def test_a_second_training_start_is_refused_while_one_runs(client):
    first = client.post("/api/train", json={"epochs": 50, "samples": 10000})
    assert first.status_code == 202
    second = client.post("/api/train", json={"epochs": 1})
    assert second.status_code == 409 and "already in progress" in second.json()["error"]
    stop = client.post("/api/train/stop", json={})
    assert stop.status_code == 202 and stop.json()["stopping"] is True
    assert _wait_until_finished(client, timeout=10)["status"] == "stopped"


def test_stop_when_nothing_runs_says_so(client):
    answer = client.post("/api/train/stop", json={})
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "idle",
        "stopping": False,
        "message": "No training is running; there is nothing to stop.",
    }


def test_training_on_fashion_mnist_names_the_classes(client):
    settings = {"dataset": "fashion-mnist", "hidden": [4], "epochs": 1, "samples": 500}
    assert client.post("/api/train", json=settings).status_code == 202
    assert _wait_until_finished(client)["status"] == "done"
    assert client.get("/api/model").json()["class_names"][0] == "T-shirt/top"


def test_continuing_the_current_model_trains_a_copy(client, lab_model):
    weights = lab_model.get_weights()
    settings = {"hidden": "current", "epochs": 1, "samples": 500}
    assert client.post("/api/train", json=settings).status_code == 202
    assert _wait_until_finished(client)["status"] == "done"
    np.testing.assert_array_equal(lab_model.get_weights(), weights)  # the original is untouched
    assert client.get("/api/model").json()["sizes"] == [784, 16, 16, 10]


def test_continuing_a_model_that_cannot_learn_the_data_fails_clearly(model_dir, data_dir):
    small = MLP([784, 4, 3], seed=0)
    app = server.create_app(small, model_dir, data_dir=data_dir)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.post("/api/train", json={"hidden": "current", "samples": 200}).status_code == 202
        status = _wait_until_finished(c)
    assert status["status"] == "failed"
    assert "784-4-3" in status["message"] and "10 classes" in status["message"]


BAD_TRAININGS = {
    "unknown data set": ({"dataset": "cifar"}, "dataset must be one of"),
    "hidden not a list": ({"hidden": "16,16"}, "hidden must be a list"),
    "hidden size 0": ({"hidden": [0]}, "each hidden size must be from 1"),
    "hidden too many": ({"hidden": [4] * 7}, "0 to 6 layers"),
    "epochs 0": ({"epochs": 0}, "epochs must be from 1"),
    "epochs text": ({"epochs": "5"}, "epochs must be a whole number"),
    "samples too few": ({"samples": 10}, "samples must be from 100"),
    "learning rate 0": ({"learning_rate": 0}, "learning_rate must be a number in (0, 10]"),
    "learning rate text": ({"learning_rate": "fast"}, "learning_rate must be a number"),
    "activation": ({"activation": "softmax"}, "activation must be one of"),
    "optimizer": ({"optimizer": "magic"}, "optimizer must be one of"),
    "unknown setting": ({"momentum": 0.9}, "Unknown training settings ['momentum']"),
    "seed negative": ({"seed": -1}, "seed must be from 0"),
}


@pytest.mark.parametrize("body, words", BAD_TRAININGS.values(), ids=BAD_TRAININGS)
def test_bad_training_settings_get_a_422(client, body, words):
    answer = client.post("/api/train", json=body)
    assert answer.status_code == 422
    assert words in answer.json()["error"]
    assert client.get("/api/train").json()["status"] == "idle"


def _events(client) -> list[tuple[str, dict]]:
    events, kind = [], None
    with client.stream("GET", "/api/train/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


def test_events_stream_a_run_from_its_start_to_its_end(client):
    assert _events(client) == [
        ("status", {"status": "idle", "message": "No training has run yet."})
    ]
    client.post("/api/train", json={"hidden": [8], "epochs": 2, "samples": 2000})
    events = _events(client)  # follows the run live and ends with it
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and events[-1][1]["status"] == "done"
    assert {"start", "batch", "epoch", "weights"} <= set(kinds)
    start = dict(events)["start"]
    assert start["architecture"] == [784, 8, 10] and start["samples"] == 1800
    steps = [data["step"] for kind, data in events if kind in ("batch", "epoch")]
    assert steps == sorted(steps)
    weights = dict(events)["weights"]
    assert weights["shown"] == 8 and weights["n_inputs"] == 784


# ------------------------------------------------------------------------------ model files


@pytest.fixture
def io_available():
    pytest.importorskip("glassnet.io", reason="saving needs glassnet.io (branch io)")


def test_save_list_and_load_models_in_the_model_directory(client, model_dir, io_available):
    saved = client.post("/api/models/save", json={"name": "digits"})
    assert saved.status_code == 201 and saved.json()["saved"] == "digits.glassnet"
    assert (model_dir / "digits.glassnet").is_file()
    again = client.post("/api/models/save", json={"name": "digits"})
    assert again.status_code == 409 and "overwrite" in again.json()["error"]
    overwrite = client.post("/api/models/save", json={"name": "digits", "overwrite": True})
    assert overwrite.status_code == 201
    listed = client.get("/api/models").json()["models"]
    assert [m["name"] for m in listed] == ["digits"]
    before = client.get("/api/model").json()
    loaded = client.post("/api/models/load", json={"name": "digits.glassnet"})
    assert loaded.status_code == 200 and loaded.json()["version"] == before["version"] + 1
    assert loaded.json()["sizes"] == before["sizes"]


def test_loading_a_missing_or_broken_file_is_a_4xx(client, model_dir, io_available):
    missing = client.post("/api/models/load", json={"name": "nothing"})
    assert missing.status_code == 404 and "nothing.glassnet" in missing.json()["error"]
    (model_dir / "broken.glassnet").write_bytes(b"not a model")
    broken = client.post("/api/models/load", json={"name": "broken"})
    assert broken.status_code == 422 and "broken.glassnet" in broken.json()["error"]


TRAVERSALS = [
    "../outside",
    "../../etc/passwd",
    "/etc/passwd",
    "sub/model",
    "sub\\model",
    "..",
    ".hidden",
    "",
    "a" * 65,
    "name with spaces",
    "model\x00.glassnet",
    "C:model",
    "..glassnet",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_model_names_that_could_leave_the_model_directory_are_refused(client, tmp_path, name):
    for endpoint in ("/api/models/save", "/api/models/load"):
        answer = client.post(endpoint, json={"name": name})
        assert answer.status_code == 400, (endpoint, answer.json())
        assert "Invalid model name" in answer.json()["error"]
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert written == set()


def test_a_symbolic_link_out_of_the_model_directory_is_refused(client, model_dir, tmp_path):
    outside = tmp_path / "outside.glassnet"
    outside.write_bytes(b"secret")
    (model_dir / "link.glassnet").symlink_to(outside)
    for endpoint, body in [
        ("/api/models/save", {"name": "link", "overwrite": True}),
        ("/api/models/load", {"name": "link"}),
    ]:
        answer = client.post(endpoint, json=body)
        assert answer.status_code == 400 and "inside the model directory" in answer.json()["error"]
    assert outside.read_bytes() == b"secret"


def test_model_name_must_be_a_string(client):
    answer = client.post("/api/models/save", json={"name": 5})
    assert answer.status_code == 422 and "name must be a string" in answer.json()["error"]
    answer = client.post("/api/models/save", json={"name": "x", "overwrite": "yes"})
    assert answer.status_code == 422 and "overwrite must be true or false" in answer.json()["error"]


def test_the_model_file_says_whether_the_drawing_pad_can_feed_it(lab_model):
    assert drawable(lab_model) == (28, "")
    table = MLP([784, 4, 2], seed=0)
    table.preprocessing = {"kind": "table", "feature_names": [f"f{i}" for i in range(784)]}
    side, why = drawable(table)
    assert side is None and "rows of a table" in why
    colour = MLP([784, 4, 2], seed=0)
    colour.preprocessing = {"kind": "image", "image_size": [14, 14], "color": "rgb"}
    side, why = drawable(colour)
    assert side is None and "14×14 rgb images" in why
