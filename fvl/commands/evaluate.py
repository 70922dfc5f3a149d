"""Evaluate a trained Florence-VL on benchmarks: ``python evaluate.py checkpoint=<model dir | .ckpt> benchmarks=[...]``.

Every benchmark name and local copy is checked before the model loads. Batched greedy generation (KV cache,
left padding), official scoring, a progress bar and the first prompt per benchmark. In the run directory,
``predictions/<benchmark>.jsonl`` grows as batches finish and ``results.json`` is rewritten as each benchmark
finishes; running the same command again reuses the predictions made under the same conditions (``resume``).
A failing benchmark is reported and recorded, the others still run, and the exit status is 1. A table at the end.
Under ``torchrun --nproc_per_node N`` samples are sharded across processes and the scores gathered.
Configuration: fvl/conf/evaluate.yaml.
"""

import hydra
from omegaconf import DictConfig

import fvl.eval.config  # noqa: F401  (registers the open mappings fvl/conf/evaluate.yaml lists first)
from fvl.distributed import is_main_process
from fvl.eval.checks import BenchmarkSetupError
from fvl.eval.entry import run_evaluation
from fvl.eval.failures import BenchmarksFailed


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        run_evaluation(cfg)
    except BenchmarkSetupError as error:  # a user's mistake in the command: the message, not a traceback
        raise SystemExit(f"evaluate.py: {error}") from None
    except BenchmarksFailed as error:  # the others finished and are saved; the status says not all did
        raise SystemExit(f"evaluate.py: {error}" if is_main_process() else 1) from None


if __name__ == "__main__":
    main()
