"""glassnet: a neural network you can see through, that is also fast.

>>> import glassnet as gn
>>> model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
>>> [layer.name for layer in model.layers]
['dense_0', 'sigmoid_0', 'dense_1', 'sigmoid_1', 'dense_2']
"""

import importlib
from typing import Any

from . import initializers, losses, metrics, testing
from .errors import DataError, ShapeError, TrainingDivergedError
from .losses import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy
from .models import MLP, Sequential, from_config
from .nn import (
    Dense,
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
    activations,
    register,
)
from .parameter import Buffer, Parameter
from .perceptron import Perceptron
from .train import (
    SGD,
    Adam,
    AdamW,
    Callback,
    EarlyStopping,
    GradientHealth,
    History,
    LearningRateScheduler,
    Progress,
    RMSprop,
    Stepper,
    callbacks,
    iterate_minibatches,
    optimizers,
    schedules,
)
from .version import __version__ as __version__

# Model files and checkpoints sit above the core (glassnet.io): `import glassnet` does not load
# them; these names import glassnet.io on first use.
_FROM_IO = {
    "io": (".io", None),
    "checkpoints": (".io.checkpoints", None),
    "save": (".io", "save"),
    "load": (".io", "load"),
    "ModelFileError": (".io", "ModelFileError"),
    "Checkpoint": (".io", "Checkpoint"),
    "load_checkpoint": (".io", "load_checkpoint"),
}


def __getattr__(name: str) -> Any:
    if name not in _FROM_IO:
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    module_name, attribute = _FROM_IO[name]
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


__all__ = [
    "MLP",
    "Buffer",
    "SGD",
    "Adam",
    "AdamW",
    "BinaryCrossEntropy",
    "Callback",
    "Checkpoint",
    "DataError",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "GradientHealth",
    "History",
    "Identity",
    "Layer",
    "LeakyReLU",
    "LearningRateScheduler",
    "MeanSquaredError",
    "ModelFileError",
    "Parameter",
    "Perceptron",
    "Progress",
    "RMSprop",
    "ReLU",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Step",
    "Stepper",
    "Tanh",
    "TrainingDivergedError",
    "activations",
    "callbacks",
    "checkpoints",
    "from_config",
    "initializers",
    "io",
    "iterate_minibatches",
    "load",
    "load_checkpoint",
    "losses",
    "metrics",
    "optimizers",
    "register",
    "save",
    "schedules",
    "testing",
]
