"""PCA maps: the first three principal components of a feature as RGB over the token grid."""

import numpy as np
import pytest

from fvl.analysis.pca_maps import pca_rgb, token_grid

SIDE, DIM = 4, 8


def patterns():
    """Three uncorrelated zero-mean ±1 patterns over a 4×4 grid: rows, columns and their product."""
    rows = np.repeat([[1.0], [1.0], [-1.0], [-1.0]], SIDE, axis=1)
    columns = rows.T.copy()
    return rows, columns, rows * columns


def constructed(scales=(3.0, 2.0, 1.0), offset=5.0):
    """(1, 4, 4, 8) features: pattern i along basis vector i with scale i, on top of a shared vector."""
    features = np.full((1, SIDE, SIDE, DIM), offset)
    for index, (pattern, scale) in enumerate(zip(patterns(), scales, strict=True)):
        features[0, :, :, index] += scale * pattern
    return features


def test_components_are_the_patterns_by_variance_scaled_to_unit_range():
    result = pca_rgb(constructed())
    assert result.rgb.shape == (1, SIDE, SIDE, 3)
    for channel, pattern in enumerate(patterns()):
        np.testing.assert_allclose(result.rgb[0, ..., channel], (pattern + 1) / 2, atol=1e-9)
    assert result.explained == pytest.approx((9 / 14, 4 / 14, 1 / 14))


def test_the_sign_of_a_component_is_fixed_by_its_largest_loading():
    flipped = constructed()
    flipped[..., 0] = 10.0 - flipped[..., 0]  # the first pattern along minus the first basis vector
    rgb = pca_rgb(flipped).rgb
    np.testing.assert_allclose(rgb[0, ..., 0], (1 - patterns()[0]) / 2, atol=1e-9)


def test_one_fit_over_all_images_gives_equal_tokens_equal_colours():
    first = constructed()
    second = constructed(scales=(1.5, 1.0, 0.5))  # weaker: its colours stay nearer the middle
    rgb = pca_rgb(np.concatenate([first, second])).rgb
    assert rgb.shape == (2, SIDE, SIDE, 3)
    np.testing.assert_allclose(rgb[0, ..., 0], (patterns()[0] + 1) / 2, atol=1e-9)
    np.testing.assert_allclose(rgb[1, ..., 0], (patterns()[0] / 2 + 1) / 2, atol=1e-9)
    both = np.concatenate([first, first])
    np.testing.assert_allclose(pca_rgb(both).rgb[0], pca_rgb(both).rgb[1])


def test_components_without_variance_are_grey():
    features = np.zeros((1, 2, 2, DIM))
    features[0, 0, 0, 0] = 1.0  # one direction of variance only
    result = pca_rgb(features)
    assert result.rgb[0, 0, 0, 0] == 1.0 and result.rgb[0, 1, 1, 0] == 0.0
    assert np.all(result.rgb[..., 1:] == 0.5) and result.explained[1:] == (0.0, 0.0)
    assert np.all(pca_rgb(np.ones((2, 2, 2, DIM))).rgb == 0.5)


def test_token_grid_leaves_the_global_token_out_row_major():
    tokens = np.arange(2 * 5 * 1).reshape(2, 5, 1)  # 1 global + 2×2 spatial tokens per image
    grid = token_grid(tokens, global_token=True)
    assert grid.shape == (2, 2, 2, 1) and grid[0, :, :, 0].tolist() == [[1, 2], [3, 4]]
    assert token_grid(tokens[:, 1:], global_token=False).tolist() == grid.tolist()
    with pytest.raises(ValueError, match="3 spatial tokens after the global one do not make a square grid"):
        token_grid(tokens[:, :4], global_token=True)
