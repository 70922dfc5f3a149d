"""Train Florence-VL: ``python train.py [overrides]`` (Hydra; configs in conf/, see conf/train.yaml).

python train.py                                     # CPU demo: tiny model, synthetic data, a few minutes
python train.py experiment=florence_vl_3b_pretrain  # the paper's recipes (conf/experiment)
python train.py -m model/fusion=channel_concat,token_concat,average
"""

import sys

import hydra
from omegaconf import DictConfig

from fvl.training.config import ConfigError
from fvl.training.run import train


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    try:
        return train(cfg)
    except (ConfigError, FileNotFoundError) as error:  # the message names the key or path and the fix
        print(f"Config error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
