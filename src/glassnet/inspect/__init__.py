"""Looking inside a model: every neuron's numbers for a given input (see `trace`)."""

from .trace import LayerTrace, Neuron, SoftmaxSteps, Trace, neuron, trace

__all__ = ["LayerTrace", "Neuron", "SoftmaxSteps", "Trace", "neuron", "trace"]
