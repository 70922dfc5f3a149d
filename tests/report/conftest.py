"""Fake sweep dirs as Hydra and train.py leave them: numbered job dirs with ``.hydra/overrides.yaml``,
``.hydra/config.yaml`` and, for finished jobs, ``metrics.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

COMMON = ["trainer.max_steps=2", "seed=7"]
# Job 2 (adaptive) left no metrics.json: it failed or is still running.
FUSION_METRICS = {
    "0": {
        "val/answer_accuracy": 0.5,
        "val/answer_accuracy/color": 0.75,
        "val/answer_accuracy/shape": 0.25,
        "val/chance": 0.3333333333333333,
        "val/loss": 1.25,
        "val/question_only_baseline": 0.375,
    },
    "1": {
        "val/answer_accuracy": 0.625,
        "val/answer_accuracy/color": 1.0,
        "val/answer_accuracy/shape": 0.25,
        "val/chance": 0.3333333333333333,
        "val/loss": 1.0,
        "val/question_only_baseline": 0.375,
    },
}
FUSIONS = ["channel_concat", "average", "adaptive"]


def write_job(
    sweep_dir: Path, name: str, overrides: list[str], metrics: dict | None, config: dict | None = None
) -> Path:
    job = sweep_dir / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config or {}))
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return job


@pytest.fixture
def fusion_sweep(tmp_path: Path) -> Path:
    """Three fusion jobs optimizing ``val/answer_accuracy`` (metrics: FUSION_METRICS; job 2 has none)."""
    sweep_dir = tmp_path / "demo" / "multiruns" / "2025-01-02_03-04-05"
    config = {"task_name": "demo", "optimized_metric": "val/answer_accuracy", "paths": {"root_dir": "${fvl.cwd:}"}}
    for number, fusion in enumerate(FUSIONS):
        name = str(number)
        write_job(sweep_dir, name, [f"model/fusion={fusion}", *COMMON], FUSION_METRICS.get(name), config)
    (sweep_dir / "multirun.yaml").write_text("hydra: {}\n")  # the basic sweeper's; not a job dir
    return sweep_dir


@pytest.fixture
def optuna_sweep(tmp_path: Path) -> Path:
    """Eleven Optuna trials (so job 10 sorts after job 2) over a learning rate and the fusion, maximizing
    ``val/answer_accuracy`` = 0.4 + job / 100, and the sweeper's ``optimization_results.yaml``."""
    sweep_dir = tmp_path / "optuna"
    config = {"optimized_metric": "val/answer_accuracy"}
    for number in range(11):
        overrides = [f"optim.lr.llm={0.0001 * (number + 1) + 1e-7}", f"model/fusion={FUSIONS[number % 3]}"]
        metrics = {"val/answer_accuracy": 0.4 + number / 100, "val/chance": 0.3 + number / 100, "val/loss": 2.0}
        write_job(sweep_dir, str(number), ["hparams_search=optuna", *overrides], metrics, config)
    results = {"name": "optuna", "best_params": {"optim.lr.llm": 0.0011001, "model/fusion": "average"}}
    (sweep_dir / "optimization_results.yaml").write_text(yaml.safe_dump({**results, "best_value": 0.5}))
    return sweep_dir


# Per (fusion, seed), the accuracy of a fake fusion-by-seed sweep; (average, 2) left no metrics.
SEED_ACCURACY = {("channel_concat", "0"): 0.5, ("channel_concat", "1"): 0.7, ("channel_concat", "2"): 0.9}
SEED_ACCURACY |= {("average", "0"): 0.6, ("average", "1"): 0.6}


@pytest.fixture
def seed_sweep(tmp_path: Path) -> Path:
    """``model/fusion=channel_concat,average seed=0,1,2`` in the basic sweeper's job order (SEED_ACCURACY)."""
    sweep_dir = tmp_path / "seeds"
    config = {"optimized_metric": "val/answer_accuracy"}
    jobs = [(fusion, seed) for fusion in ("channel_concat", "average") for seed in ("0", "1", "2")]
    for number, (fusion, seed) in enumerate(jobs):
        accuracy = SEED_ACCURACY.get((fusion, seed))
        metrics = (
            None if accuracy is None else {"val/answer_accuracy": accuracy, "val/chance": 0.25, "data/train/samples": 8}
        )
        write_job(
            sweep_dir, str(number), [f"model/fusion={fusion}", f"seed={seed}", "trainer.max_steps=2"], metrics, config
        )
    return sweep_dir
