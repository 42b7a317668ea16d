"""The lab's backward view, step-by-step training and gradient health (issue 13), via the API."""

from __future__ import annotations

import numpy as np
import pytest
from lab_helpers import drawing_of, packed


@pytest.fixture
def drawing(digit):
    return packed(drawing_of(digit))


def test_backward_gives_the_loss_every_delta_and_the_drawn_links_gradients(
    client, drawing, lab_model
):
    reply = client.post("/api/backward", json={"image": drawing, "label": 3})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    p = np.array(data["output"])
    assert data["loss"] == pytest.approx(-np.log(p[3]), rel=1e-5)
    assert data["target"] == [float(k == 3) for k in range(10)]
    assert np.allclose(data["output_error"], p - np.array(data["target"]), atol=1e-6)
    assert [layer["name"] for layer in data["layers"]] == ["dense_0", "dense_1", "dense_2"]
    assert [len(layer["delta"]) for layer in data["layers"]] == [16, 16, 10]
    assert data["layers"][-1]["delta"] == pytest.approx(data["output_error"], abs=1e-7)
    model = client.get("/api/model").json()
    live, hidden, out = data["links"]
    assert live["live"] and len(live["from"]) == 16
    # the fixed links in the order the page draws them, with ∂L/∂w = a_i·δ_j
    for spec, grads, k in (
        (model["links"][1], hidden["grad"], 1),
        (model["links"][2], out["grad"], 2),
    ):
        assert len(grads) == len(spec["from"])
        prev = np.array(
            client.post("/api/predict", json={"image": drawing}).json()["layers"][k - 1]["a"]
        )
        delta = np.array(data["layers"][k]["delta"])
        expected = prev[spec["from"]] * delta[spec["to"]]
        assert np.allclose(grads, expected, atol=1e-6)


def test_explain_a_weight_gives_backwards_value_and_the_finite_difference(client, drawing):
    body = {"image": drawing, "label": 3, "parameter": "dense_1.W", "index": [4, 7]}
    data = client.post("/api/backward/explain", json=body).json()
    assert data["value"] == pytest.approx(data["input_value"] * data["delta"], rel=1e-5, abs=1e-9)
    assert abs(data["value_float64"] - data["finite_difference"]) < 1e-6
    assert "∂L/∂W[4, 7] = aᵢ·δⱼ" in data["formula"] and "finite difference" in data["formula"]
    bias = client.post(
        "/api/backward/explain", json={**body, "parameter": "dense_2.b", "index": [3]}
    ).json()
    assert bias["neuron"] == 3 and bias["value"] == pytest.approx(bias["delta"])
    assert "p − y" in bias["formula"]


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"label": 10}, 422, "label must be from 0 to 9"),
        ({"label": -1}, 422, "label must be from 0 to 9"),
        ({"label": "3"}, 422, "label must be a whole number"),
        ({}, 422, "Send label"),
        ({"label": 3, "parameter": "dense_7.W", "index": [0, 0]}, 404, "No parameter 'dense_7.W'"),
        ({"label": 3, "parameter": "dense_1.W", "index": [16, 0]}, 404, "No entry [16, 0]"),
        ({"label": 3, "parameter": "dense_1.W", "index": [1]}, 422, "index must be a list of 2"),
        ({"label": 3, "parameter": "dense_1.b", "index": [0.5]}, 422, "whole number"),
    ],
)
def test_bad_backward_requests_are_4xx_and_change_nothing(
    client, drawing, lab_model, body, status, words
):
    weights = lab_model.get_weights()
    path = "/api/backward/explain" if "parameter" in body else "/api/backward"
    reply = client.post(path, json={"image": drawing, **body})
    assert reply.status_code == status, reply.text
    assert words in reply.json()["error"]
    assert np.array_equal(lab_model.get_weights(), weights)


def _start(client, **settings):
    reply = client.post("/api/steps/start", json={"samples": 640, "batch_size": 64, **settings})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_step_undo_and_the_page_model_following_training(client, drawing):
    version = client.get("/api/model").json()["version"]
    start = _start(client)
    assert (start["epoch"], start["batch"], start["steps"], start["can_undo"]) == (0, 0, 0, False)
    assert start["model_version"] > version
    one = client.post("/api/steps/step", json={"neuron": {"layer": 1, "index": 2}}).json()
    assert one["steps"] == 1 and one["step"]["samples"] == 64 and one["can_undo"]
    neuron = one["neuron"]
    assert neuron["before"] != neuron["after"] and len(neuron["after"]) == 16
    served = client.get("/api/model").json()
    assert served["version"] == one["model_version"] and "step by step" in served["name"]
    first = client.post("/api/predict", json={"image": drawing}).json()["output"]
    three = client.post("/api/steps/step", json={"n": 2}).json()
    assert three["steps"] == 3 and len(three["losses"]) == 3
    assert set(three["health"]["grad_norm"]) == {"dense_0", "dense_1", "dense_2"}
    assert client.post("/api/predict", json={"image": drawing}).json()["output"] != first
    back = client.post("/api/steps/undo", json={}).json()
    back = client.post("/api/steps/undo", json={"neuron": {"layer": 1, "index": 2}}).json()
    assert back["steps"] == 1 and back["losses"] == one["losses"]
    assert back["neuron"] == neuron  # the weights before and after the first step, exactly
    assert client.post("/api/predict", json={"image": drawing}).json()["output"] == first
    ten = client.post("/api/steps/step", json={"n": 10}).json()
    assert (ten["epoch"], ten["batch"]) == (1, 1)


@pytest.mark.parametrize(
    "path, body, status, words",
    [
        ("/api/steps/start", {"dataset": "cifar"}, 422, "dataset must be one of"),
        ("/api/steps/start", {"hidden": [0]}, 422, "each hidden size"),
        ("/api/steps/start", {"learning_rate": -1}, 422, "learning_rate"),
        ("/api/steps/start", {"session": "other"}, 422, "session must be one of"),
        ("/api/steps/start", {"colour": 1}, 422, "Unknown settings"),
        ("/api/steps/step", {"n": 0}, 422, "n must be from 1 to 50"),
        ("/api/steps/step", {"neuron": {"layer": 5, "index": 0}}, 404, "No layer 5"),
        ("/api/steps/step", {"neuron": {"layer": 0, "index": 16}}, 404, "No neuron 16"),
        ("/api/steps/undo", {}, 409, "no step to undo"),
    ],
)
def test_bad_step_requests_are_4xx_and_change_nothing(client, path, body, status, words):
    before = _start(client)
    reply = client.post(path, json=body)
    assert reply.status_code == status, reply.text
    assert words in reply.json()["error"]
    now = client.get("/api/steps").json()
    assert now["steps"] == 0 and now["settings"] == before["settings"]


def test_stepping_before_starting_is_a_409(client):
    for path in ("/api/steps/step", "/api/steps/undo"):
        reply = client.post(path, json={"session": "toy"})
        assert reply.status_code == 409 and "start one first" in reply.json()["error"]
    reply = client.get("/api/steps?session=toy")
    assert reply.status_code == 409 and "No toy step-by-step run" in reply.json()["error"]


@pytest.mark.parametrize(
    "dataset, hidden, learns", [("and", [], True), ("xor", [], False), ("xor", [8], True)]
)
def test_the_perceptron_and_xor_story_on_toy_data(client, dataset, hidden, learns):
    body = {
        "session": "toy",
        "dataset": dataset,
        "hidden": hidden,
        "learning_rate": 1.0,
        "batch_size": 20,
    }
    start = client.post("/api/steps/start", json=body).json()
    version = client.get("/api/model").json()["version"]
    boundary = start["boundary"]
    assert boundary["side"] == 41 and len(boundary["p"]) == 41 and len(boundary["points"]) == 200
    for _ in range(8):
        data = client.post("/api/steps/step", json={"session": "toy", "n": 50}).json()
    accuracy = data["boundary"]["accuracy"]
    assert (accuracy > 0.95) if learns else (accuracy < 0.8)
    assert client.get("/api/model").json()["version"] == version  # the page's model is untouched


def test_health_compare_shows_the_sigmoid_gradient_vanishing(client):
    data = client.post("/api/health/compare", json={"samples": 1000}).json()
    sigmoid, relu = data["sigmoid"], data["relu"]
    assert sigmoid["layers"] == relu["layers"] == [f"dense_{i}" for i in range(6)]
    assert sigmoid["grad_norm"]["dense_0"][0] < relu["grad_norm"]["dense_0"][0] / 20
    assert len(sigmoid["batch_grad_norm"]["dense_0"]) == 16
    reply = client.post("/api/health/compare", json={"samples": 5})
    assert reply.status_code == 422 and "samples must be from 100 to 10000, got 5" in reply.text
