"""The lab's web server: the page, and a small JSON API over one model.

Endpoints (all JSON; errors are ``{"error": message}`` with a 4xx status):

====================  ===========================================================================
GET  /api/model       the model the page uses: layers, sizes, class names, what can be shown
POST /api/predict     ``{"image": drawing}`` or ``{"input": [numbers]}`` → the full trace
POST /api/neuron      ``{"layer", "index", "image" | "input"?}`` → one neuron, its formula
GET  /api/train       the training status and history
POST /api/train       start training a copy (``{"dataset", "hidden", "epochs", ...}``); 409 if busy
POST /api/train/stop  stop the run in progress after its current batch
GET  /api/train/events  server-sent events of the run in progress
GET  /api/models      the model files in the model directory
POST /api/models/save ``{"name", "overwrite"?}`` → ``<model_dir>/<name>.glassnet``
POST /api/models/load ``{"name"}`` → the page uses that file's model
====================  ===========================================================================

A drawing is a 2-D list of ink levels 0–255 (0 = background), or, compactly,
``{"width", "height", "data"}`` with the levels as base64 bytes row by row. It is preprocessed
as MNIST was (`sources.preprocess`), and the 28×28 input the network saw comes back with the trace.

Safety: the server answers only to its own host names (a page elsewhere cannot reach it through
DNS rebinding), refuses requests from other origins, takes JSON bodies only (so a cross-site
form cannot post to it) up to 1 MB, and reads or writes model files only directly inside the
model directory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import ipaddress
import json
import logging
import re
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import MLP, Dense, Sequential, optimizers
from . import sources
from .training import Trainer, TrainingBusyError, TrainingConfig, weight_pictures

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 1_000_000
MAX_DRAWING_SIDE = 1024
MAX_INPUT_MAGNITUDE = 1e6
MAX_LINKS = 600  # connections drawn between two layers; the strongest when there are more
LIVE_LINKS = 6  # per first-layer neuron of an image model: its strongest inputs right now
TERMS = 8  # the largest w·x products listed for a neuron
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TRAINING_LIMITS = {
    "epochs": (1, 100),
    "samples": (100, 100_000),
    "batch_size": (1, 4096),
    "hidden_size": (1, 1024),
    "hidden_layers": (0, 6),
}
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
OPTIMIZERS = tuple(optimizers.OPTIMIZERS)

log = logging.getLogger("glassnet.lab")


class LabError(Exception):
    """A request the lab cannot serve, answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Served:
    """The model the page uses and what the page needs to draw it. Replaced whole, never edited."""

    model: Sequential
    version: int
    name: str
    trained: bool
    image_side: int | None  # 28 when the input is a 28×28 grey image the drawing pad can feed
    info: dict[str, Any]

    @classmethod
    def of(cls, model: Sequential, version: int, name: str, trained: bool) -> Served:
        image_side, why_not = drawable(model)
        info = describe(model, image_side, why_not)
        return cls(model, version, name, trained, image_side, info)

    def with_info(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.name, "trained": self.trained, **self.info}


def drawable(model: Sequential) -> tuple[int | None, str]:
    """28 if the drawing pad can feed ``model`` (28×28 grey images), else None and why not.

    A model file says what its inputs are (``model.preprocessing``, as `glassnet train` writes
    it); a model built in Python without that is taken as an image model if it has 784 inputs.
    """
    prep = getattr(model, "preprocessing", None) or {}
    kind, size = prep.get("kind"), prep.get("image_size")
    color = prep.get("color", "grayscale")
    if kind == "image" and (list(size or []) != [28, 28] or color != "grayscale"):
        shape = "×".join(map(str, size or [])) or "other"
        return None, (
            f"This model takes {shape} {color} images; the drawing pad makes 28×28 grey inputs "
            "as MNIST's, so it cannot feed it. Type its input as numbers instead."
        )
    if kind in (None, "image") and model.n_inputs == 28 * 28:
        return 28, ""
    what = "rows of a table" if kind == "table" else f"{model.n_inputs} numbers"
    return None, (
        f"This model takes {what}, not a 28×28 image, so the drawing pad cannot feed it; type "
        "its input as numbers instead."
    )


def describe(model: Sequential, image_side: int | None, why_not: str = "") -> dict[str, Any]:
    """The model as the page draws it: columns of neurons and the connections between them."""
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    trace = model.trace(np.zeros(model.n_inputs, model.dtype))
    classify = model.output in ("softmax", "sigmoid")
    class_names = model.class_names
    if classify and class_names is None and model.output == "softmax":
        class_names = [str(i) for i in range(model.n_outputs)]
    layers, links = [], []
    for i, (layer, lt) in enumerate(zip(dense, trace.layers, strict=True)):
        layers.append(
            {
                "name": lt.name,
                "activation": lt.activation,
                "n_inputs": layer.n_inputs,
                "n_neurons": layer.n_neurons,
            }
        )
        live = i == 0 and image_side is not None
        links.append({"live": True, "shown": LIVE_LINKS} if live else _strongest(layer.W.value))
    limits = []
    if image_side is None:
        limits.append(why_not)
    if not classify:
        limits.append(
            "This is a regression model (output 'identity'): it has no class probabilities to "
            "show, only its output values."
        )
    elif model.output == "sigmoid":
        limits.append(
            "The outputs are independent sigmoid probabilities, not a softmax over classes."
        )
    return {
        "n_inputs": model.n_inputs,
        "image": None if image_side is None else {"height": image_side, "width": image_side},
        "output": model.output,
        "task": "classification" if classify else "regression",
        "class_names": class_names,
        "sizes": [model.n_inputs] + [layer.n_neurons for layer in dense],
        "n_parameters": model.n_parameters,
        "layers": layers,
        "links": links,
        "limits": limits,
        "first_layer": weight_pictures(model),
    }


def _strongest(W: np.ndarray) -> dict[str, Any]:
    """The connections of a layer to draw: all of them, or the MAX_LINKS with the largest |w|."""
    flat = np.abs(W).ravel()
    if flat.size > MAX_LINKS:
        keep = np.argpartition(flat, flat.size - MAX_LINKS)[-MAX_LINKS:]
    else:
        keep = np.arange(flat.size)
    keep = keep[np.argsort(flat[keep])]  # weakest first, so the strongest are drawn on top
    sources_, targets = np.unravel_index(keep, W.shape)
    return {
        "live": False,
        "total": int(W.size),
        "from": sources_.tolist(),
        "to": targets.tolist(),
        "w": W.ravel()[keep].astype(float).tolist(),
        "max_abs": float(flat.max()) if flat.size else 0.0,
    }


def default_model() -> Sequential:
    """An untrained 784-16-16-10 sigmoid network: the picture from the textbooks, to train."""
    model = MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
    model.class_names = [str(i) for i in range(10)]
    return model


class Lab:
    """The app's state: the served model (replaced whole) and the one background trainer."""

    def __init__(
        self, model: Sequential, name: str, trained: bool, model_dir: Path, trainer: Trainer
    ) -> None:
        self.model_dir = model_dir
        self.trainer = trainer
        self._served = Served.of(model, 1, name, trained)
        self._adopted_run = 0

    def served(self) -> Served:
        """The current model, after adopting the result of a finished training run."""
        run = self.trainer.run
        if run is not None and run.model is not None and run.id != self._adopted_run:
            self._adopted_run = run.id
            dense = [la for la in run.model.layers if isinstance(la, Dense)]
            sizes = "-".join(str(n) for n in [run.model.n_inputs] + [d.n_neurons for d in dense])
            self.use(run.model, f"{sizes} trained on {run.config.dataset} in the lab")
        return self._served

    def use(self, model: Sequential, name: str, trained: bool = True) -> Served:
        self._served = Served.of(model, self._served.version + 1, name, trained)
        return self._served


# ------------------------------------------------------------------------------- requests


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, refusing other content types, big bodies and NaN."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise LabError(
            415, f"Send the body as JSON with Content-Type: application/json, got {content_type!r}."
        )
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise LabError(413, f"The body is larger than the lab's limit of {MAX_BODY_BYTES:,} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise LabError(
                413, f"The body is larger than the lab's limit of {MAX_BODY_BYTES:,} bytes."
            )
    try:
        data = json.loads(body or b"{}", parse_constant=_refuse_constant)
    except _NotANumber as error:
        raise LabError(422, str(error)) from None
    except ValueError as error:
        raise LabError(400, f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise LabError(422, f"Send a JSON object {{...}}, got a {type(data).__name__}.")
    return data


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    raise _NotANumber(f"{name} is not a number the lab accepts: send finite numbers only.")


def _numbers(value: Any, name: str) -> np.ndarray:
    """A JSON list (of lists) of finite numbers as a float64 array, or a 422 saying why not."""
    if not isinstance(value, list):
        raise LabError(422, f"{name} must be a list of numbers, got {type(value).__name__}.")
    try:
        array = np.asarray(value)
    except ValueError:
        message = f"{name} must be a rectangular list of numbers (rows of one length)."
        raise LabError(422, message) from None
    if array.dtype.kind not in "iuf":
        raise LabError(
            422, f"{name} must hold only numbers (and rows of one length), found {_culprit(value)}."
        )
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise LabError(422, f"{name} holds a number too large to be finite.")
    return array


def _culprit(value: Any) -> str:
    """The first non-number in a nested list, for the error message."""
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            if stack and isinstance(stack[0], list) and len(item) != len(stack[0]):
                return "rows of different lengths"
            stack[:0] = item
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return f"{json.dumps(item)!s:.40}"
    return "nested lists of different depths"


def _drawing(value: Any) -> np.ndarray:
    """A drawing: 2-D ink levels 0–255 from a list of rows or ``{"width", "height", "data"}``."""
    if isinstance(value, dict):
        unknown = set(value) - {"width", "height", "data"}
        if unknown:
            raise LabError(422, f"image has unknown keys {sorted(unknown)}; expected width, "
                           "height and data (base64 bytes).")  # fmt: skip
        width, height = (
            _int(value.get("width"), "image.width"),
            _int(value.get("height"), "image.height"),
        )
        _check_side(height, width)
        data = value.get("data")
        if not isinstance(data, str):
            raise LabError(422, "image.data must be a base64 string of width × height bytes.")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise LabError(422, "image.data is not valid base64.") from None
        if len(raw) != width * height:
            raise LabError(
                422,
                f"image.data holds {len(raw)} bytes; a {width}×{height} image needs "
                f"{width * height} (one ink level 0–255 per pixel, row by row).",
            )
        return np.frombuffer(raw, np.uint8).reshape(height, width)
    array = _numbers(value, "image")
    if array.ndim != 2:
        raise LabError(
            422, f"image must be a list of rows (2-D), got {array.ndim} dimension(s) of numbers."
        )
    _check_side(*array.shape)
    if array.min() < 0 or array.max() > 255:
        raise LabError(422, "image holds ink levels outside 0–255 (0 is background).")
    return array


def _check_side(height: int, width: int) -> None:
    low, high = 28, MAX_DRAWING_SIDE
    if not (low <= height <= high and low <= width <= high):
        sizes = f"{low}×{low} and {high}×{high}"
        raise LabError(422, f"image must be between {sizes} pixels, got {width}×{height}.")


def _int(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LabError(422, f"{name} must be a whole number, got {json.dumps(value)}.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise LabError(422, f"{name} must be from {low} to {high}, got {value}.")
    return value


def network_input(data: dict[str, Any], served: Served) -> np.ndarray:
    """The network's input from a request: a preprocessed drawing or the numbers as given."""
    if "image" in data and "input" in data:
        raise LabError(422, "Send either image (a drawing) or input (numbers), not both.")
    if "image" in data:
        if served.image_side is None:
            raise LabError(422, served.info["limits"][0])
        return sources.preprocess(_drawing(data["image"])).reshape(-1)
    if "input" in data:
        x = _numbers(data["input"], "input").reshape(-1)
        if x.size != served.model.n_inputs:
            raise LabError(
                422,
                f"input must hold the model's {served.model.n_inputs} input values, got {x.size}.",
            )
        if np.abs(x).max() > MAX_INPUT_MAGNITUDE:
            raise LabError(
                422,
                f"input holds values beyond ±{MAX_INPUT_MAGNITUDE:g}; give values on the scale the "
                "model was trained on (0–1 for images).",
            )
        return x.astype(served.model.dtype)
    raise LabError(
        422,
        "Send image (a drawing: rows of ink levels 0–255) or input "
        f"(the model's {served.model.n_inputs} input values).",
    )


def _trace(served: Served, x: np.ndarray):
    with np.errstate(over="ignore", invalid="ignore"):  # reported below as a 422
        trace = served.model.trace(x)
    if not all(np.isfinite(t.a).all() and np.isfinite(t.z).all() for t in trace.layers):
        raise LabError(422, "The network's sums overflow for this input; use smaller values.")
    return trace


def _label(served: Served, prediction: Any) -> str | None:
    names = served.info["class_names"]
    if names is not None and isinstance(prediction, int) and 0 <= prediction < len(names):
        return str(names[prediction])
    return None


# ------------------------------------------------------------------------------- endpoints


def _lab(request: Request) -> Lab:
    return request.app.state.lab


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def favicon(request: Request) -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


async def get_model(request: Request) -> Response:
    return respond(_lab(request).served().with_info())


async def predict(request: Request) -> Response:
    """The trace of one input: every layer's z and a, the output and the input actually used."""
    start = time.perf_counter()
    data = await read_json(request)
    served = _lab(request).served()
    x = network_input(data, served)
    trace = _trace(served, x)
    prediction = np.asarray(trace.prediction).tolist()
    result: dict[str, Any] = {
        "model_version": served.version,
        "input": trace.input.tolist(),
        "blank": not bool(trace.input.any()),
        "layers": [
            {"name": t.name, "activation": t.activation, "z": t.z.tolist(), "a": t.a.tolist()}
            for t in trace.layers
        ],
        "output": trace.output.tolist(),
        "prediction": prediction,
        "label": _label(served, prediction),
    }
    if served.image_side is not None:
        # Each first-layer neuron's strongest inputs for this drawing: the pixels i with the
        # largest |wᵢ·xᵢ|, drawn as connections from the input picture.
        # Only inked pixels (xᵢ > 0) can contribute, so only their rows are looked at. The
        # strengths are whole percentages of the largest |wᵢ·xᵢ|, signed like wᵢ: they only set
        # a line's colour and width (the exact numbers are in /api/neuron), and small integers
        # keep the answer short and fast to encode.
        first = trace.layers[0]
        inked = np.flatnonzero(first.inputs)  # (n_inked,)
        products = first.weights[inked] * first.inputs[inked, None]  # (n_inked, n_neurons)
        k = min(LIVE_LINKS, inked.size)
        top = (
            np.argpartition(-np.abs(products), k - 1, axis=0)[:k]  # (k, n_neurons)
            if k
            else np.zeros((0, products.shape[1]), np.intp)
        )
        strongest = products[top, np.arange(products.shape[1])]  # (k, n_neurons)
        scale = np.abs(strongest).max() if strongest.size else 1.0
        result["live_links"] = {
            "from": inked[top].T.tolist(),
            "strength": np.round(100 * strongest / (scale or 1.0)).astype(int).T.tolist(),
        }
    result["ms"] = round((time.perf_counter() - start) * 1e3, 3)
    return respond(result)


async def neuron(request: Request) -> Response:
    """One neuron: bias, weights, and for an input its weighted sum, activation and formula."""
    data = await read_json(request)
    served = _lab(request).served()
    unknown = set(data) - {"layer", "index", "image", "input"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send layer, index and an input.")
    n_layers = len(served.info["layers"])
    layer = _int(data.get("layer"), "layer")
    if not 0 <= layer < n_layers:
        raise LabError(
            404,
            f"No layer {layer}: this model has {n_layers} layers of neurons, 0 to {n_layers - 1} "
            "(0 is the first hidden layer; the input has no neurons).",
        )
    size = served.info["layers"][layer]["n_neurons"]
    index = _int(data.get("index"), "index")
    if not 0 <= index < size:
        raise LabError(
            404, f"No neuron {index} in layer {layer}: it has {size} neurons, 0 to {size - 1}."
        )
    x = network_input(data, served) if "image" in data or "input" in data else None
    if x is None:
        cell = served.model.neuron(layer, index)
    else:
        cell = _trace(served, x).neuron(layer, index)
    last = layer == n_layers - 1
    result: dict[str, Any] = {
        "model_version": served.version,
        "layer": layer,
        "layer_name": cell.layer,
        "index": index,
        "activation": cell.activation,
        "label": _label(served, index) if last else None,
        "n_inputs": int(cell.weights.size),
        "bias": cell.bias,
        "weights": cell.weights.astype(float).tolist(),
        "picture": served.info["image"] if layer == 0 else None,
        "formula": cell.formula(terms=TERMS),
    }
    if cell.inputs is not None:
        products = cell.weights.astype(np.float64) * cell.inputs  # (n_inputs,)
        order = np.argsort(-np.abs(products), kind="stable")[:TERMS]
        result.update(
            z=cell.z,
            a=cell.a,
            weighted_sum=float(products.sum()),
            terms=[
                {
                    "input": int(i),
                    "weight": float(cell.weights[i]),
                    "x": float(cell.inputs[i]),
                    "product": float(products[i]),
                }
                for i in order
            ],
            rest={
                "count": int(products.size - order.size),
                "sum": float(products.sum() - products[order].sum()),
            },
        )
    return respond(result)


async def train_status(request: Request) -> Response:
    lab = _lab(request)
    lab.served()
    return respond(training_status(lab))


def training_status(lab: Lab) -> dict[str, Any]:
    run = lab.trainer.run
    if run is None:
        return {"status": "idle", "message": "No training has run yet."}
    messages = list(run.messages)
    end = next((m for m in messages if m["type"] == "end"), None)
    batches = [m for m in messages if m["type"] == "batch"]
    return {
        "status": run.status,
        "run": run.id,
        "config": run.config.to_dict(),
        "epochs": [m for m in messages if m["type"] == "epoch"],
        "last_batch": batches[-1] if batches else None,
        "message": end["message"] if end else None,
        "elapsed": round(time.time() - run.started, 3),
    }


async def train_start(request: Request) -> Response:
    data = await read_json(request)
    config = training_config(data)
    lab = _lab(request)
    try:
        run = lab.trainer.start(config, current=lab.served().model)
    except TrainingBusyError as error:
        raise LabError(409, str(error)) from None
    return respond({"status": run.status, "run": run.id, "config": config.to_dict()}, 202)


def training_config(data: dict[str, Any]) -> TrainingConfig:
    """Validate the page's training settings; anything missing takes `TrainingConfig`'s default."""
    defaults = TrainingConfig()
    known = set(defaults.to_dict()) - {"validation_fraction"}
    unknown = set(data) - known
    if unknown:
        raise LabError(422, f"Unknown training settings {sorted(unknown)}; known: {sorted(known)}.")
    dataset = data.get("dataset", defaults.dataset)
    if dataset not in sources.DATASETS:
        raise LabError(422, f"dataset must be one of {list(sources.DATASETS)}, got {dataset!r}.")
    hidden = data.get("hidden", list(defaults.hidden or ()))
    if hidden == "current" or hidden is None:
        sizes = None
    else:
        if not isinstance(hidden, list):
            raise LabError(
                422, 'hidden must be a list of layer sizes such as [16, 16], or "current".'
            )
        low, high = TRAINING_LIMITS["hidden_layers"]
        if not low <= len(hidden) <= high:
            raise LabError(422, f"hidden may list {low} to {high} layers, got {len(hidden)}.")
        sizes = tuple(_int(n, "each hidden size", *TRAINING_LIMITS["hidden_size"]) for n in hidden)
    activation = data.get("activation", defaults.activation)
    if activation not in ACTIVATIONS:
        raise LabError(422, f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}.")
    optimizer = data.get("optimizer", defaults.optimizer)
    if optimizer not in OPTIMIZERS:
        raise LabError(422, f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}.")
    learning_rate = data.get("learning_rate", defaults.learning_rate)
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, (int, float))
        or not 0 < learning_rate <= 10
    ):
        raise LabError(
            422, f"learning_rate must be a number in (0, 10], got {json.dumps(learning_rate)}."
        )
    seed = data.get("seed", defaults.seed)
    if seed is not None:
        seed = _int(seed, "seed", 0, 2**32 - 1)

    def whole(name: str) -> int:
        return _int(data.get(name, getattr(defaults, name)), name, *TRAINING_LIMITS[name])

    return TrainingConfig(
        dataset=dataset,
        hidden=sizes,
        activation=activation,
        epochs=whole("epochs"),
        samples=whole("samples"),
        batch_size=whole("batch_size"),
        learning_rate=float(learning_rate),
        optimizer=optimizer,
        seed=seed,
    )


async def train_stop(request: Request) -> Response:
    lab = _lab(request)
    run = lab.trainer.run
    if not lab.trainer.stop():
        return respond(
            {
                "status": "idle" if run is None else run.status,
                "stopping": False,
                "message": "No training is running; there is nothing to stop.",
            }
        )
    assert run is not None
    return respond(
        {
            "status": "stopping",
            "stopping": True,
            "run": run.id,
            "message": "Stopping after the current batch.",
        },
        202,
    )


async def train_events(request: Request) -> Response:
    """Server-sent events of the current run, from its start; the stream ends with the run."""
    lab = _lab(request)
    run = lab.trainer.run

    async def stream():
        yield "retry: 3000\n\n"
        if run is None:
            yield _event("status", {"status": "idle", "message": "No training has run yet."})
            return
        sent, frame, quiet = 0, 0, time.monotonic()
        while True:
            if run.weights_frame != frame and run.weights is not None:
                frame = run.weights_frame
                yield _event("weights", {"frame": frame, **run.weights})
                quiet = time.monotonic()
            new = run.messages[sent:]  # the worker only appends: a slice is a consistent view
            sent += len(new)
            for message in new:
                yield _event(message["type"], message)
                quiet = time.monotonic()
            if any(message["type"] == "end" for message in new):
                return
            if time.monotonic() - quiet > 15:
                yield ": still training\n\n"  # a comment, which also notices a closed page
                quiet = time.monotonic()
            await asyncio.sleep(0.1)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, allow_nan=False)}\n\n"


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
    model_dir = _lab(request).model_dir
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
    lab = _lab(request)
    path = model_path(lab.model_dir, data.get("name"))
    overwrite = data.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise LabError(422, "overwrite must be true or false.")
    if path.exists() and not overwrite:
        raise LabError(
            409, f"{path.name} already exists in the model directory; send overwrite: true."
        )
    served = lab.served()
    try:
        await asyncio.to_thread(sources.save_model, served.model, path)
    except OSError as error:
        raise LabError(500, f"Could not write {path.name}: {error.strerror or error}.") from None
    return respond(
        {"saved": path.name, "path": str(path), "model_version": served.version}, status=201
    )


async def load_model(request: Request) -> Response:
    data = await read_json(request)
    unknown = set(data) - {"name"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send name.")
    lab = _lab(request)
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


def respond(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, allow_nan=False, separators=(",", ":")).encode()
    return Response(body, status, media_type="application/json")


async def lab_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LabError)
    return respond({"error": error.message}, error.status)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    messages = {404: f"No such page or endpoint: {request.url.path}.", 405: "Method not allowed."}
    message = messages.get(error.status_code, str(error.detail))
    return respond({"error": message}, error.status_code)


async def internal_error(request: Request, error: Exception) -> Response:
    log.exception("glassnet lab: unexpected error", exc_info=error)
    message = f"Internal error ({type(error).__name__}); the server log has the details."
    return respond({"error": message}, 500)


# ------------------------------------------------------------------------------- the guard


class Guard:
    """ASGI middleware: check Host and Origin, and add security headers to every response.

    A page on another site can make the browser resolve its own name to 127.0.0.1 (DNS
    rebinding); its requests then carry its own name in Host, which is refused here, as Jupyter
    and TensorBoard do. Requests that name another Origin are refused too.
    """

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            b"frame-ancestors 'none'; form-action 'none'",
        ),
    ]

    def __init__(self, app, allowed_hosts: Iterable[str], allow_any_ip: bool) -> None:
        self.app = app
        self.allowed = {name.lower().strip("[]") for name in allowed_hosts}
        self.allow_any_ip = allow_any_ip

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        refusal = self.check(scope.get("scheme", "http"), headers)
        if refusal is not None:
            status, message = refusal
            await respond({"error": message}, status)(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def check(self, scheme: str, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if not host:
            return 400, "The request has no Host header."
        hostname = _hostname(host)
        if not self.host_allowed(hostname):
            return 403, (
                f"Host {host!r} is not allowed: the lab only answers to its own address (this "
                "protects it from DNS rebinding). Open it as http://127.0.0.1:<port>/, or start "
                f"it with --allow-host {hostname} if that name is yours."
            )
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1").lower() != f"{scheme}://{host}":
            return 403, (
                f"Requests from {origin.decode('latin-1')!r} are refused: only the lab's own "
                "page may use its API."
            )
        return None

    def host_allowed(self, hostname: str) -> bool:
        if hostname in self.allowed:
            return True
        if self.allow_any_ip:
            # An address in Host cannot come from DNS rebinding, which needs a name.
            with contextlib.suppress(ValueError):
                ipaddress.ip_address(hostname)
                return True
        return False


def _hostname(host: str) -> str:
    """``"127.0.0.1:8000"`` → ``"127.0.0.1"``; ``"[::1]:8000"`` → ``"::1"``."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# ------------------------------------------------------------------------------- the app


def create_app(
    model: Sequential | None = None,
    model_dir: str | Path = ".",
    *,
    model_name: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: Sequence[str] = (),
    data_dir: str | Path | None = None,
) -> Starlette:
    """The lab as an ASGI app.

    Parameters
    ----------
    model : Sequential, optional
        The model the page starts with. Default: an untrained 784-16-16-10 sigmoid network.
    model_dir : path
        The only directory the page may save model files to and load them from (created if
        missing).
    model_name : str, optional
        How the page names the starting model (e.g. its file name).
    host : str
        The address the server listens on; its name is allowed in Host headers. For a wildcard
        address ("0.0.0.0", "::") any IP address is allowed in Host, and this machine's names.
    allowed_hosts : sequence of str
        More host names to answer to (e.g. a name other machines use for this one).
    data_dir : path, optional
        Where to look first for the training data sets (see `glassnet.datasets.load`).
    """
    if model is not None and not isinstance(model, Sequential):
        raise TypeError(
            f"The lab shows glassnet networks (Sequential, MLP), got {type(model).__name__}."
        )
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    trained = model is not None
    if model is None:
        model, model_name = default_model(), "untrained 784-16-16-10 (random weights)"
    trainer = Trainer(functools.partial(sources.load_training_data, data_dir=data_dir))
    lab = Lab(model, model_name or "the given model", trained, model_dir.resolve(), trainer)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        lab.trainer.stop()
        await asyncio.to_thread(lab.trainer.join, 5.0)

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/favicon.ico", favicon),
            Route("/api/model", get_model),
            Route("/api/predict", predict, methods=["POST"]),
            Route("/api/neuron", neuron, methods=["POST"]),
            Route("/api/train", train_status, methods=["GET"]),
            Route("/api/train", train_start, methods=["POST"]),
            Route("/api/train/stop", train_stop, methods=["POST"]),
            Route("/api/train/events", train_events),
            Route("/api/models", list_models),
            Route("/api/models/save", save_model, methods=["POST"]),
            Route("/api/models/load", load_model, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={
            LabError: lab_error,
            HTTPException: http_error,
            Exception: internal_error,
        },
        lifespan=lifespan,
    )
    app.state.lab = lab
    names = {*LOOPBACK_NAMES, *allowed_hosts}
    wildcard = host in WILDCARD_HOSTS
    if wildcard:
        names |= {socket.gethostname(), socket.getfqdn()}
    else:
        names.add(host)
    app.add_middleware(Guard, allowed_hosts=names, allow_any_ip=wildcard)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port), or a clear OSError."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise OSError(f"Cannot listen on {host}: {error.strerror}.") from None
    # proto IPPROTO_TCP named, so asyncio sets TCP_NODELAY on the connections (else each
    # answer waits 40 ms for a delayed acknowledgement).
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)  # connections wait in the backlog until uvicorn takes the socket over
    except OSError as error:
        sock.close()
        raise OSError(f"Cannot listen on {host} port {port}: {error.strerror}.") from None
    return sock


def serve(
    model_path: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_dir: str | Path = ".",
    *,
    allowed_hosts: Sequence[str] = (),
    data_dir: str | Path | None = None,
    open_browser: bool = False,
    log_level: str = "warning",
) -> None:
    """Run the lab until Ctrl-C: ``glassnet lab [MODEL] [--host H] [--port P] [--model-dir D]``.

    Parameters
    ----------
    model_path : path, optional
        A model file to start with (any path; requests can only reach ``model_dir``).
    host, port : str, int
        Where to listen; port 0 picks a free port. Binding beyond loopback prints a warning.
    model_dir : path
        Where the page may save and load model files (created if missing).
    allowed_hosts : sequence of str
        Extra host names to answer to (``--allow-host``).
    data_dir : path, optional
        Where to look first for the training data sets (``--data-dir``).
    open_browser : bool
        Open the page in the default browser once the server listens.

    Raises
    ------
    FileNotFoundError, glassnet.ModelFileError
        If ``model_path`` is missing or not a model file.
    OSError
        If the address cannot be listened on (port in use, unknown host...).
    """
    import uvicorn

    model, name = None, None
    if model_path is not None:
        if not Path(model_path).exists():
            raise FileNotFoundError(f"No model file at {model_path}.")
        model, name = sources.load_model(Path(model_path)), Path(model_path).name
    app = create_app(
        model,
        model_dir,
        model_name=name,
        host=host,
        allowed_hosts=allowed_hosts,
        data_dir=data_dir,
    )
    sock = listen(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in WILDCARD_HOSTS else shown}:{port}/"
    if not is_loopback(host):
        print(
            f"WARNING: the lab listens on {host}, so other machines can reach it. Anyone who "
            "can open it can run training on this machine and write model files into "
            f"{Path(model_dir).resolve()}. Use the default --host 127.0.0.1 unless you need this.",
            file=sys.stderr,
        )
    print(f"glassnet lab: {url}  (model directory: {Path(model_dir).resolve()}; Ctrl-C stops)")
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, timeout_graceful_shutdown=3)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then passes Ctrl-C on
        pass
    print("glassnet lab: stopped.")
