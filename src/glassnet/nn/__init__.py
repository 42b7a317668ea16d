"""Layers: the `Layer` contract and registry, and every built-in layer type.

A layer type lives in its own module and registers itself with `register`; importing this
package registers them all.
"""

from . import activations
from .activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Step, Tanh
from .augment import Augment
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .layer import Layer
from .normalization import BatchNorm
from .options import Option
from .pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from .registry import LAYER_TYPES, build_layer, is_registered, layer_class, register
from .reshape import Flatten

__all__ = [
    "LAYER_TYPES",
    "Activation",
    "Augment",
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAvgPool2D",
    "Identity",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "Option",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Step",
    "Tanh",
    "activations",
    "build_layer",
    "is_registered",
    "layer_class",
    "register",
]
