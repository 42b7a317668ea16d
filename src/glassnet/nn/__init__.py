"""Layers: the `Layer` contract and registry, and every built-in layer type.

A layer type lives in its own module and registers itself with `register`; importing this
package registers them all.
"""

from . import activations
from .activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Step, Tanh
from .dense import Dense
from .dropout import Dropout
from .layer import Layer
from .options import Option
from .registry import LAYER_TYPES, build_layer, is_registered, layer_class, register

__all__ = [
    "LAYER_TYPES",
    "Activation",
    "Dense",
    "Dropout",
    "Identity",
    "Layer",
    "LeakyReLU",
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
