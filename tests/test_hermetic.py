"""The test environment itself: no network beyond loopback, no DNS, no real home (issue 18)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_connections_beyond_loopback_are_refused():
    with socket.socket() as sock, pytest.raises(OSError, match="blocked: the tests may only"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never a real host
    with socket.socket(socket.AF_INET6) as sock, pytest.raises(OSError, match="blocked"):
        sock.connect_ex(("2001:db8::1", 80))


def test_name_lookups_are_refused_but_loopback_resolves():
    with pytest.raises(socket.gaierror, match="DNS lookup of 'example.com' blocked"):
        socket.getaddrinfo("example.com", 80)
    with pytest.raises(socket.gaierror, match="blocked"):
        socket.gethostbyname("pypi.org")
    assert socket.getaddrinfo("localhost", 80)
    assert socket.gethostbyname("127.0.0.1") == "127.0.0.1"


def test_loopback_connections_work():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            server.accept()[0].close()


def test_a_wildcard_bind_listens_on_loopback_only():
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        assert sock.getsockname()[0] == "127.0.0.1"
    with socket.socket() as sock, pytest.raises(OSError, match="listening on"):
        sock.bind(("192.0.2.1", 0))


def test_home_caches_and_data_are_temporary(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    assert Path(os.environ["HOME"]).is_relative_to(base)
    for variable in ["XDG_CACHE_HOME", "XDG_CONFIG_HOME", "GLASSNET_DATA"]:
        folder = Path(os.environ[variable])
        assert folder.is_relative_to(Path(os.environ["HOME"])), (variable, folder)
        assert folder.is_dir() and not any(folder.iterdir()), variable
    assert Path("~").expanduser().is_relative_to(base)


def test_python_subprocesses_get_the_same_guard():
    code = (
        "import socket\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 80)\n"
        "except socket.gaierror as e:\n"
        "    print('refused:', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "refused:" in result.stdout and "blocked" in result.stdout
