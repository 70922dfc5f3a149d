"""Composing ``fvl/conf/train.yaml`` in-process the way ``train.py`` does (imported by the config tests)."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from fvl.conf import CONFIG_DIR

CONF = CONFIG_DIR


def compose_train(tmp_path: Path, *overrides: str) -> DictConfig:
    """The composed train config with Hydra's runtime set, paths rooted in ``tmp_path``, without the hydra node."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.root_dir = str(tmp_path)
        cfg.paths.output_dir = str(tmp_path / "run")
        del cfg.hydra
    return cfg


# The demo finetuning stage shrunk for fault tests: no pre-stage, 16 samples in batches of 4 (4 steps an epoch).
TINY_DEMO = [
    "pre_stage=null",
    "data.synthetic.num_captions=8",
    "data.synthetic.num_instruct=16",
    "data.synthetic.num_eval=4",
    "data.batch_size=4",
    "trainer.enable_progress_bar=false",
    "callbacks.answer_accuracy=null",
    "optimized_metric=val/loss",
    "cpu_threads=1",
]
