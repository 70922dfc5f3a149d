"""evaluate.py's command line: per-benchmark paths, options and input-format overrides for any name, no ``+``."""

from pathlib import Path

import pytest
from eval_config import evaluate_config
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from fvl.eval.entry import benchmark_requests


def test_readme_custom_command_composes(tmp_path: Path) -> None:
    cfg = evaluate_config(
        "checkpoint=run/model",
        "benchmarks=[custom]",
        "benchmark_paths.custom=my.jsonl",
        "options.custom={metric: vqa_accuracy}",
        out_dir=tmp_path,
    )
    assert benchmark_requests(cfg) == [{"name": "custom", "path": "my.jsonl", "metric": "vqa_accuracy"}]
    assert cfg.benchmark_paths.synthetic.endswith("synthetic/eval.json")  # the default entry is kept


def test_paths_options_and_input_format_for_any_name(tmp_path: Path) -> None:
    cfg = evaluate_config(
        "checkpoint=run/model",
        "benchmarks=[vqav2,pope]",
        "benchmark_root=/data/lmms-lab",
        "benchmark_paths.pope=/elsewhere/POPE",
        "options.vqav2={split: val}",
        "input_format.image_policy=pad",
        "limit=3",
        out_dir=tmp_path,
    )
    assert benchmark_requests(cfg) == [
        {"name": "vqav2", "path": "/data/lmms-lab/vqav2", "limit": 3, "split": "val"},
        {"name": "pope", "path": "/elsewhere/POPE", "limit": 3},
    ]
    assert OmegaConf.to_container(cfg.input_format) == {"image_policy": "pad"}


def test_other_keys_stay_closed(tmp_path: Path) -> None:
    with pytest.raises(ConfigCompositionException, match="batch_sise"):
        evaluate_config("checkpoint=run/model", "batch_sise=4", out_dir=tmp_path)
