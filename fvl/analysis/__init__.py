"""Looking inside a trained model: what its features and fusion do to images.

- :mod:`fvl.analysis.feature_maps` — ``fvl feature-maps``: PCA maps of the depth feature and each prompt's breadth
  feature over the token grid, and the adaptive fusion's weight per token and feature;
- :mod:`fvl.analysis.pca_maps` — the PCA → RGB maps themselves (numpy only).

The run pictures (training curves, answer accuracy, token lengths) are drawn from files by :mod:`fvl.report`.
"""
