"""The Typer app, its global options (``--quiet``, ``--json``, ``--debug``) and the error guard.

Every command is wrapped in :func:`guarded`, which turns a user mistake (a missing file, a bad
architecture string, data that does not fit the model...) into one line ``error: ...`` and exit
status 1; ``--debug`` shows the traceback instead. The commands register themselves on :data:`app`
in ``glassnet.cli``'s ``__init__``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

try:
    import typer
    from rich.console import Console
    from rich.markup import escape
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('The glassnet command needs its extra: pip install "glassnet[cli]"') from None

app = typer.Typer(
    name="glassnet",
    help="A neural network you can see through, that is also fast.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class UserError(Exception):
    """A mistake the user can fix; printed as one line without a traceback."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """Text with control characters (terminal escape sequences) shown as ``\\x1b``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def plain(text: object) -> str:
    """Text from files or users made safe for the terminal: control characters (escape
    sequences) shown as ``\\x1b`` and Rich markup such as ``[bold]`` shown as written."""
    return escape(printable(text))


def sentence(error: BaseException) -> str:
    """An error as a sentence for the user, never a raw exception text."""
    if isinstance(error, OSError) and error.strerror:
        where = f" {error.filename}" if error.filename else ""
        return f"Cannot use{where}: {error.strerror.lower()}."
    if isinstance(error, MemoryError):
        return "Not enough memory for this request; use smaller sizes or less data."
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    text = str(error).strip() or type(error).__name__
    return text if text[-1] in ".!?)" else text + "."


@dataclass
class State:
    """The global options of this invocation and the consoles the commands print to."""

    debug: bool = False
    quiet: bool = False
    json: bool = False
    console: Any = None
    error_console: Any = None

    def say(self, *args: Any, **kwargs: Any) -> None:
        if not self.quiet and not self.json:
            self.console.print(*args, **kwargs)

    def emit(self, record: dict[str, Any]) -> None:
        """One JSON line on stdout (``--json`` mode)."""
        print(json.dumps(record), flush=True)


STATE = State()


@app.callback()
def main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the results.")] = False,
    json_lines: Annotated[
        bool, typer.Option("--json", help="Machine-readable output: one JSON object per line.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """glassnet: train, evaluate, predict with and look inside neural networks."""
    STATE.debug, STATE.quiet, STATE.json = debug, quiet, json_lines
    STATE.console = Console(highlight=False)
    STATE.error_console = Console(stderr=True, highlight=False)


def guarded(function: Callable[..., None]) -> Callable[..., None]:
    """Turn expected errors into one clear line and exit status 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (
            UserError,
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            OSError,
            ImportError,
            FloatingPointError,
            MemoryError,
        ) as error:
            if STATE.debug:
                raise
            message = printable(sentence(error))
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


def run() -> None:
    """Entry point of the ``glassnet`` command."""
    app()
