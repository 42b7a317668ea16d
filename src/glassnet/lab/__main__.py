"""``python -m glassnet.lab [MODEL] [--host H] [--port P] [--model-dir D]``: run the lab.

The same as ``glassnet lab``, for use without the command line entry point.
"""

from __future__ import annotations

import argparse
import sys

from . import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m glassnet.lab", description=__doc__)
    parser.add_argument("model", nargs="?", help="a model file to start with")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--model-dir", default=".", help="where the page saves and loads models")
    parser.add_argument("--data-dir", help="where to look first for MNIST and Fashion-MNIST")
    parser.add_argument("--allow-host", action="append", default=[], help="extra Host name")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    args = parser.parse_args(argv)
    try:
        serve(
            args.model,
            host=args.host,
            port=args.port,
            model_dir=args.model_dir,
            allowed_hosts=args.allow_host,
            data_dir=args.data_dir,
            open_browser=args.open,
        )
    except (OSError, ValueError) as error:  # no file, not a model file, address in use...
        print(f"glassnet lab: {error}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
