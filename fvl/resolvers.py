"""OmegaConf resolvers the Hydra configs use, registered when ``fvl`` is imported.

``${fvl.cwd:}`` is the directory the command was started in. ``conf/paths`` roots ``data/`` and ``outputs/``
there; unlike ``${hydra:runtime.cwd}`` it resolves before Hydra has set its runtime config, which a multirun
needs (its sweep directory is computed first).
"""

from __future__ import annotations

import os

from omegaconf import OmegaConf


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("fvl.cwd"):
        OmegaConf.register_new_resolver("fvl.cwd", os.getcwd)
