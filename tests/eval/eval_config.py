"""evaluate.py's config composed in-process, as ``python evaluate.py <overrides>`` composes it (imported as
``eval_config``)."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import fvl.eval.config  # noqa: F401  (registers what fvl/conf/evaluate.yaml needs, as evaluate.py does)
from fvl.conf import CONFIG_DIR

CONF = CONFIG_DIR


def evaluate_config(*overrides: str, out_dir: Path) -> DictConfig:
    """The config of ``python evaluate.py *overrides``, with ``out_dir`` as the run directory (set as Hydra's
    runtime config, which ``run_evaluation`` reads). Unless ``paths.log_dir`` is among the overrides, it is
    ``out_dir``'s sibling ``logs``, so that ``resume`` never looks at the checkout's own ``outputs/``."""
    if not any(override.startswith("paths.log_dir=") for override in overrides):
        overrides = (*overrides, f"paths.log_dir={Path(out_dir).parent / 'logs'}")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3", job_name="evaluate"):
        cfg = compose("evaluate", overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg
