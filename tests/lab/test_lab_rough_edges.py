"""The lab for every model and against every malformed request (issue 17).

Table models get a form by column name and the same answer as `glassnet.datasets.predict`;
image models of any size and colour take an uploaded picture; a stopped training never replaces
the page's model unasked; malformed, deep or slow bodies and client-caused conflicts get a 4xx.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Iterator

import numpy as np
import pytest

import glassnet as gn
from glassnet import datasets

pytest.importorskip("starlette", reason="the lab needs: pip install 'glassnet[lab]'")

from starlette.testclient import TestClient  # noqa: E402

from glassnet.lab import server  # noqa: E402
from glassnet.lab.guard import MAX_BODY_DEPTH  # noqa: E402

BASE_URL = "http://127.0.0.1:8000"


def _table_model(task: str) -> gn.Sequential:
    """A small model trained on a table with a text column, with its recipe (as the CLI)."""
    rng = np.random.default_rng(0)
    size = rng.uniform(20, 120, 400)
    city = rng.choice(["Lyon", "Paris"], 400)
    rows = [{"size": s, "city": c} for s, c in zip(size, city, strict=True)]
    table = datasets.Table(
        np.zeros((400, 3), np.float32),
        np.zeros(400, np.float32),
        ("size", "city=Lyon", "city=Paris"),
        "price",
        None,
        "regression",
        ("size", "city"),
        {"city": ("Lyon", "Paris")},
    )
    encoded = np.column_stack([size, city == "Lyon", city == "Paris"]).astype(np.float32)
    price = (size * 50 + (city == "Paris") * 3000).astype(np.float32)
    recipe = datasets.table_preprocessing(table, encoded, price)
    X = datasets.prepare_rows(recipe, rows)
    if task == "regression":
        scaling = recipe["target_scaling"]
        model = gn.MLP([3, 8, 1], activation="relu", output="identity", seed=0)
        model.fit(X, (price - scaling["mean"]) / scaling["scale"], epochs=30, seed=0)
        datasets.fold_target_scaling(model, recipe)
    else:
        recipe.pop("target_scaling")
        model = gn.MLP([3, 8, 1], activation="relu", output="sigmoid", seed=0)
        model.fit(X, (city == "Paris").astype(np.float32), epochs=20, seed=0)
        model.class_names = ["Lyon", "Paris"]
    model.preprocessing = recipe
    return model


@pytest.fixture(params=["regression", "classification"])
def table_client(request, tmp_path) -> Iterator[tuple[TestClient, gn.Sequential]]:
    model = _table_model(request.param)
    app = server.create_app(model, tmp_path / "models", model_name="flats")
    with TestClient(app, base_url=BASE_URL) as client:
        yield client, model


def test_a_table_model_gets_a_form_by_column_name_and_the_same_answer(table_client):
    client, model = table_client
    info = client.get("/api/model").json()
    assert info["table"]["columns"] == ["size", "city"]
    assert info["table"]["categories"] == {"city": ["Lyon", "Paris"]}
    assert "fill in its columns" in info["limits"][0]
    row = {"size": 60, "city": "Paris"}
    answer = client.post("/api/predict", json={"row": row})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    if model.output == "identity":
        expected = datasets.predict(model, [row])
        assert result["output"][0] == pytest.approx(float(expected[0]), rel=1e-5)
        assert 3000 < result["output"][0] < 10000  # a price, in the table's units
    else:
        p = model.predict_proba(datasets.prepare_rows(model.preprocessing, [row]))
        assert result["output"][0] == pytest.approx(float(p[0, -1]), rel=1e-5)  # P(Paris)
        assert result["label"] == "Paris"  # a two-class verdict consistent with its output


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"size": 60}, "missing ['city']"),
        ({"size": 60, "city": "Rome"}, "never saw"),
        ({"size": "big", "city": "Lyon"}, "must hold numbers"),
        ({"size": [1], "city": "Lyon"}, "number or a short text"),
        ([1, 2], "must be an object"),
    ],
)
def test_bad_rows_get_a_422_sentence(table_client, row, words):
    client, _ = table_client
    answer = client.post("/api/predict", json={"row": row})
    assert answer.status_code == 422 and words in answer.json()["error"]


def _picture(image: np.ndarray) -> dict:
    channels = 1 if image.ndim == 2 else image.shape[2]
    return {
        "width": image.shape[1],
        "height": image.shape[0],
        "channels": channels,
        "data": base64.b64encode(image.astype(np.uint8).tobytes()).decode(),
    }


def test_an_rgb_image_model_of_another_size_takes_an_uploaded_picture(tmp_path):
    model = gn.MLP([12 * 16 * 3, 8, 3], activation="relu", seed=0)
    model.preprocessing = {"kind": "image", "image_size": [12, 16], "color": "rgb", "scale": 1.0}
    model.class_names = ["r", "g", "b"]
    app = server.create_app(model, tmp_path / "models")
    with TestClient(app, base_url=BASE_URL) as client:
        info = client.get("/api/model").json()
        assert info["upload"] == {"height": 12, "width": 16, "color": "rgb"}
        assert "Upload a picture" in info["limits"][0]
        photo = np.random.default_rng(0).integers(0, 256, (90, 70, 3))
        answer = client.post("/api/predict", json={"picture": _picture(photo)})
        assert answer.status_code == 200, answer.text
        expected = model.predict_proba(datasets.prepare_images(model.preprocessing, photo))
        np.testing.assert_allclose(answer.json()["output"], expected[0], rtol=1e-5)
        bad = _picture(photo)
        bad["channels"] = 2
        refused = client.post("/api/predict", json={"picture": bad})
        assert refused.status_code == 422 and "channels" in refused.json()["error"], refused.text


def test_a_json_body_nested_1000_deep_is_a_4xx_not_a_500(client):
    for depth in (MAX_BODY_DEPTH + 1, 1000, 100_000):
        body = b'{"input": ' + b"[" * depth + b"]" * depth + b"}"
        answer = client.post(
            "/api/predict", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422 and "nested" in answer.json()["error"]


MALFORMED = [b"", b"{", b"[]", b'"text"', b"null", b"\xff\xfe", b'{"input": [1,]}', b"{}" * 3]


@pytest.mark.parametrize("body", MALFORMED)
@pytest.mark.parametrize(
    "path", ["/api/predict", "/api/neuron", "/api/train", "/api/models/save", "/api/models/load"]
)
def test_every_malformed_body_gets_a_4xx(client, path, body):
    answer = client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500, (path, body, answer.text)
    assert answer.json()["error"]


@pytest.mark.parametrize("path", ["/api/train/stop", "/api/train/use", "/api/models/save"])
def test_state_changing_endpoints_require_json(client, path):
    answer = client.post(path, content=b"name=x", headers={"content-type": "text/plain"})
    assert answer.status_code == 415
    assert "Send the body as JSON with Content-Type: application/json" in answer.json()["error"]


def test_saving_over_a_folder_is_a_409(client, model_dir):
    (model_dir / "taken.glassnet").mkdir(parents=True)
    answer = client.post("/api/models/save", json={"name": "taken", "overwrite": True})
    assert answer.status_code == 409 and "folder" in answer.json()["error"]


def _post_by_hand(app, receive) -> list[dict]:
    """POST /api/predict to the ASGI app with the given ``receive``; the messages sent back."""
    import asyncio

    async def scenario() -> list[dict]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/predict",
            "raw_path": b"/api/predict",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1:8000"),
                (b"content-type", b"application/json"),
                (b"content-length", b"5000"),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)
        return sent

    return asyncio.run(scenario())


def test_a_client_disconnecting_mid_body_is_not_logged_as_unexpected(app, caplog):
    events = iter(
        [
            {"type": "http.request", "body": b'{"input": [', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive():
        return next(events)

    with caplog.at_level(logging.ERROR, logger="glassnet.lab"):
        sent = _post_by_hand(app, receive)
    assert not [r for r in caplog.records if "unexpected" in r.getMessage()]
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert all(400 <= m["status"] < 500 for m in starts)


def test_a_body_that_trickles_in_too_slowly_gets_a_408(app, monkeypatch):
    import asyncio

    from glassnet.lab import guard

    monkeypatch.setattr(guard, "BODY_SECONDS", 0.2)
    parts = iter([b'{"input": ', b"[0"])

    async def receive():
        await asyncio.sleep(0.15)
        return {"type": "http.request", "body": next(parts, b","), "more_body": True}

    sent = _post_by_hand(app, receive)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [408]


def test_default_training_uses_the_data_on_this_machine(tmp_path, monkeypatch):
    from glassnet.datasets import named
    from glassnet.lab import sources

    if datasets.find("fashion-mnist") is None:
        pytest.skip("Fashion-MNIST is not on this machine")
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.setattr(named, "user_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(named, "MNIST", dataclasses.replace(named.MNIST, system_dirs=()))
    monkeypatch.setitem(named.DATASETS, "mnist", named.MNIST)
    data = sources.load_training_data("mnist", data_dir=tmp_path / "nothing-here")
    assert "mnist is not on this machine" in data.note and "fashion-mnist" in data.note
    assert data.class_names[0] == "T-shirt/top" and not (tmp_path / "nothing-here").exists()


def test_a_stopped_training_never_replaces_the_model_unasked(client, lab_model):
    before = client.get("/api/model").json()
    answer = client.post(
        "/api/train", json={"dataset": "mnist", "epochs": 50, "samples": 8000, "batch_size": 1}
    )
    assert answer.status_code == 202, answer.text
    lab = client.app.state.lab
    for _ in range(800):  # wait until batches are being trained, then stop it
        if any(m["type"] == "batch" for m in lab.trainer.run.messages):
            break
        lab.trainer.join(0.025)
    assert client.post("/api/train/stop", json={}).status_code in (200, 202)
    lab.trainer.join(30)
    assert lab.trainer.run.status == "stopped"
    after = client.get("/api/model").json()
    assert after["version"] == before["version"]  # still the page's model
    used = client.post("/api/train/use", json={})
    assert used.status_code == 200 and used.json()["version"] == before["version"] + 1
    assert "stopped" in used.json()["name"]
    refused = client.post("/api/train/use", json={"x": 1})
    assert refused.status_code == 422 and "x: Extra inputs are not permitted" in refused.text


def test_one_colour_convention_for_weight_signs_in_the_lab_and_the_cli_pictures():
    import re
    from pathlib import Path

    pytest.importorskip("matplotlib")
    from glassnet import plot

    script = (Path(server.__file__).parent / "static" / "app.js").read_text()

    def js_colour(name: str) -> tuple[int, ...]:
        found = re.search(rf"const {name} = \[(\d+), (\d+), (\d+)\];", script)
        assert found, name
        return tuple(int(v) for v in found.groups())

    def hex_colour(text: str) -> tuple[int, ...]:
        return tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))

    assert js_colour("BLUE") == hex_colour(plot.WEIGHT_POSITIVE)
    assert js_colour("ORANGE") == hex_colour(plot.WEIGHT_NEGATIVE)
    cmap = plot.weight_colormap()
    assert tuple(round(255 * c) for c in cmap(1.0)[:3]) == hex_colour(plot.WEIGHT_POSITIVE)
    assert tuple(round(255 * c) for c in cmap(0.0)[:3]) == hex_colour(plot.WEIGHT_NEGATIVE)
    page = (Path(server.__file__).parent / "static" / "index.html").read_text()
    assert page.count('class="pos">■ positive') >= 2  # a legend by each weight drawing
