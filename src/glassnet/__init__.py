"""glassnet: a neural network you can see through, that is also fast."""

__version__ = "0.1.0"
