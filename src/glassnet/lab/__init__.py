"""The lab: a local web page that shows a network thinking, neuron by neuron, and trains it.

``glassnet lab [MODEL]`` runs `serve`; `create_app` gives the ASGI app itself (for tests or
another server). The page lives in ``static/`` (plain HTML, CSS and JavaScript, no build step).

- ``app.py``: the FastAPI app (on Starlette): the route table, error answers, `serve`;
- ``guard.py``: Host/Origin checks, security headers, JSON bodies and their size limit;
- ``replies.py``: JSON answers and `LabError`;
- ``validation.py``: checks on numbers, drawings and whole numbers in a request;
- ``schemas.py``: every request body declared as a pydantic model, for `/openapi.json`;
- ``served.py``: the model the page uses, described as the page draws it;
- ``state.py``: the app's state (the served model and the trainer);
- ``routes/``: the endpoints by area: ``predict.py``, ``train.py``, ``models.py``;
- ``training.py``: the background training worker (one run at a time, on a copy);
- ``sources.py``: data sets, the drawing's preprocessing and model files;
- ``server.py``: the old import path, re-exporting `create_app` and `serve`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def _app():
    try:
        from . import app
    except ImportError as error:  # starlette or uvicorn missing
        raise ImportError(
            f"The lab needs its web server packages ({error.name} is missing): "
            "pip install 'glassnet[lab]'."
        ) from error
    return app


def create_app(*args: Any, **kwargs: Any):
    """See `glassnet.lab.app.create_app`."""
    return _app().create_app(*args, **kwargs)


def serve(*args: Any, **kwargs: Any) -> None:
    """See `glassnet.lab.app.serve`."""
    _app().serve(*args, **kwargs)
