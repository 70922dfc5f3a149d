"""A training run leaves its pictures in each stage's run dir: token lengths, curves, answer accuracy."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from picture_checks import assert_png

ROOT = Path(__file__).resolve().parents[2]
QUICK_DEMO = [
    "trainer.max_steps=3",
    "data.batch_size=2",
    "cpu_threads=1",
    "data.num_workers=0",
    "trainer.enable_progress_bar=false",
    "data.synthetic.num_captions=8",
    "data.synthetic.num_instruct=8",
    "data.synthetic.num_eval=4",
    "pre_stage.trainer.max_steps=1",
    "pre_stage.data.batch_size=2",
    "pre_stage.pre_stage.trainer.max_steps=1",
    "pre_stage.pre_stage.data.batch_size=2",
    "callbacks.answer_accuracy.max_new_tokens=2",
]


@pytest.mark.slow  # a three-stage training run in a subprocess: about 20 s of CPU
def test_each_stage_of_the_demo_draws_its_pictures(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *QUICK_DEMO], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "outputs" / "demo" / "runs").iterdir()
    for stage in (run, run / "pre_stage", run / "pre_stage" / "pre_stage"):
        assert_png(stage / "curves.png")
        assert_png(stage / "token_lengths.png")
    assert_png(run / "answer_accuracy.png")  # only the finetuning stage measures it
    assert not (run / "pre_stage" / "answer_accuracy.png").exists()
    shown = json.loads((run / "answer_accuracy.json").read_text())
    final = json.loads((run / "metrics.json").read_text())
    assert shown["step"] == 3 and shown["scores"]["accuracy"] == final["val/answer_accuracy"]
    assert "could not draw" not in done.stdout + done.stderr
