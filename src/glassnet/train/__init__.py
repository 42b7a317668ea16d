"""Training: the fit loop, optimizers, learning-rate schedules, callbacks and mini-batches."""

from . import batching, callbacks, loop, optimizers, schedules
from .batching import iterate_minibatches
from .callbacks import Callback, EarlyStopping, History, LearningRateScheduler, Progress
from .loop import TrainingState
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Callback",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "Optimizer",
    "Progress",
    "RMSprop",
    "TrainingState",
    "batching",
    "callbacks",
    "iterate_minibatches",
    "loop",
    "optimizers",
    "schedules",
]
