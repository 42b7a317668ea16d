"""``python -m glassnet.cli``: the ``glassnet`` command without its console-script entry point."""

from __future__ import annotations

from . import run

if __name__ == "__main__":
    run()
