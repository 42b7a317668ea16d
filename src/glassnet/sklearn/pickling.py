"""Pickling a fitted estimator: its network stored as config, weights and optimizer state.

NOTE: a Sequential's parameters are views into one packed buffer, and pickle (or deepcopy) would
store them as separate arrays: the copy would predict correctly but its optimizer would update a
buffer no layer reads. `pack_state` stores the network as a `SavedModel` instead, and
`unpack_state` rebuilds it on loading.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .. import Sequential, from_config, optimizers


def pack_state(state: dict[str, Any]) -> dict[str, Any]:
    """The estimator's ``__getstate__`` dict with ``model_`` replaced by a `SavedModel`."""
    model = state.get("model_")
    if isinstance(model, Sequential):
        state = dict(state)
        state["model_"] = SavedModel(
            config=model.get_config(),
            weights=model.get_weights(),
            optimizer=None if model.optimizer is None else model.optimizer.state_dict(),
        )
        # The History refers to the network too (history_.model): reconnected on loading.
        history = state.get("history_")
        if history is not None:
            state["history_"] = history = copy.copy(history)
            history.model = None
    return state


def unpack_state(state: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `pack_state`: the network rebuilt, with the optimizer named by
    ``_optimizer_options`` (set when the estimator built it), and the History reconnected."""
    saved = state.get("model_")
    if isinstance(saved, SavedModel):
        state = dict(state)
        state["model_"] = saved.rebuild(*state["_optimizer_options"])
        if state.get("history_") is not None:
            state["history_"].set_model(state["model_"])
    return state


class SavedModel:
    """A picklable record of a network: config, flat weights and optimizer state."""

    def __init__(self, config: dict, weights: np.ndarray, optimizer: dict | None) -> None:
        self.config, self.weights, self.optimizer = config, weights, optimizer

    def rebuild(self, name: str, options: dict[str, Any]) -> Sequential:
        model = from_config(self.config)
        model.set_weights(self.weights)
        model.optimizer = optimizers.get(name, model.parameters(), **options)
        if self.optimizer is not None:
            model.optimizer.load_state_dict(self.optimizer)
        return model
