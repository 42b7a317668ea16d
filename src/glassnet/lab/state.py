"""The app's state: the served model and the one background trainer, kept on ``app.state``."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request

from .. import Sequential
from ..models.architecture import describe
from .served import Served
from .training import Trainer


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
        """The current model, after adopting the result of a training run that finished.

        A run that was stopped is not adopted: its half-trained model replaces the loaded one
        only when the page asks (`adopt_stopped`, ``POST /api/train/use``).
        """
        run = self.trainer.run
        if (
            run is not None
            and run.model is not None
            and run.status == "done"
            and run.id != self._adopted_run
        ):
            self._adopt(run)
        return self._served

    def adopt_stopped(self) -> Served | None:
        """Use the model of the last run if it was stopped; None if there is none to use."""
        run = self.trainer.run
        if run is None or run.model is None or run.status != "stopped":
            return None
        if run.id != self._adopted_run:
            self._adopt(run)
        return self._served

    def _adopt(self, run) -> None:
        self._adopted_run = run.id
        sizes = describe(run.model)  # 784-16-16-10 for an MLP, conv8-pool-dense32 for a CNN
        done = "trained" if run.status == "done" else "partly trained (stopped)"
        self.use(run.model, f"{sizes} {done} on {run.config.dataset} in the lab")

    def use(self, model: Sequential, name: str, trained: bool = True) -> Served:
        self._served = Served.of(model, self._served.version + 1, name, trained)
        return self._served


def lab_of(request: Request) -> Lab:
    """The `Lab` of the app serving ``request``."""
    return request.app.state.lab
