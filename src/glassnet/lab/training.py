"""Training from the page: one background thread that trains a copy and only sends messages.

The worker never touches the model the page is using. It trains a new network (or a copy of the
current one), appends progress messages to a `Run` that the server streams to the page as
server-sent events, and at the end leaves the trained model in ``run.model``; the server adopts it
on its own thread. One run at a time: `Trainer.start` refuses a second one.

Messages (dicts with a ``"type"``):

- ``status``: ``{"status": "loading" | "running", "message"}``;
- ``start``: the settings, ``epochs``, ``batches`` per epoch, ``samples`` and a data ``note``;
- ``batch``: ``epoch``, ``batch``, ``step`` (batches so far), and the mean ``loss`` and
  ``accuracy`` of the batches since the previous message (about 50 per epoch), with
  ``grad_norm``: ``{layer name: mean ‖∂L/∂θ‖ of those batches}`` (train/health.py's
  `GradientHealth`, for the page's gradient-health chart);
- ``epoch``: the epoch's ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, and ``health``:
  ``{"grad_norm": {layer: v}, "update_ratio": {layer: ‖Δθ‖/‖θ‖}}``, the epoch's means;
- ``snapshot``: ``frame``, ``epoch``, ``step``: a new copy of the network being trained is in
  ``run.snapshot`` (at most SNAPSHOTS_PER_SECOND, at batch messages and epoch ends), which the
  page's drawing is run through while training goes on (``POST /api/train/predict``);
- ``end``: ``{"status": "done" | "stopped" | "failed", "message"}``.

The first layer's weights, as pictures, are not messages: the newest copy is kept in
``run.weights`` (replaced, never queued) so a slow page skips frames instead of falling behind.
The snapshot is likewise replaced whole, ``(frame, model)``, never edited: a reader holding one
sees a consistent network.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import (
    MLP,
    Callback,
    Conv2D,
    Dense,
    GradientHealth,
    Sequential,
    TrainingDivergedError,
    from_config,
)
from ..models.architecture import build_cnn, describe
from . import sources

log = logging.getLogger("glassnet.lab")

MAX_WEIGHT_PICTURES = 32
POINTS_PER_EPOCH = 50  # batch messages, for the loss and accuracy curves
WEIGHT_FRAMES_PER_SECOND = 3
SNAPSHOTS_PER_SECOND = 2  # copies of the network for the live view: a bounded rate, any speed


class TrainingBusyError(RuntimeError):
    """A training run is already in progress."""


@dataclass(frozen=True)
class TrainingConfig:
    """What to train: validated by the server before it gets here.

    ``hidden`` lists the hidden layer sizes of a new MLP, or is None to continue training a copy
    of the model the page is using. ``arch``, when given, is a layer spec such as
    ``conv8-pool-dense32`` (`glassnet.models.architecture`): a new CNN for the 28×28 images,
    with ``activation`` after each conv and dense layer; ``hidden`` is then ignored.
    """

    dataset: str = "mnist"
    hidden: tuple[int, ...] | None = (16, 16)
    activation: str = "sigmoid"
    epochs: int = 5
    samples: int = 10_000
    batch_size: int = 32
    learning_rate: float = 0.005
    optimizer: str = "adam"
    validation_fraction: float = 0.1
    seed: int | None = 0
    arch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden"] = None if self.hidden is None else list(self.hidden)
        return data


@dataclass
class Run:
    """One training run: its messages so far, its newest weight pictures and its result."""

    id: int
    config: TrainingConfig
    messages: list[dict[str, Any]] = field(default_factory=list)
    weights: dict[str, Any] | None = None  # the newest first-layer pictures (see module doc)
    weights_frame: int = 0
    snapshot: tuple[int, Sequential] | None = None  # (frame, a copy of the network being trained)
    snapshot_view: Any = None  # the server's description of the newest snapshot, kept by it
    status: str = "loading"  # loading → running → stopping → done | stopped | failed
    model: Sequential | None = None  # the trained model, once status is done or stopped
    started: float = field(default_factory=time.time)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "failed")


class Trainer:
    """Runs at most one training at a time in a daemon thread.

    Parameters
    ----------
    load_data : callable, optional
        ``name -> sources.TrainingData``; default `sources.load_training_data`.
    """

    def __init__(
        self, load_data: Callable[[str], sources.TrainingData] = sources.load_training_data
    ) -> None:
        self._load_data = load_data
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.run: Run | None = None
        self._next_id = 1

    @property
    def busy(self) -> bool:
        return self.run is not None and not self.run.finished

    def start(self, config: TrainingConfig, current: Sequential | None = None) -> Run:
        """Start a run in the background; raise `TrainingBusyError` if one is going.

        ``current`` is the page's model, copied (never trained in place) when ``config.hidden``
        is None.
        """
        with self._lock:
            if self.busy:
                raise TrainingBusyError(
                    "A training run is already in progress; stop it before starting another."
                )
            run = Run(self._next_id, config)
            self._next_id += 1
            new = config.hidden is not None or config.arch is not None
            base = None if new or current is None else _copy(current)
            self._stop.clear()
            self.run = run
            self._thread = threading.Thread(
                target=self._work, args=(run, base), name=f"glassnet-lab-training-{run.id}"
            )
            self._thread.daemon = True
            self._thread.start()
            return run

    def stop(self) -> bool:
        """Ask the run in progress to stop after its current batch; False if none is running."""
        with self._lock:
            if not self.busy:
                return False
            assert self.run is not None
            self.run.status = "stopping"
            self._stop.set()
            return True

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # ---------------------------------------------------------------- the worker thread

    def _work(self, run: Run, base: Sequential | None) -> None:
        send = run.messages.append  # list.append is atomic: readers see whole messages
        config = run.config
        try:
            send({"type": "status", "status": "loading", "message": f"Loading {config.dataset}…"})
            data = self._load_data(config.dataset)
            X, y, X_val, y_val = _split(data, config)
            model = base if base is not None else _new_model(config, X.shape[1], data)
            _check_fits(model, X.shape[1], len(data.class_names), config.dataset)
            if len(model.input_shape) > 1:  # a CNN: the flat grey rows as (n, 1, 28, 28) images
                X = X.reshape(len(X), *model.input_shape)
                X_val = X_val.reshape(len(X_val), *model.input_shape)
            model.class_names = list(data.class_names)
            model.preprocessing = dict(data.preprocessing)
            batches = -(-len(X) // config.batch_size)
            if run.status == "loading":
                run.status = "running"
            send(
                {
                    "type": "start",
                    "config": config.to_dict(),
                    "architecture": _sizes(model),
                    "arch": describe(model),
                    "epochs": config.epochs,
                    "batches": batches,
                    "samples": len(X),
                    "validation_samples": len(X_val),
                    "note": data.note,
                }
            )
            health = GradientHealth()
            reporter = _Reporter(run, self._stop, len(X), config.batch_size, health)
            reporter.send_weights(model)
            reporter.send_snapshot(model, 0)
            if self._stop.is_set():
                run.status = "stopped"
                send({"type": "end", "status": "stopped", "message": "Stopped before training."})
                return
            # A diverging loss is reported by fit's TrainingDivergedError, not by warnings.
            with np.errstate(over="ignore", invalid="ignore"):
                model.fit(
                    X,
                    y,
                    epochs=config.epochs,
                    batch_size=config.batch_size,
                    optimizer=config.optimizer,
                    learning_rate=config.learning_rate,
                    validation_data=(X_val, y_val) if len(X_val) else None,
                    callbacks=[health, reporter],  # health first: its numbers are fresh
                    seed=config.seed,
                )
            stopped = self._stop.is_set()
            reporter.send_weights(model)
            run.model = model
            status = "stopped" if stopped else "done"
            message = (
                "Training stopped; the page keeps the model it had. The partly trained model "
                "can be used instead (POST /api/train/use)."
            )
            if not stopped:
                message = "Training finished; the page now uses the trained model."
                scores = [m for m in run.messages if m["type"] == "epoch"]
                if scores and scores[-1].get("val_accuracy") is not None:
                    accuracy = scores[-1]["val_accuracy"]
                    message = (
                        f"Training finished with {accuracy:.1%} accuracy on the "
                        f"{len(X_val):,} held-out images; the page now uses the trained model."
                    )
            # The "end" message goes first: a reader that sees the status finished has it.
            send({"type": "end", "status": status, "message": message})
            run.status = status
        except TrainingDivergedError as error:
            send({"type": "end", "status": "failed", "message": str(error)})
            run.status = "failed"
        except Exception as error:  # reported to the page; the thread must not die silently
            # One sentence for the page: the first line of the error (library messages may go on
            # with lists of folders and hints, which the server log keeps).
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            log.warning("glassnet lab: training failed", exc_info=error)
            message = f"Training failed: {first or type(error).__name__}"
            send({"type": "end", "status": "failed", "message": message})
            run.status = "failed"


class _Reporter(Callback):
    """Turns fit's callbacks into messages, and checks the stop flag after each batch.

    About POINTS_PER_EPOCH batch messages per epoch, each with the mean loss and accuracy of the
    batches since the previous one (fit's logs hold means since the epoch began; the difference
    of two running sums gives the recent mean), so the curve shows where training is now. The
    gradient norms of `GradientHealth` (which runs before it) are averaged the same way.
    """

    def __init__(
        self,
        run: Run,
        stop: threading.Event,
        samples: int,
        batch_size: int,
        health: GradientHealth | None = None,
    ) -> None:
        self.run = run
        self.health = health
        self.stop = stop
        self.samples = samples
        self.batch_size = batch_size
        self.batches = -(-samples // batch_size)
        self.every = max(1, -(-self.batches // POINTS_PER_EPOCH))
        self.epoch = 0
        self._sums = (0, 0.0, 0.0)  # samples, Σ loss, Σ correct since the epoch began
        self._last_weights = 0.0
        self._last_snapshot = 0.0

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch
        self._sums = (0, 0.0, 0.0)

    def on_batch_end(self, batch, logs):
        if self.stop.is_set():
            self.model.stop_training = True  # fit ends after this batch
            return
        if (batch + 1) % self.every == 0 or batch + 1 == self.batches:
            seen = min((batch + 1) * self.batch_size, self.samples)
            sums = (seen, logs["loss"] * seen, logs.get("accuracy", 0.0) * seen)
            n = max(1, seen - self._sums[0])
            self.run.messages.append(
                {
                    "type": "batch",
                    "epoch": self.epoch,
                    "batch": batch,
                    "step": self.epoch * self.batches + batch + 1,
                    "loss": _finite((sums[1] - self._sums[1]) / n),
                    "accuracy": _finite((sums[2] - self._sums[2]) / n),
                    "grad_norm": self._recent_grad_norm(),
                }
            )
            self._sums = sums
            now = time.perf_counter()
            if now - self._last_snapshot >= 1.0 / SNAPSHOTS_PER_SECOND:
                self.send_snapshot(self.model, self.epoch * self.batches + batch + 1)
        now = time.perf_counter()
        if now - self._last_weights >= 1.0 / WEIGHT_FRAMES_PER_SECOND:
            self._last_weights = now
            self.send_weights(self.model)

    def on_epoch_end(self, epoch, logs):
        self.run.messages.append(
            {
                "type": "epoch",
                "epoch": epoch,
                "step": (epoch + 1) * self.batches,
                **{k: _finite(v) for k, v in logs.items() if isinstance(v, (int, float))},
                "health": self._epoch_health(),
            }
        )
        self.send_weights(self.model)
        self.send_snapshot(self.model, (epoch + 1) * self.batches)

    def _recent_grad_norm(self) -> dict[str, float | None]:
        """Each layer's mean gradient norm over the batches since the previous message."""
        if self.health is None:
            return {}
        norms = self.health.batch_grad_norm
        recent = {name: _finite(float(np.mean(v))) for name, v in norms.items() if v}
        for values in norms.values():
            values.clear()  # reported: kept no longer, so a long run's memory stays bounded
        return recent

    def _epoch_health(self) -> dict[str, dict[str, float | None]]:
        # GradientHealth.on_epoch_end has run (it comes first): the epoch's means are last.
        if self.health is None:
            return {}
        return {
            kind: {name: _finite(v[-1]) for name, v in values.items() if v}
            for kind, values in (
                ("grad_norm", self.health.grad_norm),
                ("update_ratio", self.health.update_ratio),
            )
        }

    def send_snapshot(self, model: Sequential, step: int) -> None:
        """Keep a copy of the network now as ``run.snapshot`` and say so in a message."""
        self._last_snapshot = time.perf_counter()
        frame = 1 if self.run.snapshot is None else self.run.snapshot[0] + 1
        self.run.snapshot = (frame, _copy(model))  # replaced whole: readers never see it change
        self.run.messages.append(
            {"type": "snapshot", "frame": frame, "epoch": self.epoch, "step": step}
        )

    def send_weights(self, model: Sequential) -> None:
        self.run.weights = weight_pictures(model)
        self.run.weights_frame += 1


def weight_pictures(model: Sequential, limit: int = MAX_WEIGHT_PICTURES) -> dict[str, Any]:
    """The first layer's incoming weights of up to ``limit`` neurons, compact for the page.

    Each neuron's 784 weights become int8 levels of its largest |w| (``scale``), base64 encoded:
    w ≈ level / 127 · scale. For a CNN the first layer is a conv layer: its filters are the
    pictures (a grey filter's kh·kw weights, rows in (kh, kw) order: a small square).
    """
    first = next(layer for layer in model.layers if isinstance(layer, (Dense, Conv2D)))
    W = first.W.value[:, :limit]  # (n_inputs, shown)
    scale = np.abs(W).max(axis=0)  # (shown,)
    levels = np.round(W / np.where(scale > 0, scale, 1) * 127).astype(np.int8)
    return {
        "kind": "conv" if isinstance(first, Conv2D) else "dense",
        "neurons": first.n_filters if isinstance(first, Conv2D) else first.n_neurons,
        "shown": W.shape[1],
        "n_inputs": first.W.value.shape[0],
        "scale": scale.astype(float).tolist(),
        "levels": [base64.b64encode(levels[:, j].tobytes()).decode() for j in range(W.shape[1])],
    }


def _finite(value: Any) -> float | None:
    # JSON has no NaN; a diverging loss is reported by the "end" message instead.
    return float(value) if value is not None and np.isfinite(value) else None


def _copy(model: Sequential) -> Sequential:
    """A separate model with the same layers and weights: training it leaves ``model`` as is."""
    twin = from_config(model.get_config())
    twin.set_weights(model.get_weights())
    twin.class_names = None if model.class_names is None else list(model.class_names)
    twin.preprocessing = dict(model.preprocessing)
    return twin


def _new_model(config: TrainingConfig, n_inputs: int, data: sources.TrainingData) -> Sequential:
    if config.arch is not None:
        height, width = data.preprocessing.get("image_size", [28, 28])
        shape = (1, int(height), int(width))
        return build_cnn(
            config.arch, shape, len(data.class_names), "softmax", config.activation, config.seed
        )
    assert config.hidden is not None
    sizes = [n_inputs, *config.hidden, len(data.class_names)]
    return MLP(sizes, activation=config.activation, seed=config.seed)


def _check_fits(model: Sequential, n_inputs: int, n_classes: int, dataset: str) -> None:
    if model.n_inputs != n_inputs or model.n_outputs != n_classes or model.output != "softmax":
        raise ValueError(
            f"The current model ({'-'.join(map(str, _sizes(model)))}, output {model.output}) "
            f"cannot learn {dataset}, which needs {n_inputs} inputs and a softmax over "
            f"{n_classes} classes. Choose hidden layer sizes to train a new model."
        )


def _sizes(model: Sequential) -> list[int]:
    return [model.n_inputs] + [la.n_neurons for la in model.layers if isinstance(la, Dense)]


def _split(data: sources.TrainingData, config: TrainingConfig):
    """A random subset of ``config.samples`` images, the last part held out for validation."""
    rng = np.random.default_rng(config.seed)
    n = min(config.samples, len(data.X))
    rows = rng.permutation(len(data.X))[:n]
    n_val = int(round(n * config.validation_fraction)) if n >= 20 else 0
    train, val = rows[: n - n_val], rows[n - n_val :]
    return data.X[train], data.y[train], data.X[val], data.y[val]
