"""The lab: a local web page that shows a network thinking, neuron by neuron, and trains it.

``glassnet lab [MODEL]`` runs `serve`; `create_app` gives the ASGI app itself (for tests or
another server). The page lives in ``static/`` (plain HTML, CSS and JavaScript, no build step).

- ``server.py``: the Starlette app: the JSON API, Host/Origin checks, the page;
- ``training.py``: the background training worker (one run at a time, on a copy);
- ``sources.py``: data sets, the drawing's preprocessing and model files.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def _server():
    try:
        from . import server
    except ImportError as error:  # starlette or uvicorn missing
        raise ImportError(
            f"The lab needs its web server packages ({error.name} is missing): "
            "pip install 'glassnet[lab]'."
        ) from error
    return server


def create_app(*args: Any, **kwargs: Any):
    """See `glassnet.lab.server.create_app`."""
    return _server().create_app(*args, **kwargs)


def serve(*args: Any, **kwargs: Any) -> None:
    """See `glassnet.lab.server.serve`."""
    _server().serve(*args, **kwargs)
