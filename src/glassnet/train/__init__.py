"""Training: the fit loop, optimizers, learning-rate schedules, callbacks and mini-batches."""

from . import batching, callbacks, health, loop, optimizers, schedules, stepper
from .batching import iterate_minibatches
from .callbacks import Callback, EarlyStopping, History, LearningRateScheduler, Progress
from .health import GradientHealth
from .loop import TrainingState
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from .stepper import Stepper, StepRecord

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Callback",
    "EarlyStopping",
    "GradientHealth",
    "History",
    "LearningRateScheduler",
    "Optimizer",
    "Progress",
    "RMSprop",
    "StepRecord",
    "Stepper",
    "TrainingState",
    "batching",
    "callbacks",
    "health",
    "iterate_minibatches",
    "loop",
    "optimizers",
    "schedules",
    "stepper",
]
