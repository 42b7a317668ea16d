"""``GET /api/model`` and ``/api/models``: the model the page uses, and its model files.

Files are read and written only directly inside the model directory, by plain names.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import Sequential
from .. import sources
from ..guard import read_json
from ..replies import LabError, respond
from ..state import lab_of

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


async def get_model(request: Request) -> Response:
    return respond(lab_of(request).served().with_info())


def model_path(model_dir: Path, name: Any) -> Path:
    """``<model_dir>/<name>.glassnet`` for a plain file name; a 400 for anything else."""
    if not isinstance(name, str):
        raise LabError(422, f"name must be a string, got {json.dumps(name)}.")
    stem = name[: -len(sources.MODEL_SUFFIX)] if name.endswith(sources.MODEL_SUFFIX) else name
    if not MODEL_NAME.fullmatch(stem) or ".." in stem:
        raise LabError(
            400,
            f"Invalid model name {name!r}: use a plain file name of letters, digits, '-', '_' "
            "and '.', up to 64 characters, without folders ('/', '\\', '..').",
        )
    path = model_dir / f"{stem}{sources.MODEL_SUFFIX}"
    if path.resolve().parent != model_dir.resolve():  # e.g. a symbolic link leading out
        raise LabError(400, f"{name!r} does not lead to a file inside the model directory.")
    return path


async def list_models(request: Request) -> Response:
    model_dir = lab_of(request).model_dir
    files = sorted(model_dir.glob(f"*{sources.MODEL_SUFFIX}"))
    return respond(
        {
            "model_dir": str(model_dir),
            "models": [
                {"name": f.stem, "bytes": f.stat().st_size, "modified": f.stat().st_mtime}
                for f in files
                if f.is_file()
            ],
        }
    )


async def save_model(request: Request) -> Response:
    data = await read_json(request)
    unknown = set(data) - {"name", "overwrite"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send name (and overwrite).")
    lab = lab_of(request)
    path = model_path(lab.model_dir, data.get("name"))
    overwrite = data.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise LabError(422, "overwrite must be true or false.")
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise LabError(
            409, f"{path.name} in the model directory is a folder or special file; choose another "
            "name.",
        )  # fmt: skip
    if path.exists() and not overwrite:
        raise LabError(
            409, f"{path.name} already exists in the model directory; send overwrite: true."
        )
    served = lab.served()
    try:
        await asyncio.to_thread(sources.save_model, served.model, path)
    except OSError as error:  # a full disk or read-only folder: a conflict with its state
        reason = (error.strerror or "unknown error").lower()
        raise LabError(409, f"Could not write {path.name}: {reason}.") from None
    return respond(
        {"saved": path.name, "path": str(path), "model_version": served.version}, status=201
    )


async def load_model(request: Request) -> Response:
    data = await read_json(request)
    unknown = set(data) - {"name"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send name.")
    lab = lab_of(request)
    path = model_path(lab.model_dir, data.get("name"))
    if not path.is_file():
        raise LabError(404, f"No model file {path.name} in the model directory.")
    try:
        model = await asyncio.to_thread(sources.load_model, path)
    except sources.MODEL_FILE_ERRORS as error:
        raise LabError(422, f"{path.name} is not a model the lab can use: {error}") from None
    if not isinstance(model, Sequential):
        raise LabError(422, f"{path.name} holds a {type(model).__name__}, not a network.")
    served = lab.use(model, path.name)
    return respond(served.with_info())
