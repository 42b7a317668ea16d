"""Looking inside a model: every neuron's numbers for a given input (see `trace`), and every
gradient's chain rule for a labelled example (see `explain_gradient`)."""

from .gradients import BackwardLayer, GradientExplanation, explain_gradient
from .trace import LayerTrace, Neuron, SoftmaxSteps, Trace, neuron, trace

__all__ = [
    "BackwardLayer",
    "GradientExplanation",
    "LayerTrace",
    "Neuron",
    "SoftmaxSteps",
    "Trace",
    "explain_gradient",
    "neuron",
    "trace",
]
