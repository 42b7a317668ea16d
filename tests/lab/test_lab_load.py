"""Load test: the real server (uvicorn, own process) answers predict-with-trace fast enough.

The bar from issue 6: at least 500 requests/s with a 99th percentile under 50 ms, on loopback,
for the page's own request (a 112×112 drawing of a real digit, preprocessed, traced through
784-16-16-10). The clients are plain keep-alive HTTP/1.1 connections on raw sockets in a few
threads, so the measurement is of the server rather than of a slow client library. The run is
bounded: 2,000 requests, and it gives up after 60 s.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from lab_helpers import OUTPUT, drawing_of, packed

REQUESTS = 2000
CLIENTS = 4
TIME_LIMIT = 60.0


@pytest.fixture
def server_url(tmp_path):
    """``python -m glassnet.lab --port 0`` in its own process; its URL once it listens."""
    command = [sys.executable, "-m", "glassnet.lab", "--port", "0", "--model-dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # "glassnet lab: http://127.0.0.1:PORT/ ..."
        assert "http://127.0.0.1:" in line, (line, process.stderr.read())
        yield line.split()[2].rstrip("/"), process
    finally:
        process.terminate()
        process.wait(10)


class Client(threading.Thread):
    """Sends the same request over one keep-alive connection and times each answer."""

    def __init__(self, port: int, request: bytes, count: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.port, self.request, self.count, self.deadline = port, request, count, deadline
        self.latencies: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port)) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffer = b""
                for _ in range(self.count):
                    if time.monotonic() > self.deadline:
                        return
                    start = time.perf_counter()
                    sock.sendall(self.request)
                    body, buffer = _read_response(sock, buffer)
                    self.latencies.append(time.perf_counter() - start)
                    assert b'"prediction":' in body
        except BaseException as error:  # reported by the test
            self.error = error


def _read_response(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    while b"\r\n\r\n" not in buffer:
        buffer += _receive(sock)
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 200"), head
    fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
    length = int(next(v for k, v in fields.items() if k.lower() == b"content-length"))
    while len(buffer) < length:
        buffer += _receive(sock)
    return buffer[:length], buffer[length:]


def _receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("The server closed the connection.")
    return chunk


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
def test_predict_with_trace_serves_500_requests_per_second_with_p99_under_50_ms(server_url, digit):
    url, process = server_url
    port = int(url.rsplit(":", 1)[1])
    body = json.dumps({"image": packed(drawing_of(digit))}).encode()
    request = (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    warm_up = Client(port, request, 50, time.monotonic() + TIME_LIMIT)
    warm_up.run()
    assert warm_up.error is None, warm_up.error

    deadline = time.monotonic() + TIME_LIMIT
    clients = [Client(port, request, REQUESTS // CLIENTS, deadline) for _ in range(CLIENTS)]
    cpu_before = _cpu_seconds(process.pid)
    start = time.perf_counter()
    for client in clients:
        client.start()
    for client in clients:
        client.join(TIME_LIMIT + 5)
    elapsed = time.perf_counter() - start
    server_cpu = _cpu_seconds(process.pid) - cpu_before

    for client in clients:
        assert client.error is None, client.error
    latencies = np.concatenate([c.latencies for c in clients]) * 1e3  # ms
    done = len(latencies)
    figures = {
        "requests": done,
        "clients": CLIENTS,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(done / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "max_ms": round(float(latencies.max()), 2),
        "server_cpu_ms_per_request": round(server_cpu / done * 1e3, 3),
        "load_average": os.getloadavg()[0],
    }
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "lab-load.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nlab load test: {figures}")

    assert done == REQUESTS, f"only {done} requests within {TIME_LIMIT} s: {figures}"
    assert figures["requests_per_second"] >= 500, figures
    assert figures["p99_ms"] < 50, figures
