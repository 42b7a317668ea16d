"""The lab's app: the route table, the error answers, and `serve` to run it.

Endpoints (all JSON; errors are ``{"error": message}`` with a 4xx status):

====================  ===========================================================================
GET  /api/model       the model the page uses: layers, sizes, class names, what can be shown
POST /api/predict     ``{"image": drawing}`` or ``{"input": [numbers]}`` → the full trace
POST /api/neuron      ``{"layer", "index", "image" | "input"?}`` → one neuron, its formula
GET  /api/train       the training status and history
POST /api/train       start training a copy (``{"dataset", "hidden", "epochs", ...}``); 409 if busy
POST /api/train/stop  stop the run in progress after its current batch
POST /api/train/use   use the partly trained model of a stopped run (never done unasked)
GET  /api/train/events  server-sent events of the run in progress
GET  /api/models      the model files in the model directory
POST /api/models/save ``{"name", "overwrite"?}`` → ``<model_dir>/<name>.glassnet``
POST /api/models/load ``{"name"}`` → the page uses that file's model
GET  /api/runs        the run directories in the runs directory, their branches (`routes.runs`)
GET  /api/runs/{run}/map, /api/runs/{run}/examples/{index}  a run's learning map, one example
POST /api/backward    ``{"image" | "input", "label"}`` → loss, every neuron's δ, links' ∂L/∂w
POST /api/backward/explain  ``{..., "parameter", "index"}`` → one gradient's chain rule
POST /api/steps/...   step-by-step training: start, step, undo (see `routes.steps`)
POST /api/health/compare  6-layer sigmoid vs ReLU gradient norms
POST /api/conv/maps   ``{"image" | "input"}`` → a CNN's feature maps, layer by layer
POST /api/conv/unit   ``{"layer", "channel", "i", "j", input}`` → one unit's z = Σ K·x + b, a
====================  ===========================================================================

A drawing is a 2-D list of ink levels 0–255 (0 = background), or, compactly,
``{"width", "height", "data"}`` with the levels as base64 bytes row by row. It is preprocessed
as MNIST was (`sources.preprocess`), and the 28×28 input the network saw comes back with the trace.

Safety: the server answers only to its own host names (a page elsewhere cannot reach it through
DNS rebinding), refuses requests from other origins, takes JSON bodies only (so a cross-site
form cannot post to it) up to 1 MB (all in `guard`), and reads or writes model files only
directly inside the model directory (`routes.models.model_path`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from .. import Sequential
from . import schemas, sources
from .guard import LOOPBACK_NAMES, Guard
from .replies import LabError, respond
from .routes.backward import backward, explain
from .routes.conv import conv_maps, conv_unit_route
from .routes.models import get_model, list_models, load_model, save_model
from .routes.predict import neuron, predict
from .routes.runs import get_example, get_map, list_runs
from .routes.steps import health_compare, steps_start, steps_status, steps_step, steps_undo
from .routes.train import (
    train_events,
    train_predict,
    train_start,
    train_status,
    train_stop,
    train_use,
)
from .served import default_model
from .state import Lab
from .training import Trainer

STATIC = Path(__file__).parent / "static"
WILDCARD_HOSTS = ("0.0.0.0", "::", "")

log = logging.getLogger("glassnet.lab")


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def favicon(request: Request) -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


async def lab_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LabError)
    return respond({"error": error.message}, error.status)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    messages = {404: f"No such page or endpoint: {request.url.path}.", 405: "Method not allowed."}
    message = messages.get(error.status_code, str(error.detail))
    return respond({"error": message}, error.status_code)


async def validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"]) or "the request"
    return respond({"error": f"{where}: {first['msg']}."}, 422)


async def internal_error(request: Request, error: Exception) -> Response:
    if isinstance(error, ClientDisconnect):  # the client's doing, and it is gone: no log
        return respond({"error": "The client disconnected."}, 400)
    log.exception("glassnet lab: unexpected error", exc_info=error)
    message = f"Internal error ({type(error).__name__}); the server log has the details."
    return respond({"error": message}, 500)


def create_app(
    model: Sequential | None = None,
    model_dir: str | Path = ".",
    *,
    model_name: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: Sequence[str] = (),
    data_dir: str | Path | None = None,
    runs_dir: str | Path = "runs",
) -> FastAPI:
    """The lab as an ASGI app (FastAPI on Starlette: /openapi.json describes its API).

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
    runs_dir : path
        The run directories of ``glassnet train`` the page lists (read only).
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

    app = FastAPI(
        title="glassnet lab",
        summary="A neural network you can see through: its JSON API.",
        version="1",
        lifespan=lifespan,
        exception_handlers={
            LabError: lab_error,
            HTTPException: http_error,
            RequestValidationError: validation_error,
            Exception: internal_error,
        },
        redoc_url=None,
    )
    # The routes read their bodies themselves (`guard.read_json`); each one's body is declared
    # by a pydantic model (`schemas`) for /openapi.json, so the schema says what they accept.
    body = schemas.request_body
    app.add_api_route("/", index, include_in_schema=False)
    app.add_api_route("/favicon.ico", favicon, include_in_schema=False)
    app.add_api_route("/api/model", get_model, methods=["GET"])
    app.add_api_route(
        "/api/predict", predict, methods=["POST"], openapi_extra=body(schemas.PredictRequest)
    )
    app.add_api_route(
        "/api/neuron", neuron, methods=["POST"], openapi_extra=body(schemas.NeuronRequest)
    )
    app.add_api_route("/api/train", train_status, methods=["GET"])
    app.add_api_route(
        "/api/train", train_start, methods=["POST"], openapi_extra=body(schemas.TrainRequest)
    )
    app.add_api_route(
        "/api/train/stop", train_stop, methods=["POST"], openapi_extra=body(schemas.Empty)
    )
    app.add_api_route(
        "/api/train/use", train_use, methods=["POST"], openapi_extra=body(schemas.Empty)
    )
    app.add_api_route("/api/train/events", train_events, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/api/train/predict",
        train_predict,
        methods=["POST"],
        openapi_extra=body(schemas.PredictRequest),
    )
    app.add_api_route("/api/models", list_models, methods=["GET"])
    app.add_api_route("/api/runs", list_runs, methods=["GET"])
    app.add_api_route(
        "/api/runs/{run}/map",
        get_map,
        methods=["GET"],
        openapi_extra=schemas.path_parameters("run"),
    )
    app.add_api_route(
        "/api/runs/{run}/examples/{index}",
        get_example,
        methods=["GET"],
        openapi_extra=schemas.path_parameters("run", "index"),
    )
    app.add_api_route(
        "/api/models/save", save_model, methods=["POST"], openapi_extra=body(schemas.SaveRequest)
    )
    app.add_api_route(
        "/api/models/load", load_model, methods=["POST"], openapi_extra=body(schemas.LoadRequest)
    )
    app.add_api_route(
        "/api/backward", backward, methods=["POST"], openapi_extra=body(schemas.BackwardRequest)
    )
    app.add_api_route(
        "/api/backward/explain",
        explain,
        methods=["POST"],
        openapi_extra=body(schemas.ExplainRequest),
    )
    app.add_api_route("/api/steps", steps_status, methods=["GET"])
    app.add_api_route(
        "/api/steps/start", steps_start, methods=["POST"], openapi_extra=body(schemas.StepsStart)
    )
    app.add_api_route(
        "/api/steps/step", steps_step, methods=["POST"], openapi_extra=body(schemas.StepsStep)
    )
    app.add_api_route(
        "/api/steps/undo", steps_undo, methods=["POST"], openapi_extra=body(schemas.StepsUndo)
    )
    app.add_api_route(
        "/api/health/compare",
        health_compare,
        methods=["POST"],
        openapi_extra=body(schemas.HealthCompare),
    )
    app.add_api_route(
        "/api/conv/maps", conv_maps, methods=["POST"], openapi_extra=body(schemas.ConvMapsRequest)
    )
    app.add_api_route(
        "/api/conv/unit",
        conv_unit_route,
        methods=["POST"],
        openapi_extra=body(schemas.ConvUnitRequest),
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.lab = lab
    app.state.runs_dir = Path(runs_dir).resolve()
    app.state.load_data = functools.partial(sources.load_training_data, data_dir=data_dir)
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
    runs_dir: str | Path = "runs",
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
    runs_dir : path
        The run directories the page lists (``--runs-dir``).

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
        runs_dir=runs_dir,
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
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=3,
        # An idle keep-alive connection is closed after 5 s; a body that trickles in is cut
        # off by `guard.read_json` after BODY_SECONDS; headers are bounded by h11's limits.
        timeout_keep_alive=5,
        limit_concurrency=64,
        h11_max_incomplete_event_size=64 * 1024,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then passes Ctrl-C on
        pass
    print("glassnet lab: stopped.")
