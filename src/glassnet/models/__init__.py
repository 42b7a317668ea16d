"""Models: `Sequential`, the builders `MLP` and `from_config`, and the checks of their data."""

from .builders import CNN, MLP, from_config
from .sequential import OUTPUTS, Sequential

__all__ = ["CNN", "MLP", "OUTPUTS", "Sequential", "from_config"]
