"""``glassnet.lab.server``: the names this module held before the lab was split (issue 10).

The app now lives in `glassnet.lab.app`; this module re-exports its entry points so that
``from glassnet.lab import server; server.create_app(...)`` keeps working.
"""

from __future__ import annotations

from .app import create_app, is_loopback, listen, serve
from .replies import LabError

__all__ = ["LabError", "create_app", "is_loopback", "listen", "serve"]
