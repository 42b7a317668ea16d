"""How the lab answers: JSON bodies, and `LabError` for a request it cannot serve."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


class LabError(Exception):
    """A request the lab cannot serve, answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def respond(data: Any, status: int = 200) -> Response:
    """``data`` as compact JSON; NaN and infinity are refused, as JSON has no such numbers."""
    body = json.dumps(data, allow_nan=False, separators=(",", ":")).encode()
    return Response(body, status, media_type="application/json")
