"""Token features as colours: the first three principal components of a feature, fitted jointly over every token
of every image, as RGB over the token grid (the paper's feature visualisation).

One fit per feature across all images, so a colour means the same direction of feature space in every image of
a figure; each component is scaled to [0, 1] by its minimum and maximum over all those tokens. A component's
sign is fixed (its loading's largest entry positive), so the same features always give the same colours. A
component without variance (fewer tokens than components, or identical tokens) is a constant 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

COMPONENTS = 3
NO_VARIANCE = 1e-6  # a component whose singular value is below this share of the first one has no variance


@dataclass(frozen=True)
class PcaMap:
    """``rgb``: (..., 3) in [0, 1], the leading shape of the features; ``explained``: each component's share of
    the variance."""

    rgb: np.ndarray
    explained: tuple[float, ...]


def pca_rgb(features: np.ndarray, components: int = COMPONENTS) -> PcaMap:
    """Features (..., D), e.g. (images, H, W, D) → their first ``components`` principal components as colours."""
    if features.ndim < 2:
        raise ValueError(f"features need a trailing feature axis, got shape {features.shape}")
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    centred = flat - flat.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    total = float((singular**2).sum())
    channels = np.full((flat.shape[0], components), 0.5)
    explained = []
    for index in range(components):
        if index >= len(singular) or singular[index] <= NO_VARIANCE * max(singular[0], 1e-300):
            explained.append(0.0)
            continue
        axis = axes[index] * np.sign(axes[index][np.abs(axes[index]).argmax()])
        projected = centred @ axis
        low, high = projected.min(), projected.max()
        channels[:, index] = (projected - low) / (high - low)
        explained.append(float(singular[index] ** 2) / total)
    return PcaMap(channels.reshape(*features.shape[:-1], components), tuple(explained))


def token_grid(tokens: np.ndarray, global_token: bool) -> np.ndarray:
    """(B, N, C) visual tokens → (B, side, side, C) over the image's token grid (row-major, as Florence-2 flattens
    it); ``global_token``: the first token is the pooled global one and is left out."""
    spatial = tokens[:, 1:] if global_token else tokens
    side = math.isqrt(spatial.shape[1])
    if side * side != spatial.shape[1]:
        kind = "spatial tokens after the global one" if global_token else "tokens"
        raise ValueError(f"{spatial.shape[1]} {kind} do not make a square grid")
    return spatial.reshape(spatial.shape[0], side, side, *spatial.shape[2:])
