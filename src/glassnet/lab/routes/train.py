"""``/api/train``: start a run, stop it, its status, its progress as server-sent events, and
the page's input through the newest snapshot of the network being trained (the live view)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ... import optimizers
from ...models import architecture
from .. import schemas, sources, validation
from ..guard import read_json
from ..replies import LabError, respond
from ..served import Served
from ..state import Lab, lab_of
from ..training import TrainingBusyError, TrainingConfig
from .predict import answer

TRAINING_LIMITS = {
    "epochs": (1, 100),
    "samples": (100, 100_000),
    "batch_size": (1, 4096),
    "hidden_size": (1, 1024),
    "hidden_layers": (0, 6),
}
# a CNN from the page: bounded so that building it stays small (≤ MAX_CNN_PARAMETERS weights)
MAX_ARCH_TOKENS = 12
MAX_CNN_PARAMETERS = 2_000_000
ARCH_NUMBERS = {"conv": 128, "dense": 512}
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
OPTIMIZERS = tuple(optimizers.OPTIMIZERS)


async def train_status(request: Request) -> Response:
    lab = lab_of(request)
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
    lab = lab_of(request)
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
        sizes = tuple(
            validation.whole_number(n, "each hidden size", *TRAINING_LIMITS["hidden_size"])
            for n in hidden
        )
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
        seed = validation.whole_number(seed, "seed", 0, 2**32 - 1)
    arch = data.get("arch")
    if arch is not None:
        arch = cnn_arch(arch, activation, seed)

    def whole(name: str) -> int:
        return validation.whole_number(
            data.get(name, getattr(defaults, name)), name, *TRAINING_LIMITS[name]
        )

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
        arch=arch,
    )


def cnn_arch(arch: Any, activation: str, seed: int | None) -> str | None:
    """A CNN layer spec for the 28×28 grey images, checked by building it; "" means none."""
    if not isinstance(arch, str) or len(arch) > 200:
        raise LabError(422, "arch must be a short text of CNN layers such as conv8-pool-dense32.")
    arch = arch.strip().lower()
    if not arch:
        return None
    tokens = arch.split("-")
    if not architecture.is_layer_spec(arch) or len(tokens) > MAX_ARCH_TOKENS:
        raise LabError(
            422,
            f"arch must name up to {MAX_ARCH_TOKENS} layers such as conv8-pool-dense32 (conv, "
            f"pool, avgpool, gap, bn, dense, dropout, aug), got {json.dumps(arch)[:80]}.",
        )
    for token in tokens:
        match = architecture.TOKEN.match(token)
        kind = match["kind"] if match else None
        if kind in ARCH_NUMBERS and match and match["number"]:
            if float(match["number"]) > ARCH_NUMBERS[kind]:
                raise LabError(
                    422, f"arch: {token} is too large for the lab; at most {kind}"
                    f"{ARCH_NUMBERS[kind]}.",
                )  # fmt: skip
        if match and match["kernel"] and int(match["kernel"]) > 28:
            raise LabError(422, f"arch: {token}'s kernel is larger than the 28×28 images.")
    n_weights = _weights_estimate(tokens)
    if n_weights > MAX_CNN_PARAMETERS:
        raise LabError(
            422,
            f"arch {arch} has about {n_weights:,} weights; the lab trains CNNs of up to "
            f"{MAX_CNN_PARAMETERS:,} (use fewer filters, more pooling or a smaller dense layer).",
        )
    try:  # now small enough to build: the layers' own shape checks
        architecture.build_cnn(arch, (1, 28, 28), 10, "softmax", activation, seed)
    except (ValueError, TypeError) as error:  # ArchitectureError, or a layer's check (pool0)
        named = isinstance(error, architecture.ArchitectureError)  # starts with the spec
        raise LabError(422, f"arch {error}" if named else f"arch {arch}: {error}") from None
    return arch


def _weights_estimate(tokens: list[str]) -> int:
    """The conv and dense weights of a spec on 28×28 grey images, counted before building it
    (a huge dense layer after wide maps would allocate its weights first)."""
    channels, side, features, total = 1, 28, 0, 0
    for token in tokens:
        match = architecture.TOKEN.match(token)
        if match is None:
            continue  # build_cnn names it
        kind, number = match["kind"], match["number"]
        if kind == "conv" and number and "." not in number and not features:
            kernel = int(match["kernel"] or 3)
            total += kernel * kernel * channels * int(number)
            channels = int(number)
            side = side if match["same"] else max(1, side - kernel + 1)
        elif kind in ("pool", "avgpool") and not features:
            side = max(1, side // max(1, int(float(number)) if number else 2))
        elif kind == "gap":
            side = 1
        elif kind == "dense" and number and "." not in number:
            features = features or channels * side * side
            total += features * int(number)
            features = int(number)
    return total + (features or channels * side * side) * 10


async def train_stop(request: Request) -> Response:
    # State-changing: JSON only (no cross-site form can post it), and an empty object.
    schemas.check(schemas.Empty, await read_json(request))
    lab = lab_of(request)
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


async def train_use(request: Request) -> Response:
    """Use the partly trained model of a stopped run (the page asks the user first)."""
    schemas.check(schemas.Empty, await read_json(request))
    served = lab_of(request).adopt_stopped()
    if served is None:
        raise LabError(409, "No stopped training run has a model to use.")
    return respond(served.with_info())


async def train_predict(request: Request) -> Response:
    """The body of ``/api/predict`` through the newest snapshot of the run (or the last run).

    The answer is ``/api/predict``'s with ``live`` (``run``, ``frame``, ``step``, ``status``) and
    ``model`` (the snapshot described as ``GET /api/model`` describes the page's model, so the
    page redraws its connections with the weights of now). A 409 when no run has a snapshot.
    """
    data = await read_json(request)
    run = lab_of(request).trainer.run
    snapshot = None if run is None else run.snapshot
    if run is None or snapshot is None:
        raise LabError(
            409, "No training run has weights to show yet; start one in the Train section."
        )
    frame, model = snapshot
    view = run.snapshot_view
    if view is None or view[0] != frame:
        # described once per snapshot, however many drawings the page sends meanwhile
        name = f"training run {run.id}, snapshot {frame}"
        view = (frame, Served.of(model, frame, name, trained=True))
        run.snapshot_view = view
    served = view[1]
    result = answer(data, served)
    step = next(
        (
            m["step"]
            for m in reversed(run.messages)
            if m["type"] == "snapshot" and m["frame"] == frame
        ),
        0,
    )
    result["live"] = {"run": run.id, "frame": frame, "step": step, "status": run.status}
    result["model"] = served.with_info()
    return respond(result)


async def train_events(request: Request) -> Response:
    """Server-sent events of the current run, from its start; the stream ends with the run."""
    lab = lab_of(request)
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
