"""The figures of ``fvl feature-maps``, one row per image, in the style of :mod:`fvl.report.figures`:

- ``feature_maps.png``: the image as the model sees it, then the PCA map (:mod:`fvl.analysis.pca_maps`) of the depth
  feature and of each prompt's breadth feature;
- ``fusion_weights.png`` (adaptive fusion only): the image, then a heat map per fused feature of the weight it gets
  at each token, on one colour scale for the whole figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fvl.analysis.pca_maps import PcaMap
from fvl.report.figures import new_figure

CELL_INCHES = 1.7
WEIGHT_COLORMAP = "viridis"


def _grid(columns: int, rows: int, extra_width: float = 0.0) -> tuple[Figure, np.ndarray]:
    figure = new_figure(CELL_INCHES * columns + extra_width, CELL_INCHES * rows + 0.6)
    return figure, figure.subplots(rows, columns, squeeze=False)


def _show(axes: Axes, picture: np.ndarray, **options) -> object:
    shown = axes.imshow(picture, interpolation="nearest", **options)
    axes.set_xticks([])
    axes.set_yticks([])
    return shown


def _label_rows(cells: np.ndarray, image_names: Sequence[str], titles: Sequence[str]) -> None:
    for column, title in enumerate(titles):
        cells[0, column].set_title(title, fontsize=8)
    for row, name in enumerate(image_names):
        cells[row, 0].set_ylabel(name, fontsize=7)


def draw_feature_maps(images: np.ndarray, image_names: Sequence[str], maps: Mapping[str, PcaMap]) -> Figure:
    """``images`` (B, S, S, 3) in [0, 1]; ``maps``: feature name → its PCA map over the B images."""
    figure, cells = _grid(1 + len(maps), len(images))
    titles = ["image"] + [f"{name}\n(PCA: {sum(pca.explained):.0%} of variance)" for name, pca in maps.items()]
    for row, image in enumerate(images):
        _show(cells[row, 0], image)
        for column, pca in enumerate(maps.values(), start=1):
            _show(cells[row, column], pca.rgb[row])
    _label_rows(cells, image_names, titles)
    grid = next(iter(maps.values())).rgb.shape[1:3]
    figure.suptitle(
        f"Florence-2 features per token ({grid[0]}×{grid[1]} grid): 3 principal components as RGB, "
        "fitted over all images of a feature",
        fontsize=9,
    )
    return figure


def draw_fusion_weights(
    images: np.ndarray, image_names: Sequence[str], weights: np.ndarray, features: Sequence[str]
) -> Figure:
    """``weights`` (B, H, W, F): the adaptive fusion's weight of each of ``features`` at each token."""
    figure, cells = _grid(1 + len(features), len(images), extra_width=0.8)
    low, high = float(weights.min()), float(weights.max())
    if high - low < 1e-6:  # an untrained gate weighs every feature alike: show that, not noise
        low, high = low - 0.05, high + 0.05
    shown = None
    for row, image in enumerate(images):
        _show(cells[row, 0], image)
        for column in range(len(features)):
            shown = _show(cells[row, column + 1], weights[row, ..., column], cmap=WEIGHT_COLORMAP, vmin=low, vmax=high)
    _label_rows(cells, image_names, ["image", *features])
    figure.colorbar(shown, ax=cells[:, 1:].ravel().tolist(), shrink=0.8, label="fusion weight")
    figure.suptitle(
        f"adaptive fusion: weight per token of each feature (they sum to 1; uniform = {1 / len(features):.2f})",
        fontsize=9,
    )
    return figure
