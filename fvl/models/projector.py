"""Projectors from fused visual features to the LLM's hidden size, one registry (``model/projector``).

A projector is any module mapping ``(..., in_dim) → (..., out_dim)``, built by a factory registered in
:data:`PROJECTORS` as ``factory(in_dim, out_dim, **options)``; its options come from ``model.projector.options``.

``mlp{N}x_gelu`` (N = 1…8): Linear(in→H), then N-1 × [GELU, Linear(H→H)] — exact GELU, biases, no norm;
``mlp3x_gelu`` is the reference's DBFusion projector layer by layer (31.47M parameters for Phi-3.5-mini, 50.34M
for Llama-3.1-8B). ``linear``: one Linear(in→H).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from fvl.registry import Registry

PROJECTORS: Registry[Callable[..., nn.Module]] = Registry("projector", "model/projector")
PROJECTOR_ARGUMENTS = ("in_dim", "out_dim")  # what the model passes; anything else is an option


@PROJECTORS.register("linear")
def linear_projector(in_dim: int, out_dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_dim, out_dim))


def gelu_mlp(in_dim: int, out_dim: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
    for _ in range(depth - 1):
        layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
    return nn.Sequential(*layers)


def _gelu_mlp_of_depth(depth: int) -> Callable[[int, int], nn.Sequential]:
    def build(in_dim: int, out_dim: int) -> nn.Sequential:
        return gelu_mlp(in_dim, out_dim, depth)

    build.__doc__ = f"Linear, then {depth - 1} × [GELU, Linear]."
    return build


for _depth in range(1, 9):
    PROJECTORS.register(f"mlp{_depth}x_gelu", _gelu_mlp_of_depth(_depth))


def build_projector(name: str, in_dim: int, out_dim: int, **options: Any) -> nn.Module:
    """The registered projector ``name`` with its own ``options`` (checked against its signature)."""
    PROJECTORS.check_options(name, options, supplied=PROJECTOR_ARGUMENTS)
    return PROJECTORS.build(name, in_dim, out_dim, **options)
