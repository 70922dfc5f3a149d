"""fvl: Florence-VL (Florence-2 depth-breadth vision features + an LLM) in PyTorch Lightning and Hydra."""

from fvl.resolvers import register_resolvers

__version__ = "0.1.0"

register_resolvers()
