"""The lab's declared API, fuzzed: Schemathesis generates requests for every endpoint in
/openapi.json and the lab answers each without a 5xx (in process, no network; bounded)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

import glassnet as gn

pytest.importorskip("fastapi", reason="the lab needs: pip install 'glassnet[lab]'")
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from glassnet.lab import server  # noqa: E402


def _model() -> gn.Sequential:
    model = gn.MLP([784, 8, 10], activation="sigmoid", seed=0)
    model.class_names = [str(i) for i in range(10)]
    model.preprocessing = {"kind": "image", "image_size": [28, 28], "color": "grayscale",
                           "scale": 1 / 255, "mnist_centering": True}  # fmt: skip
    return model


MODEL_DIR = Path(tempfile.mkdtemp(prefix="glassnet-schema-"))
# "testserver" is the Host of Schemathesis's in-process client; the guard must allow it.
APP = server.create_app(_model(), MODEL_DIR, allowed_hosts=["testserver"])
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _stop_training_runs():
    yield
    APP.state.lab.trainer.stop()  # a fuzzed POST /api/train may have started one
    APP.state.lab.trainer.join(30)


def test_the_schema_declares_every_endpoint_and_its_bodies():
    paths = schema.raw_schema["paths"]
    declared = ["/api/predict", "/api/neuron", "/api/train", "/api/train/stop", "/api/train/use"]
    declared += ["/api/models/save", "/api/models/load", "/api/model", "/api/models"]
    declared += ["/api/backward", "/api/backward/explain", "/api/steps/start", "/api/steps/step"]
    declared += ["/api/steps/undo", "/api/health/compare"]
    for path in declared:
        assert path in paths, path
    body = paths["/api/train"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["epochs"]["maximum"] == 100


# /api/health/compare trains two 6-layer networks on up to 10,000 digits per request: correct but
# compute-bound (over the client's 10 s on a busy machine), so it is left out of the fuzzing;
# its two bounded fields are checked by its own tests (tests/lab/test_lab_backward.py).
@schema.exclude(path="/api/health/compare").parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_request_gets_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text)
    kind = response.headers.get("content-type") or [""]
    kind = kind[0] if isinstance(kind, list) else kind
    if kind.startswith("application/json"):
        data = response.json()
        if response.status_code >= 400:
            assert isinstance(data.get("error"), str) and data["error"]


def test_docs_page_is_served():
    from starlette.testclient import TestClient

    with TestClient(APP, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/docs").status_code == 200
        assert client.get("/openapi.json").json()["info"]["title"] == "glassnet lab"
