"""``glassnet export``: a model as an ONNX file, or as plain NumPy code and weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassnet.io import numpy_export

from .application import STATE, UserError, guarded
from .runs import load_model

FORMATS = ("onnx", "numpy")


@guarded
def export(
    model_path: Annotated[str, typer.Argument(metavar="MODEL", help="Model file or run dir.")],
    format: Annotated[  # noqa: A002 - the option's name
        str, typer.Option("--format", "-f", help="onnx (a .onnx file) or numpy (a directory).")
    ] = "onnx",
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", help="Where to write: model.onnx, or a directory for numpy."),
    ] = None,
) -> None:
    """Export a model for ONNX Runtime (--format onnx) or as readable NumPy code (numpy)."""
    if format not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}.")
    model = load_model(model_path)
    if format == "onnx":
        # NOTE: imported here, not at the top: the onnx package is an optional extra, and
        # `glassnet --help` and every other command work without it.
        from glassnet import onnx as glassnet_onnx

        target = Path(out or "model.onnx")
        glassnet_onnx.export(model, target)
        STATE.say(f"Wrote {target} (ONNX; inputs 'input', outputs predictions and 'scores').")
    else:
        folder = Path(out or "model_numpy")
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--out {folder} is a file; the NumPy export writes a directory.")
        path = numpy_export.export_numpy(model, folder)
        STATE.say(f"Wrote {path} and {folder / 'weights.npz'}. Try: python {path} image.png")
    if STATE.json:
        STATE.emit(
            {
                "format": format,
                "out": str(out or ("model.onnx" if format == "onnx" else "model_numpy")),
            }
        )
