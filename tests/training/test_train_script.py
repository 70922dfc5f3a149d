"""train.py end to end in subprocesses on tiny settings: the two-stage demo as a 2-run fusion sweep, and DDP on
two CPU processes (gloo)."""

import json
import subprocess
import sys
from pathlib import Path

import torch

from fvl.models.florence_vl import FlorenceVL

ROOT = Path(__file__).resolve().parents[2]
# A few steps on a small synthetic set; every stage validates and checkpoints at its last step.
TINY_RUN = [
    "data.synthetic.num_captions=24",
    "data.synthetic.num_instruct=24",
    "data.synthetic.num_eval=6",
    "data.batch_size=4",
    "trainer.max_steps=2",
    "trainer.val_check_interval=2",
    "callbacks.model_checkpoint.every_n_train_steps=2",
    "callbacks.answer_accuracy.max_new_tokens=2",
    "trainer.enable_progress_bar=false",
]


def run_train(tmp_path: Path, *overrides: str, multirun: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "train.py", *(["-m"] if multirun else [])]
    command += [f"paths.data_dir={tmp_path / 'data'}", f"paths.log_dir={tmp_path}", *TINY_RUN, *overrides]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_fusion_sweep_runs_both_stages_and_leaves_metrics_checkpoint_and_model_per_run(tmp_path):
    sweep = tmp_path / "sweep"
    run_train(
        tmp_path,
        "model/fusion=channel_concat,average",
        "pre_stage.trainer.max_steps=2",
        "pre_stage.data.batch_size=4",
        f"hydra.sweep.dir={sweep}",
        multirun=True,
    )
    for job, fusion in (("0", "channel_concat"), ("1", "average")):
        run = sweep / job
        metrics = json.loads((run / "metrics.json").read_text())
        assert 0.0 <= metrics["val/answer_accuracy"] <= 1.0 and metrics["val/chance"] > 0
        assert {"val/loss", "val/question_only_baseline"} <= set(metrics)
        assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "pre_stage" / "model").is_dir()
        model = FlorenceVL.from_pretrained(run / "model")
        assert model.fusion.name == fusion and model.input_format["format"] == "chat"
        assert FlorenceVL.from_pretrained(run / "pre_stage" / "model").input_format["format"] == "plain"
        checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
        assert checkpoint["global_step"] == 2 and checkpoint["hyper_parameters"]["init_from"].endswith(
            "pre_stage/model"
        )


def test_ddp_on_two_cpu_processes_trains(tmp_path):
    run = tmp_path / "ddp"
    result = run_train(tmp_path, "trainer=ddp_cpu", "trainer.devices=2", "pre_stage=null", f"hydra.run.dir={run}")
    assert (
        "4 per device × 1 accumulation × 2 devices × 1 nodes = 8 samples per optimizer step"
        in result.stdout + result.stderr
    )
    assert json.loads((run / "metrics.json").read_text())["val/loss"] > 0
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 2
    assert FlorenceVL.from_pretrained(run / "model").num_image_tokens == 5
