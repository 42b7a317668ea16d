"""Keep the tests off the network: loopback only, no DNS (issue 18).

Installed in the pytest process by ``tests/conftest.py`` and in every Python subprocess the tests
start through ``sitecustomize.py`` in this folder (the conftest puts it first on PYTHONPATH).

- ``connect`` to anything but a loopback address or a Unix socket raises ``OSError``;
- name lookups (``getaddrinfo``, ``gethostbyname``) of anything but ``localhost`` or a loopback
  literal raise ``socket.gaierror``, as they would on a machine without DNS;
- ``bind`` to a wildcard address (``0.0.0.0``, ``::``, ``""``) binds loopback instead, so code
  that listens "beyond loopback" runs (its warning, its host checks) without being reachable;
  any other non-loopback address is refused.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

ENV = "GLASSNET_TEST_NETWORK_GUARD"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
WILDCARDS = {"", "0.0.0.0", "::", "0:0:0:0:0:0:0:0"}
_original: dict[str, Any] = {}


def is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _host_of(address: object) -> object:
    return address[0] if isinstance(address, tuple) and address else address


def _blocked(what: str, address: object) -> OSError:
    return OSError(
        errno.ENETUNREACH,
        f"{what} {address!r} blocked: the tests may only reach loopback (tests/hermetic)",
    )


def _connect(sock: socket.socket, address: Any) -> Any:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(_host_of(address)):
        raise _blocked("connection to", address)
    return _original["connect"](sock, address)


def _connect_ex(sock: socket.socket, address: Any) -> Any:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(_host_of(address)):
        raise _blocked("connection to", address)
    return _original["connect_ex"](sock, address)


def _bind(sock: socket.socket, address: Any) -> Any:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = _host_of(address)
        if host in WILDCARDS:
            loopback = "127.0.0.1" if sock.family == socket.AF_INET else "::1"
            address = (loopback, *address[1:])
        elif not is_loopback(host):
            raise _blocked("listening on", address)
    return _original["bind"](sock, address)


def _lookup_allowed(host: object) -> bool:
    return host is None or host in WILDCARDS or is_loopback(host)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _lookup_allowed(host):
        raise socket.gaierror(
            socket.EAI_NONAME, f"DNS lookup of {host!r} blocked in the tests (tests/hermetic)"
        )
    return _original["getaddrinfo"](host, *args, **kwargs)


def _gethostbyname(host: Any) -> Any:
    if not _lookup_allowed(host):
        raise socket.gaierror(
            socket.EAI_NONAME, f"DNS lookup of {host!r} blocked in the tests (tests/hermetic)"
        )
    return _original["gethostbyname"](host)


def install() -> None:
    """Patch the socket module of this process (once)."""
    if _original:
        return
    _original.update(
        connect=socket.socket.connect,
        connect_ex=socket.socket.connect_ex,
        bind=socket.socket.bind,
        getaddrinfo=socket.getaddrinfo,
        gethostbyname=socket.gethostbyname,
    )
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.socket.bind = _bind  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
