"""Whether weights are finite: the check behind every save, export and load of a model.

A NaN or Inf anywhere in the weights makes every later output NaN, so a model that has one is refused by
name (the tensor and how many of its values) instead of being saved, exported or evaluated to a score of 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

SHOWN = 5


class NonFiniteWeightsError(ValueError):
    """Weights hold NaN or Inf."""


def nonfinite_tensors(tensors: Iterable[tuple[str, torch.Tensor]]) -> list[tuple[str, int, int]]:
    """``(name, non-finite values, values)`` of every floating-point tensor holding NaN or Inf."""
    found = []
    for name, tensor in tensors:
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or tensor.is_meta:
            continue
        bad = int((~torch.isfinite(tensor.detach())).sum())
        if bad:
            found.append((name, bad, tensor.numel()))
    return found


def describe(found: list[tuple[str, int, int]]) -> str:
    shown = ", ".join(f"{name} ({bad} of {total} values)" for name, bad, total in found[:SHOWN])
    more = f" and {len(found) - SHOWN} more tensors" if len(found) > SHOWN else ""
    return shown + more


def check_finite(weights: nn.Module | Mapping[str, torch.Tensor], what: str, fix: str) -> None:
    """Raise :class:`NonFiniteWeightsError` naming the tensors of ``weights`` (a module or a state dict) that
    hold NaN or Inf; ``what`` names the model or file, ``fix`` says what to do instead."""
    items = weights.state_dict().items() if isinstance(weights, nn.Module) else weights.items()
    found = nonfinite_tensors(items)
    if found:
        raise NonFiniteWeightsError(f"{what} has non-finite weights: {describe(found)}. {fix}")
