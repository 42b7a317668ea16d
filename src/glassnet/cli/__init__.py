"""The ``glassnet`` command: train, evaluate, predict, inspect, plot and download from the shell.

Built on Typer (Click) with Rich for progress bars and tables. Every command turns a user mistake
(a missing file, a bad architecture string, data that does not fit the model...) into one line
``error: ...`` and a non-zero exit status; ``--debug`` shows the traceback instead.

The package, from the bottom up: ``application`` (the Typer app, global options, the error guard,
``run``); the shared helpers ``options``, ``data``, ``building``, ``progress``, ``runs``, ``scores``
and ``inputs``; then one module per command. The commands are registered here, in the order
``glassnet --help`` lists them.
"""

from __future__ import annotations

from . import download, evaluate, inspect, lab, plot, predict, sweep, train
from .application import app, run

app.command()(train.train)
app.command()(evaluate.evaluate)
app.command()(predict.predict)
app.command()(inspect.inspect)
app.command()(plot.plot)
app.command()(download.download)
app.command()(lab.lab)
app.command()(sweep.sweep)

__all__ = ["app", "run"]
