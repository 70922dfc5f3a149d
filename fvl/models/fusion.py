"""Fusion strategies: named Florence-2 features → one sequence of visual tokens for the projector.

Every strategy takes the subset of features it fuses (``features``: any of ``depth`` and the prompt
names, so depth-only and leave-one-prompt-out are configurations, not classes) and declares its output
width ``out_dim`` and token count ``num_tokens``. Register a new one with ``@FUSIONS.register("name")``: its own
constructor options (after the four every fusion takes) come from ``model.fusion.options`` and are checked against
its signature when the config is composed.

* ``channel_concat`` — DBFusion (the paper's default): concatenate along channels → (N, F·D).
* ``token_concat``   — concatenate along the sequence → (F·N, D); F times the LLM context.
* ``average``        — mean of the features → (N, D).
* ``adaptive``       — per-token softmax weights over the features, predicted from the features
                       themselves, then a weighted sum → (N, D). The gate starts at zero, i.e. exactly
                       ``average``, and learns where to lean on depth (V) or on a prompt's breadth feature.

``feature_norm="batch"`` (any strategy) first standardises each feature per channel with its own BatchNorm
(batch statistics while training, running statistics in eval mode, both saved with the connector). Florence-2
features are mostly one vector shared by every image (measured on the tiny demo model: 92 % of a token's
energy; the colour of the shape under it is 0.5 %), so an LLM that learns from scratch reads where things are
long before it reads what they are; standardising removes the shared vector. Off by default (the paper's
connector has no norm).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fvl.registry import Registry

FUSIONS: Registry[type[Fusion]] = Registry("fusion", "model/fusion")
FEATURE_NORMS = (None, "batch")
# What the model passes every fusion itself; anything else a fusion's constructor takes is one of its options.
FUSION_ARGUMENTS = ("features", "feature_dim", "feature_tokens", "feature_norm")


class Fusion(nn.Module):
    """The contract: ``forward(features: {name: (B, N, D)}) -> (B, num_tokens, out_dim)``, with ``out_dim`` and
    ``num_tokens`` known from the constructor's arguments alone (the data pipeline needs the token count before any
    image is seen). Subclasses read their inputs with :meth:`select` (which applies ``feature_norm``) and override
    :meth:`product_flops` when they multiply by weights (FLOPs and MFU accounting)."""

    name = "base"

    def __init__(
        self, features: Sequence[str], feature_dim: int, feature_tokens: int, feature_norm: str | None = None
    ) -> None:
        super().__init__()
        if feature_norm not in FEATURE_NORMS:
            raise ValueError(f"Unknown feature_norm {feature_norm!r}; use one of {list(FEATURE_NORMS)}.")
        if not features:
            raise ValueError("A fusion needs at least one feature, e.g. features=[depth].")
        if len(set(features)) != len(features):
            raise ValueError(f"Duplicate names in fusion features {list(features)}.")
        self.features = tuple(features)
        self.feature_dim = feature_dim
        self.feature_tokens = feature_tokens
        self.feature_norm = feature_norm
        self.norms = nn.ModuleDict({name: FeatureBatchNorm(feature_dim) for name in features}) if feature_norm else None

    @property
    def out_dim(self) -> int:
        return self.feature_dim

    @property
    def num_tokens(self) -> int:
        return self.feature_tokens

    def select(self, features: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        missing = [name for name in self.features if name not in features]
        if missing:
            raise KeyError(f"Fusion '{self.name}' needs features {missing}, but the encoder gave {sorted(features)}.")
        if self.norms is None:
            return [features[name] for name in self.features]
        return [self.norms[name](features[name].flatten(0, 1)).view_as(features[name]) for name in self.features]

    def product_flops(self, images: int) -> int:
        """Forward FLOPs of the fusion's own weight products for ``images`` images (0: it only rearranges)."""
        return 0

    def extra_repr(self) -> str:
        norm = f", feature_norm={self.feature_norm}" if self.feature_norm else ""
        return f"features={list(self.features)}, out_dim={self.out_dim}, num_tokens={self.num_tokens}{norm}"


class FeatureBatchNorm(nn.BatchNorm1d):
    """BatchNorm whose running statistics a non-finite batch leaves alone (it is normalised by its own), so a
    step that ``nonfinite.policy=skip`` skips does not poison every later one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and not bool(torch.isfinite(x).all()):
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return super().forward(x)


@FUSIONS.register("channel_concat")
class ChannelConcat(Fusion):
    @property
    def out_dim(self) -> int:
        return self.feature_dim * len(self.features)

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat(self.select(features), dim=-1)


@FUSIONS.register("token_concat")
class TokenConcat(Fusion):
    @property
    def num_tokens(self) -> int:
        return self.feature_tokens * len(self.features)

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat(self.select(features), dim=1)


@FUSIONS.register("average")
class Average(Fusion):
    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack(self.select(features), dim=0).mean(dim=0)


@FUSIONS.register("adaptive")
class Adaptive(Fusion):
    """Per-token convex combination of the features with weights from a zero-initialised linear gate."""

    def __init__(
        self, features: Sequence[str], feature_dim: int, feature_tokens: int, feature_norm: str | None = None
    ) -> None:
        super().__init__(features, feature_dim, feature_tokens, feature_norm)
        self.norm = nn.LayerNorm(feature_dim * len(self.features))
        self.gate = nn.Linear(feature_dim * len(self.features), len(self.features))
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def product_flops(self, images: int) -> int:
        return 2 * images * self.feature_tokens * self.gate.in_features * self.gate.out_features

    def weights(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Fusion weights (B, N, F), summing to one over the features; useful to inspect what was learned."""
        return self._weights(self.select(features))

    def _weights(self, selected: list[torch.Tensor]) -> torch.Tensor:
        return self.gate(self.norm(torch.cat(selected, dim=-1))).softmax(dim=-1)

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        selected = self.select(features)  # once: with feature_norm, each call updates the running statistics
        stacked = torch.stack(selected, dim=-1)  # (B, N, D, F)
        return (stacked * self._weights(selected).unsqueeze(2)).sum(dim=-1)


def build_fusion(
    name: str,
    features: Sequence[str],
    feature_dim: int,
    feature_tokens: int,
    feature_norm: str | None = None,
    **options: Any,
) -> Fusion:
    """The registered fusion ``name`` over ``features``, with its own ``options`` (checked against its signature)."""
    FUSIONS.check_options(name, options, supplied=FUSION_ARGUMENTS)
    fusion = FUSIONS.build(name, features, feature_dim, feature_tokens, feature_norm, **options)
    fusion.name = name
    return fusion
