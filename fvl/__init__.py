"""fvl: Florence-VL (Florence-2 depth-breadth vision features + an LLM) in PyTorch Lightning and Hydra."""

__version__ = "0.1.0"
