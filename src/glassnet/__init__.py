"""glassnet: a neural network you can see through, that is also fast.

>>> import glassnet as gn
>>> model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
>>> [layer.name for layer in model.layers]
['dense_0', 'sigmoid_0', 'dense_1', 'sigmoid_1', 'dense_2']
"""

from . import (
    activations,
    callbacks,
    checkpoints,
    initializers,
    io,
    losses,
    metrics,
    optimizers,
    schedules,
    testing,
)
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Step, Tanh
from .batching import iterate_minibatches
from .callbacks import Callback, EarlyStopping, History, LearningRateScheduler, Progress
from .checkpoints import Checkpoint, load_checkpoint
from .errors import DataError, ShapeError, TrainingDivergedError
from .io import ModelFileError, load
from .layers import Dense, Dropout, Layer
from .losses import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy
from .model import MLP, Sequential, from_config
from .optimizers import SGD, Adam, AdamW, RMSprop
from .parameter import Parameter
from .perceptron import Perceptron

__version__ = "0.1.0"

__all__ = [
    "MLP",
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
    "schedules",
    "testing",
]
