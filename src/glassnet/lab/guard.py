"""The lab's guard: who may talk to it, and what a request body may be.

The server answers only to its own host names (a page elsewhere cannot reach it through DNS
rebinding), refuses requests from other origins, and takes JSON bodies only (so a cross-site
form cannot post to it) up to `MAX_BODY_BYTES`, with finite numbers only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from starlette.requests import ClientDisconnect, Request

from . import sources
from .replies import LabError, respond

MAX_BODY_BYTES = 1_000_000
MAX_BODY_DEPTH = 32  # a drawing is 2 levels deep; deeper bodies are refused before parsing
BODY_SECONDS = 15.0  # a body that takes longer to arrive (a stalled or trickling client): 408
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class Guard:
    """ASGI middleware: check Host and Origin, and add security headers to every response.

    A page on another site can make the browser resolve its own name to 127.0.0.1 (DNS
    rebinding); its requests then carry its own name in Host, which is refused here, as Jupyter
    and TensorBoard do. Requests that name another Origin are refused too.
    """

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            b"frame-ancestors 'none'; form-action 'none'",
        ),
    ]

    # /docs (FastAPI's Swagger UI) loads its script and style from a CDN, and only that page
    # may; it reads the API from /openapi.json on this server.
    DOCS_HEADERS = [
        *HEADERS[:2],
        (
            b"content-security-policy",
            b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            b"style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: "
            b"https://fastapi.tiangolo.com; object-src 'none'; base-uri 'none'; "
            b"frame-ancestors 'none'; form-action 'none'",
        ),
    ]

    def __init__(self, app, allowed_hosts: Iterable[str], allow_any_ip: bool) -> None:
        self.app = app
        self.allowed = {name.lower().strip("[]") for name in allowed_hosts}
        self.allow_any_ip = allow_any_ip

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        refusal = self.check(scope.get("scheme", "http"), headers)
        if refusal is not None:
            status, message = refusal
            await respond({"error": message}, status)(scope, receive, send)
            return

        extra = self.DOCS_HEADERS if scope.get("path") == "/docs" else self.HEADERS

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def check(self, scheme: str, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if not host:
            return 400, "The request has no Host header."
        hostname = _hostname(host)
        if not self.host_allowed(hostname):
            return 403, (
                f"Host {host!r} is not allowed: the lab only answers to its own address (this "
                "protects it from DNS rebinding). Open it as http://127.0.0.1:<port>/, or start "
                f"it with --allow-host {hostname} if that name is yours."
            )
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1").lower() != f"{scheme}://{host}":
            return 403, (
                f"Requests from {origin.decode('latin-1')!r} are refused: only the lab's own "
                "page may use its API."
            )
        return None

    def host_allowed(self, hostname: str) -> bool:
        if hostname in self.allowed:
            return True
        if self.allow_any_ip:
            # An address in Host cannot come from DNS rebinding, which needs a name.
            with contextlib.suppress(ValueError):
                ipaddress.ip_address(hostname)
                return True
        return False


def _hostname(host: str) -> str:
    """``"127.0.0.1:8000"`` → ``"127.0.0.1"``; ``"[::1]:8000"`` → ``"::1"``."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, refusing other content types, big bodies and NaN."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise LabError(
            415, f"Send the body as JSON with Content-Type: application/json, got {content_type!r}."
        )
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise LabError(413, f"The body is larger than the lab's limit of {MAX_BODY_BYTES:,} bytes.")
    try:
        body = await asyncio.wait_for(_read_body(request), BODY_SECONDS)
    except TimeoutError:
        raise LabError(
            408, f"The body took longer than {BODY_SECONDS:g} s to arrive; send it at once."
        ) from None
    except ClientDisconnect:  # the client left mid-body: nobody to answer, nothing to log
        raise LabError(400, "The client disconnected before sending the whole body.") from None
    if not body.strip():
        raise LabError(400, "The body is empty; send a JSON object ({} when there is nothing).")
    nesting = sources.json_nesting(bytes(body), MAX_BODY_DEPTH)
    if nesting:
        raise LabError(422, f"The JSON body {nesting}; the lab's requests are at most 2 deep.")
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except _NotANumber as error:
        raise LabError(422, str(error)) from None
    except RecursionError:
        raise LabError(422, "The JSON body is nested too deeply.") from None
    except ValueError as error:
        raise LabError(400, f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise LabError(422, f"Send a JSON object {{...}}, got a {type(data).__name__}.")
    return data


async def _read_body(request: Request) -> bytearray:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise LabError(
                413, f"The body is larger than the lab's limit of {MAX_BODY_BYTES:,} bytes."
            )
    return body


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    raise _NotANumber(f"{name} is not a number the lab accepts: send finite numbers only.")
