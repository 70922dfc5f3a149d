"""Projectors from fused visual features to the LLM's hidden size.

``mlp{N}x_gelu``: Linear(in→H), then N-1 × [GELU, Linear(H→H)] — exact GELU, biases, no norm; ``mlp3x_gelu``
is the reference's DBFusion projector layer by layer (31.47M parameters for Phi-3.5-mini, 50.34M for
Llama-3.1-8B). ``linear``: one Linear(in→H).
"""

from __future__ import annotations

import re

from torch import nn

_MLP = re.compile(r"^mlp(\d+)x_gelu$")


def projector_depth(name: str) -> int:
    """The number of Linear layers a projector name stands for; a ValueError for an unknown name."""
    if name == "linear":
        return 1
    match = _MLP.match(name)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"Unknown projector '{name}'. Use 'linear' or 'mlp<N>x_gelu' (e.g. mlp3x_gelu).")
    return int(match.group(1))


def build_projector(name: str, in_dim: int, out_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
    for _ in range(projector_depth(name) - 1):
        layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
    return nn.Sequential(*layers)
