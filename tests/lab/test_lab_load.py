"""Concurrency: the real server (uvicorn, own process) answers every client right (issues 6, 18).

Several keep-alive HTTP/1.1 connections post different real MNIST digits at the same time; every
answer must be a 200 with the prediction and probabilities of that client's own digit, the same
for every repetition. Bounded: 4 clients × 25 requests on loopback. The request rate and latency
are benchmark figures, measured on an idle machine by ``benchmarks/lab_load.py``, never asserted
here (a busy machine is not a bug).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from lab_helpers import drawing_of, packed

from glassnet import io
from glassnet.lab import sources, validation

CLIENTS = 4
REQUESTS_EACH = 25
DIGITS = [8026, 3, 17, 4242]  # four real test digits, one per client


@pytest.fixture
def server_port(lab_model, tmp_path):
    """``python -m glassnet.lab MODEL --port 0`` in its own process; its port once it listens."""
    io.save(lab_model, tmp_path / "digits.glassnet")
    command = [
        sys.executable, "-m", "glassnet.lab", str(tmp_path / "digits.glassnet"),
        "--port", "0", "--model-dir", str(tmp_path),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # "glassnet lab: http://127.0.0.1:PORT/ ..."
        assert "http://127.0.0.1:" in line, (line, process.stderr.read())
        yield int(line.split()[2].rstrip("/").rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait(10)


class Client(threading.Thread):
    """Posts one drawing REQUESTS_EACH times over one keep-alive connection."""

    def __init__(self, port: int, body: dict) -> None:
        super().__init__(daemon=True)
        self.port, self.body = port, json.dumps(body)
        self.answers: list[tuple[int, dict]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            headers = {"Content-Type": "application/json"}
            for _ in range(REQUESTS_EACH):
                connection.request("POST", "/api/predict", self.body, headers)
                response = connection.getresponse()
                self.answers.append((response.status, json.loads(response.read())))
            connection.close()
        except BaseException as error:  # reported by the test
            self.error = error


def test_concurrent_clients_each_get_their_own_digits_answer(server_port, lab_model, mnist_test):
    X, _ = mnist_test
    digits = [np.round(X[i] * 255).astype(np.uint8).reshape(28, 28) for i in DIGITS]
    bodies = [{"image": packed(drawing_of(digit))} for digit in digits]
    clients = [Client(server_port, body) for body in bodies]
    for client in clients:
        client.start()
    for client in clients:
        client.join(120)
        assert not client.is_alive(), "a client did not finish within 120 s"
        assert client.error is None, client.error

    for client, body in zip(clients, bodies, strict=True):
        # what this client's drawing must give, computed in this process
        x = sources.preprocess(validation.drawing(body["image"])).reshape(1, -1)
        expected = lab_model.predict_proba(x)[0]
        assert len(client.answers) == REQUESTS_EACH
        first = client.answers[0][1]
        for status, answer in client.answers:
            assert status == 200, answer
            assert answer["prediction"] == int(expected.argmax())
            np.testing.assert_allclose(answer["output"], expected, rtol=1e-5, atol=1e-7)
            # every repetition bit-identical: no state shared between concurrent requests
            assert answer["output"] == first["output"] and answer["input"] == first["input"]
    # the four digits really differ, so answers mixed up between clients would show
    predictions = [client.answers[0][1]["prediction"] for client in clients]
    assert len(set(predictions)) > 1, predictions
