"""``fvl/conf/train.yaml`` composed in-process with a list of overrides, exactly as ``train.py`` composes it.

For commands that build a training run's config without Hydra's command line (``fvl cache-features``,
``fvl alignment``): Hydra's runtime config is set as ``@hydra.main`` sets it, so interpolations such as
``${hydra:runtime.cwd}`` resolve, and the ``hydra`` node is removed as in a task function's config.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import fvl.training.config  # noqa: F401  (registers the typed schema train.yaml names first)
from fvl.conf import CONFIG_DIR


def compose_train(overrides: Sequence[str]) -> DictConfig:
    """``fvl/conf/train.yaml`` composed with ``overrides``, Hydra's runtime set as in ``train.py``."""
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    return cfg
