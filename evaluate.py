"""Evaluate a trained Florence-VL on benchmarks: ``python evaluate.py checkpoint=<model dir | .ckpt> benchmarks=[...]``.

Batched greedy generation (KV cache, left padding), official scoring, a printed table, and in the run directory
``results.json`` plus ``predictions/<benchmark>.jsonl``. Under ``torchrun --nproc_per_node N`` samples are sharded
across processes and the scores gathered. Configuration: conf/evaluate.yaml.
"""

import hydra
from omegaconf import DictConfig

from fvl.eval.entry import run_evaluation


@hydra.main(config_path="conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_evaluation(cfg)


if __name__ == "__main__":
    main()
