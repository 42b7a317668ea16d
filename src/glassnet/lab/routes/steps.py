"""``/api/steps``: training one mini-batch at a time (step, undo, play), and gradient health.

====================  ===========================================================================
POST /api/steps/start   ``{"session": "digits" | "toy", "dataset", "hidden", "activation", ...}``
POST /api/steps/step    ``{"session", "n"?, "neuron"?: {"layer", "index"}}`` → n steps, the state
POST /api/steps/undo    ``{"session", "neuron"?}`` → the last step taken back (409 if none)
GET  /api/steps         ``?session=digits`` → the session's state (409 if none was started)
POST /api/health/compare  ``{"samples"?}`` → 6-layer sigmoid vs ReLU gradient norms per layer
====================  ===========================================================================

The digits session trains its own network; after each request the page's model becomes a copy
of it, so the network view and the drawing's prediction follow training step by step. The toy
session answers with its decision boundary instead (`stepping.StepSession.boundary`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from ... import TrainingDivergedError
from .. import sources, stepping, validation
from ..guard import read_json
from ..replies import LabError, respond
from ..state import lab_of
from .train import ACTIVATIONS, OPTIMIZERS, TRAINING_LIMITS

SESSIONS = ("digits", "toy")
MAX_STEPS_PER_REQUEST = 50
DIGIT_SAMPLES = (100, 20_000)
DEFAULTS = {
    "digits": {"dataset": "mnist", "hidden": [16, 16], "activation": "sigmoid", "optimizer": "sgd",
               "learning_rate": 0.5, "batch_size": 32, "samples": 2000, "seed": 0},
    "toy": {"dataset": "xor", "hidden": [4], "activation": "tanh", "optimizer": "sgd",
            "learning_rate": 0.5, "batch_size": 16, "samples": 200, "seed": 0},
}  # fmt: skip


def _sessions(request: Request) -> dict[str, stepping.StepSession]:
    state = request.app.state
    if not hasattr(state, "step_sessions"):
        state.step_sessions = {}
    return state.step_sessions


def _session_name(value: Any) -> str:
    if value not in SESSIONS:
        raise LabError(422, f"session must be one of {list(SESSIONS)}, got {value!r}.")
    return str(value)


def _session(request: Request, name: str) -> stepping.StepSession:
    session = _sessions(request).get(name)
    if session is None:
        raise LabError(409, f"No {name} step-by-step run: start one first (POST /api/steps/start).")
    return session


def step_settings(data: dict[str, Any], kind: str) -> dict[str, Any]:
    """The validated settings of a new session; anything missing takes `DEFAULTS`."""
    defaults = DEFAULTS[kind]
    unknown = set(data) - set(defaults) - {"session"}
    if unknown:
        raise LabError(422, f"Unknown settings {sorted(unknown)}; known: {sorted(defaults)}.")
    s = {**defaults, **{k: v for k, v in data.items() if k != "session"}}
    datasets = sources.DATASETS if kind == "digits" else stepping.TOY_DATASETS
    if s["dataset"] not in datasets:
        raise LabError(422, f"dataset must be one of {list(datasets)}, got {s['dataset']!r}.")
    hidden = s["hidden"]
    low, high = TRAINING_LIMITS["hidden_layers"]
    if not isinstance(hidden, list) or not low <= len(hidden) <= high:
        raise LabError(422, f"hidden must be a list of {low} to {high} layer sizes, e.g. [16, 16].")
    s["hidden"] = [
        validation.whole_number(n, "each hidden size", *TRAINING_LIMITS["hidden_size"])
        for n in hidden
    ]
    if s["activation"] not in ACTIVATIONS:
        raise LabError(
            422, f"activation must be one of {list(ACTIVATIONS)}, got {s['activation']!r}."
        )
    if s["optimizer"] not in OPTIMIZERS:
        raise LabError(422, f"optimizer must be one of {list(OPTIMIZERS)}, got {s['optimizer']!r}.")
    lr = s["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 10:
        raise LabError(422, f"learning_rate must be a number in (0, 10], got {lr!r}.")
    s["learning_rate"] = float(lr)
    s["batch_size"] = validation.whole_number(
        s["batch_size"], "batch_size", *TRAINING_LIMITS["batch_size"]
    )
    samples = DIGIT_SAMPLES if kind == "digits" else (8, 1000)
    s["samples"] = validation.whole_number(s["samples"], "samples", *samples)
    s["seed"] = validation.whole_number(s["seed"], "seed", 0, 2**32 - 1)
    return s


def _neuron(data: dict[str, Any], session: stepping.StepSession) -> tuple[int, int] | None:
    spec = data.get("neuron")
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) != {"layer", "index"}:
        raise LabError(422, 'neuron must be {"layer": L, "index": j}.')
    dense = [la for la in session.model.layers if la.parameters()]
    layer = validation.whole_number(spec["layer"], "neuron.layer")
    if not 0 <= layer < len(dense):
        raise LabError(404, f"No layer {layer}: this network has {len(dense)} layers of neurons.")
    size = dense[layer].named_parameters()["W"].shape[1]
    index = validation.whole_number(spec["index"], "neuron.index")
    if not 0 <= index < size:
        raise LabError(404, f"No neuron {index} in layer {layer}: it has {size}, 0 to {size - 1}.")
    return layer, index


def _summary(session: stepping.StepSession, neuron) -> tuple[dict[str, Any], Any]:
    with session.lock:
        copy = session.copy_of_model() if session.kind == "digits" else None
        return session.summary(neuron), copy


def _reply(request: Request, session: stepping.StepSession, summary) -> Response:
    result, copy = summary
    if copy is not None:
        served = lab_of(request).use(copy, _name(session))
        result["model_version"] = served.version
    return respond(result)


def _name(session: stepping.StepSession) -> str:
    sizes = "-".join(
        str(n)
        for n in [session.model.n_inputs, *session.settings["hidden"], session.model.n_outputs]
    )
    s = session.stepper
    return f"{sizes} step by step on {session.dataset}: epoch {s.epoch + 1}, batch {s.batch}"


async def steps_start(request: Request) -> Response:
    data = await read_json(request)
    kind = _session_name(data.get("session", "digits"))
    settings = step_settings(data, kind)
    class_names, preprocessing = None, None
    if kind == "digits":
        load = request.app.state.load_data
        try:
            loaded = await asyncio.to_thread(load, settings["dataset"])
        except (ValueError, OSError) as error:  # not on disk and not downloadable
            raise LabError(422, f"Cannot load {settings['dataset']}: {error}") from None
        X, y = loaded.X[: settings["samples"]], loaded.y[: settings["samples"]]
        class_names, preprocessing = list(loaded.class_names), dict(loaded.preprocessing)
    else:
        X, y = stepping.toy_data(settings["dataset"], settings["samples"], settings["seed"])
    session = stepping.new_session(
        kind, settings["dataset"], X, y, settings, class_names, preprocessing
    )
    _sessions(request)[kind] = session
    return _reply(request, session, _summary(session, None))


async def steps_step(request: Request) -> Response:
    data = await read_json(request)
    unknown = set(data) - {"session", "n", "neuron"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send session, n and neuron.")
    session = _session(request, _session_name(data.get("session", "digits")))
    n = validation.whole_number(data.get("n", 1), "n", 1, MAX_STEPS_PER_REQUEST)
    neuron = _neuron(data, session)

    def work():
        # in a worker thread, so that big steps never hold up the page's other requests
        with session.lock:
            session.step(n)
            return _summary(session, neuron)

    try:
        summary = await asyncio.to_thread(work)
    except TrainingDivergedError as error:
        raise LabError(422, f"{error} Lower the learning rate, or undo.") from None
    return _reply(request, session, summary)


async def steps_undo(request: Request) -> Response:
    data = await read_json(request)
    unknown = set(data) - {"session", "neuron"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send session and neuron.")
    session = _session(request, _session_name(data.get("session", "digits")))
    neuron = _neuron(data, session)
    with session.lock:
        if not session.stepper.can_undo:
            raise LabError(409, "There is no step to undo: take a step first.")
        session.undo()
        summary = _summary(session, neuron)
    return _reply(request, session, summary)


async def steps_status(request: Request) -> Response:
    session = _session(request, _session_name(request.query_params.get("session", "digits")))
    return respond(_summary(session, None)[0])


async def health_compare(request: Request) -> Response:
    """The one-click comparison: 6-layer sigmoid vs ReLU networks, one epoch on the same digits."""
    data = await read_json(request)
    unknown = set(data) - {"dataset", "samples"}
    if unknown:
        raise LabError(422, f"Unknown keys {sorted(unknown)}; send dataset and samples.")
    dataset = data.get("dataset", "mnist")
    if dataset not in sources.DATASETS:
        raise LabError(422, f"dataset must be one of {list(sources.DATASETS)}, got {dataset!r}.")
    samples = validation.whole_number(data.get("samples", 2000), "samples", 100, 10_000)
    load = request.app.state.load_data
    try:
        loaded = await asyncio.to_thread(load, dataset)
    except (ValueError, OSError) as error:
        raise LabError(422, f"Cannot load {dataset}: {error}") from None
    X, y = loaded.X[:samples], np.asarray(loaded.y[:samples])
    result = await asyncio.to_thread(stepping.compare_health, X, y)
    return respond({"dataset": dataset, "samples": len(X), **result})
