"""`serve` as the command line runs it: ``python -m glassnet.lab [MODEL] [--host H] [--port P]``."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys

import pytest

from glassnet import io


def start(*args: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "glassnet.lab", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    return process, line


def get(url: str, path: str) -> tuple[int, dict]:
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    return process.wait(10)


def test_serve_a_model_file_on_loopback_and_stop_on_ctrl_c(lab_model, tmp_path):
    io.save(lab_model, tmp_path / "digits.glassnet")
    process, line = start(str(tmp_path / "digits.glassnet"), "--model-dir", str(tmp_path))
    try:
        assert line.startswith("glassnet lab: http://127.0.0.1:"), line
        url = line.split()[2]
        status, info = get(url, "/api/model")
        assert status == 200 and info["name"] == "digits.glassnet" and info["trained"]
        assert info["sizes"] == [784, 16, 16, 10]
    finally:
        code = stop(process)
    assert code == 0 and "WARNING" not in process.stderr.read()


def test_binding_beyond_loopback_prints_a_warning(tmp_path):
    process, line = start("--host", "0.0.0.0", "--model-dir", str(tmp_path))
    try:
        url = line.split()[2]
        assert get(url, "/api/model")[0] == 200  # an IP address in Host is fine
    finally:
        stop(process)
    warning = process.stderr.read()
    assert "WARNING: the lab listens on 0.0.0.0" in warning
    assert "other machines can reach it" in warning


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    process, line = start(str(tmp_path / "nothing.glassnet"))
    assert process.wait(30) != 0 and line == ""
    assert "nothing.glassnet" in process.stderr.read()


@pytest.mark.parametrize("bad", ["not-a-host.invalid", "256.1.1.1"])
def test_an_address_that_cannot_be_bound_is_a_clear_error(tmp_path, bad):
    process, line = start("--host", bad, "--model-dir", str(tmp_path))
    assert process.wait(30) != 0 and line == ""
    assert bad in process.stderr.read()
