#!/usr/bin/env python3
"""Load benchmark of the lab: requests/s and latency of predict-with-trace on loopback (issue 6).

    python benchmarks/lab_load.py                       # 2,000 requests over 4 connections
    python benchmarks/lab_load.py --requests 200 --json lab-load.json

The bar from issue 6: at least 500 requests/s with a 99th percentile under 50 ms for the page's
own request (a 112×112 drawing of a real MNIST digit, preprocessed, traced through 784-16-16-10),
served by the real server (``python -m glassnet.lab``, its own process). The clients are plain
keep-alive HTTP/1.1 connections on raw sockets in a few threads, so the figures are the server's
rather than a slow client library's. The run is bounded in count and in time (``--time-limit``).

These are figures for an idle machine: the test suite checks only that the answers are right
under concurrency (tests/lab/test_lab_load.py), never a rate. ``--check`` exits 1 when the bar
is missed.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RPS, TARGET_P99_MS = 500.0, 50.0


def mnist_digit(index: int = 8026) -> np.ndarray:
    """A real MNIST test digit (8026 is a 3) as 0–255 levels (28, 28), from ../shared."""
    shared = Path(os.environ.get("GLASSNET_SHARED", REPO_ROOT.parent / "shared"))
    data = gzip.decompress((shared / "data/mnist/t10k-images-idx3-ubyte.gz").read_bytes())
    return np.frombuffer(data, np.uint8, 784, 16 + 784 * index).reshape(28, 28)


def page_request(digit: np.ndarray, port: int) -> bytes:
    """POST /api/predict with the digit drawn at 112×112, packed as the page sends it."""
    drawing = np.kron(digit, np.ones((4, 4), np.uint8))
    packed = {"width": 112, "height": 112, "data": base64.b64encode(drawing.tobytes()).decode()}
    body = json.dumps({"image": packed}).encode()
    return (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def read_response(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    """One HTTP/1.1 200 response's body, and what was read past it."""
    while b"\r\n\r\n" not in buffer:
        buffer += receive(sock)
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"unexpected answer: {head[:200]!r}")
    fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
    length = int(next(v for k, v in fields.items() if k.lower() == b"content-length"))
    while len(buffer) < length:
        buffer += receive(sock)
    return buffer[:length], buffer[length:]


def receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("The server closed the connection.")
    return chunk


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
                    body, buffer = read_response(sock, buffer)
                    self.latencies.append(time.perf_counter() - start)
                    if b'"prediction":' not in body:
                        raise ConnectionError(f"no prediction in {body[:200]!r}")
        except BaseException as error:  # reported by main
            self.error = error


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port: int, pid: int, requests: int, clients: int, time_limit: float) -> dict:
    request = page_request(mnist_digit(), port)
    warm_up = Client(port, request, 50, time.monotonic() + time_limit)
    warm_up.run()
    if warm_up.error is not None:
        raise warm_up.error
    deadline = time.monotonic() + time_limit
    threads = [Client(port, request, requests // clients, deadline) for _ in range(clients)]
    cpu_before = cpu_seconds(pid)
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit + 5)
    elapsed = time.perf_counter() - start
    server_cpu = cpu_seconds(pid) - cpu_before
    for thread in threads:
        if thread.error is not None:
            raise thread.error
    latencies = np.concatenate([t.latencies for t in threads]) * 1e3  # ms
    done = len(latencies)
    return {
        "requests": done,
        "clients": clients,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(done / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "max_ms": round(float(latencies.max()), 2),
        "server_cpu_ms_per_request": round(server_cpu / done * 1e3, 3),
        "load_average": os.getloadavg()[0],
        "target": f">= {TARGET_RPS:g} requests/s, p99 < {TARGET_P99_MS:g} ms",
        "met": bool(done / elapsed >= TARGET_RPS and np.percentile(latencies, 99) < TARGET_P99_MS),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 if the bar is missed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="glassnet-lab-load-") as model_dir:
        command = [sys.executable, "-m", "glassnet.lab", "--port", "0", "--model-dir", model_dir]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline() if server.stdout else ""
            if "http://127.0.0.1:" not in line:
                raise RuntimeError(f"the lab did not start: {line!r}")
            port = int(line.split()[2].rstrip("/").rsplit(":", 1)[1])
            figures = measure(port, server.pid, args.requests, args.clients, args.time_limit)
        finally:
            server.terminate()
            server.wait(10)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 1 if args.check and not figures["met"] else 0


if __name__ == "__main__":
    sys.exit(main())
