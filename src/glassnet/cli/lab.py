"""``glassnet lab``: start the lab, a local web page to draw a digit and watch every neuron."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassnet import lab as lab_server

from .application import guarded
from .options import check_number
from .runs import MODEL_FILE


@guarded
def lab(
    model_path: Annotated[
        str | None,
        typer.Argument(metavar="[MODEL]", help="A model file or run directory to start with."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (beyond loopback: a warning).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8000,
    model_dir: Annotated[str, typer.Option(help="Where the page saves and loads models.")] = ".",
    data_dir: Annotated[str | None, typer.Option(help="Look for data sets here first.")] = None,
    allow_host: Annotated[
        list[str] | None, typer.Option(help="An extra host name the lab answers to (repeatable).")
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = (
        False
    ),
    runs_dir: Annotated[
        str, typer.Option(help="The run directories the page lists (default runs).")
    ] = "runs",
) -> None:
    """Start the lab: a local web page to draw a digit and watch every neuron (Ctrl-C stops)."""
    check_number(port, "port", 0, 65_535)
    path = Path(model_path) if model_path else None
    if path is not None and path.is_dir():
        path = path / MODEL_FILE
    lab_server.serve(
        path,
        host=host,
        port=port,
        model_dir=model_dir,
        allowed_hosts=allow_host or (),
        data_dir=data_dir,
        open_browser=open_browser,
        runs_dir=runs_dir,
    )
