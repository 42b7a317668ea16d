"""Looking inside a model: every neuron's numbers for a given input (see `trace`)."""

from .conv import ConvUnit, FeatureMaps, conv_unit, feature_maps
from .trace import LayerTrace, Neuron, SoftmaxSteps, Trace, neuron, trace

__all__ = [
    "ConvUnit",
    "FeatureMaps",
    "conv_unit",
    "feature_maps",
    "LayerTrace",
    "Neuron",
    "SoftmaxSteps",
    "Trace",
    "neuron",
    "trace",
]
