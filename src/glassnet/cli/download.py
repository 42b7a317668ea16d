"""``glassnet download``: fetch MNIST or Fashion-MNIST into the cache, checksums verified."""

from __future__ import annotations

from typing import Annotated

import typer

from glassnet import datasets

from .application import STATE, UserError, guarded


@guarded
def download(
    name: Annotated[str, typer.Argument(help="mnist or fashion-mnist.")],
    data_dir: Annotated[str | None, typer.Option(help="Download here instead of the cache.")] = (
        None
    ),
    mirror: Annotated[
        list[str] | None,
        typer.Option(
            help="Base URL to download from instead of the data set's own mirrors (repeatable)."
        ),
    ] = None,
) -> None:
    """Fetch a named data set into the cache (checksums verified, progress shown)."""
    if name not in ("mnist", "fashion-mnist"):
        raise UserError(f"Unknown data set {name!r}; expected mnist or fashion-mnist.")
    # What is on disk first (e.g. Debian's Fashion-MNIST): no network when it is all there.
    found = datasets.find(name, data_dir) if not mirror else None
    if found is not None and (data_dir is None or found.is_relative_to(data_dir)):
        if STATE.json:
            STATE.emit({"event": "download", "name": name, "folder": str(found), "found": True})
        else:
            print(f"{name}: already on this machine at {found} (nothing downloaded)")
        return
    folder = datasets.download(
        name, data_dir, mirrors=mirror or None, progressbar=not STATE.quiet and not STATE.json
    )
    if STATE.json:
        STATE.emit({"event": "download", "name": name, "folder": str(folder)})
    else:
        print(f"{name}: {folder}")
