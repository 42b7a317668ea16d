"""Looking inside a model: every neuron's numbers for a given input (see `trace`), every
gradient's chain rule for a labelled example (see `explain_gradient`), and conv layers' feature
maps and units (see `conv_unit`)."""

from .conv import ConvUnit, FeatureMaps, conv_unit, feature_maps
from .gradients import BackwardLayer, GradientExplanation, explain_gradient
from .trace import LayerTrace, Neuron, SoftmaxSteps, Trace, neuron, trace

__all__ = [
    "BackwardLayer",
    "ConvUnit",
    "FeatureMaps",
    "GradientExplanation",
    "LayerTrace",
    "Neuron",
    "SoftmaxSteps",
    "Trace",
    "conv_unit",
    "explain_gradient",
    "feature_maps",
    "neuron",
    "trace",
]
