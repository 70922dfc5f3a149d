"""Train Florence-VL: ``fvl train [overrides]`` or ``python train.py [overrides]`` (Hydra; configs in fvl/conf).

python train.py                                     # CPU demo: tiny model, synthetic data, a few minutes
python train.py experiment=florence_vl_3b_pretrain  # the paper's recipes (fvl/conf/experiment)
python train.py -m model/fusion=channel_concat,token_concat,average

Exit status: 0 done; 2 a config, path or data mistake (nothing trained); 3 non-finite gradients or weights (nothing
non-finite saved); 128 + N stopped by signal N (SIGTERM 143, SIGUSR1 138) after saving checkpoints/last.ckpt.
"""

import sys

import hydra
from omegaconf import DictConfig

from fvl.data.scan.checks import MalformedRecordError, SkipRateError
from fvl.models.finite import NonFiniteWeightsError
from fvl.training.nonfinite import NonFiniteError
from fvl.training.preemption import Preempted
from fvl.training.run import train
from fvl.usage import ConfigError


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    try:
        return train(cfg)
    except (ConfigError, FileNotFoundError) as error:  # the message names the key or path and the fix
        print(f"Config error: {error}", file=sys.stderr)
        sys.exit(2)
    except (MalformedRecordError, SkipRateError) as error:  # names the records, the rate and the fix
        print(f"Data error: {error}", file=sys.stderr)
        sys.exit(2)
    except (NonFiniteError, NonFiniteWeightsError) as error:  # names the step, samples or tensors
        print(f"Training stopped: {error}", file=sys.stderr)
        sys.exit(3)
    except Preempted as error:  # saved; a scheduler must see that the job did not finish
        print(str(error), file=sys.stderr)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
