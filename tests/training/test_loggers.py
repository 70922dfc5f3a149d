"""Loggers out of the box (CSV + TensorBoard by default, the paper recipes included; W&B an extra checked at
startup) and the end-of-training export's options: a shrunk run writes the train loss to TensorBoard and exports
in ``export.dtype`` with a model card of the run."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from compose_helpers import CONF, TINY_DEMO, compose_train
from omegaconf import open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fvl.models.loading import load
from fvl.models.model_card import CARD_FILE
from fvl.training import loggers
from fvl.training.config import ConfigError, validate_train_config
from fvl.training.export import main as export_main
from fvl.training.run import fit_stage, pre_stage_config

PAPER_RECIPES = sorted(path.stem for path in (CONF / "experiment").glob("*.yaml") if path.stem != "demo")
BOTH = {
    "csv": "lightning.pytorch.loggers.CSVLogger",
    "tensorboard": "lightning.pytorch.loggers.TensorBoardLogger",
}


@pytest.mark.parametrize("experiment", ["demo", *PAPER_RECIPES])
def test_every_experiment_logs_csv_and_tensorboard(tmp_path, experiment):
    cfg = compose_train(tmp_path, f"experiment={experiment}")
    assert {name: node._target_ for name, node in cfg.logger.items()} == BOTH
    assert cfg.logger.tensorboard.save_dir == str(tmp_path / "run" / "tensorboard")


def test_paper_recipes_are_the_ones_named_in_the_brief():
    assert [name for name in PAPER_RECIPES if not name.startswith(("florence_vl_", "llava15_"))] == []
    assert len(PAPER_RECIPES) == 6


@pytest.mark.parametrize(
    ("override", "missing", "fix"),
    [("logger=wandb", "wandb", 'pip install -e ".[wandb]"'), ("logger=tensorboard", "tensorboard", "pip install")],
)
def test_a_logger_without_its_package_fails_at_startup_naming_the_install(
    tmp_path, monkeypatch, override, missing, fix
):
    cfg = compose_train(tmp_path, override)
    monkeypatch.setattr(loggers, "installed", lambda module: module not in (missing, "tensorboardX"))
    with pytest.raises(ConfigError, match="needs the .* package, which is not installed") as refused:
        validate_train_config(cfg)
    assert missing in str(refused.value) and fix in str(refused.value)
    monkeypatch.setattr(loggers, "installed", lambda module: True)
    validate_train_config(cfg)  # installed: nothing to say


def test_a_bad_export_dtype_fails_at_startup(tmp_path):
    with pytest.raises(ConfigError, match=r"export.dtype='bf17' is unknown; use bfloat16 \(bf16\)"):
        validate_train_config(compose_train(tmp_path, "export.dtype=bf17"))
    validate_train_config(compose_train(tmp_path, "export.dtype=bf16"))


def test_pre_stage_exports_keep_their_training_dtype_unless_told(tmp_path):
    cfg = compose_train(tmp_path, "export.dtype=bfloat16")  # the demo: a pre_stage, itself with one
    assert pre_stage_config(cfg).export.dtype is None  # it becomes the next stage's init_from
    told = compose_train(tmp_path, "export.dtype=bfloat16", "+pre_stage.export.dtype=float16")
    assert pre_stage_config(told).export.dtype == "float16"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A 3-step finetuning run of the shrunk demo with logger=many and export.dtype=bf16."""
    tmp = tmp_path_factory.mktemp("loggers")
    cfg = compose_train(tmp, *TINY_DEMO, "logger=many", "trainer.max_steps=3", "export.dtype=bf16")
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp / "run")
    fit_stage(cfg)
    return tmp / "run"


def test_a_run_with_logger_many_writes_the_train_loss_to_tensorboard_as_to_csv(run):
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))  # one from fit, one from the final validation
    accumulator = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})  # all of the directory
    accumulator.Reload()
    loss = {event.step: event.value for event in accumulator.Scalars("train/loss")}
    assert sorted(loss) == [0, 1, 2] and all(math.isfinite(value) and value > 0 for value in loss.values())
    with open(run / "csv" / "metrics.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("train/loss")]
    assert {int(row["step"]): pytest.approx(float(row["train/loss"]), rel=1e-6) for row in rows} == loss
    assert "val/loss" in accumulator.Tags()["scalars"]


def test_the_run_exports_in_export_dtype_with_a_card_of_the_run(run):
    model = load(run / "model")
    assert model.llm.dtype == torch.bfloat16 and {p.dtype for p in model.parameters()} == {torch.bfloat16}
    card = (run / "model" / CARD_FILE).read_text()
    assert "| dtype | bfloat16 |" in card and "Stage `finetune`, 3 optimizer steps; frozen: vision." in card
    assert f"| train | instruct | `{run.parent / 'data' / 'synthetic' / 'instruct.json'}` | 1.0 |" in card
    assert "| val | eval |" in card and "Samples: train 16, val 4." in card
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"| val/loss | {metrics['val/loss']:.4f} |" in card


def test_exporting_the_runs_checkpoint_by_hand_reads_what_it_recorded(run, tmp_path):
    assert export_main([str(run / "checkpoints" / "last.ckpt"), str(tmp_path / "model")]) == 0
    assert load(tmp_path / "model").llm.dtype == torch.float32  # no --dtype: as trained
    card = (tmp_path / "model" / CARD_FILE).read_text()
    assert "Stage `finetune`, 3 optimizer steps; frozen: vision." in card  # the checkpoint's record
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"| val/loss | {metrics['val/loss']:.4f} |" in card and "Samples: train 16, val 4." in card  # metrics.json


def test_a_hand_export_reads_the_data_sources_as_the_run_resolved_them(run, tmp_path):
    copy = tmp_path / "run"
    (copy / "checkpoints").mkdir(parents=True)
    shutil.copy(run / "checkpoints" / "last.ckpt", copy / "checkpoints" / "last.ckpt")
    (copy / ".hydra").mkdir()
    (copy / ".hydra" / "config.yaml").write_text(  # as Hydra saves it: interpolations as written
        "task_name: my_task\npaths:\n  root_dir: ${fvl.cwd:}\n  data_dir: ${paths.root_dir}/data\n"
        "  output_dir: ${hydra:runtime.output_dir}\ndata:\n  train:\n  - path: ${paths.data_dir}/mine.json\n"
        "    weight: 0.5\n  val: null\n"
    )
    (copy / ".hydra" / "hydra.yaml").write_text("hydra:\n  runtime:\n    cwd: /where/it/ran\n")
    assert export_main([str(copy / "checkpoints" / "last.ckpt"), str(tmp_path / "model")]) == 0
    card = (tmp_path / "model" / CARD_FILE).read_text()
    assert "| train | mine | `/where/it/ran/data/mine.json` | 0.5 |" in card and "Run: `my_task`." in card
    assert "## Metrics" not in card  # no metrics.json beside this copy
