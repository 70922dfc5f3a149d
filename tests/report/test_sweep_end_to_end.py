"""A real two-job fusion sweep (``train.py -m`` in a subprocess, from a temporary working directory) leaves the
report in its sweep dir, written by the Hydra callback at the multirun's end."""

import csv
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
# One step of the finetuning stage alone on a few synthetic samples, without the exported model.
ONE_STEP_RUN = [
    "pre_stage=null",
    "export_model=false",
    "data.synthetic.num_captions=8",
    "data.synthetic.num_instruct=8",
    "data.synthetic.num_eval=4",
    "data.batch_size=4",
    "trainer.max_steps=1",
    "trainer.val_check_interval=1",
    "callbacks.model_checkpoint.every_n_train_steps=1",
    "callbacks.answer_accuracy.max_new_tokens=1",
    "trainer.enable_progress_bar=false",
]


def test_fusion_sweep_ends_with_a_report_of_both_jobs(tmp_path):
    command = [sys.executable, str(ROOT / "train.py"), "-m", "model/fusion=channel_concat,average", *ONE_STEP_RUN]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    # The default sweep dir (outputs/<task>/multiruns/<time>): the callback resolves ${now:} as the sweeper did.
    (sweep_dir,) = (tmp_path / "outputs" / "demo" / "multiruns").iterdir()
    assert f"Sweep report: {sweep_dir / 'report.md'}" in result.stderr + result.stdout
    with (sweep_dir / "report.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["job"], row["status"], row["model/fusion"]) for row in rows] == [
        ("0", "ok", "channel_concat"),
        ("1", "ok", "average"),
    ]
    assert all(0.0 <= float(row["val/answer_accuracy"]) <= 1.0 and float(row["val/loss"]) > 0 for row in rows)
    assert any(column.startswith("val/answer_accuracy/") for column in rows[0])  # per question type
    markdown = (sweep_dir / "report.md").read_text()
    assert "optimized metric: `val/answer_accuracy`" in markdown and "- `pre_stage=null`" in markdown
    with Image.open(sweep_dir / "report.png") as image:
        assert image.format == "PNG" and image.width > 0
