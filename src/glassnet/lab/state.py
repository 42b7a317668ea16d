"""The app's state: the served model and the one background trainer, kept on ``app.state``."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request

from .. import Dense, Sequential
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


def lab_of(request: Request) -> Lab:
    """The `Lab` of the app serving ``request``."""
    return request.app.state.lab
