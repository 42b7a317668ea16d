"""Helpers for the lab tests: drawings in the API's forms, polling, a real server in a thread."""

from __future__ import annotations

import base64
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

# Screenshots and figures for people to look at: in the temporary folder, never the repository
# (issue 18); $GLASSNET_TEST_OUTPUT chooses another place.
OUTPUT = Path(
    os.environ.get("GLASSNET_TEST_OUTPUT", Path(tempfile.gettempdir()) / "glassnet-test-output")
)


def drawing_of(digit: np.ndarray, scale: int = 4) -> np.ndarray:
    """The digit blown up to (28·scale)² pixels, like the page's 112×112 drawing."""
    return np.kron(digit, np.ones((scale, scale), np.uint8))


def packed(drawing: np.ndarray) -> dict:
    """The compact form the page sends: base64 bytes row by row."""
    height, width = drawing.shape
    data = base64.b64encode(drawing.astype(np.uint8).tobytes()).decode()
    return {"width": width, "height": height, "data": data}


def wait_for(condition, timeout: float = 20.0, every: float = 0.02):
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"Timed out after {timeout} s waiting for {condition}.")


class ServerThread:
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread of this process."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=10)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
