"""Training Florence-VL with Lightning: stage modules, optimisation, strategies, checkpoints, export, runs."""
