"""Fixtures of the picture tests: a hand-written run dir (CSV log, metrics.json); tiny models on the path."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))


# The columns Lightning's CSV logger writes for a demo stage (a subset), a row per logged step.
CSV_COLUMNS = [
    "epoch",
    "lr-AdamW/llm",
    "lr-AdamW/llm_no_decay",
    "lr-AdamW/projector",
    "step",
    "train/loss",
    "train/samples_per_s",
    "train/tokens_per_s",
    "val/answer_accuracy",
    "val/chance",
    "val/loss",
    "val/question_only_baseline",
]


def write_csv_log(run_dir: Path, steps: int = 8, validate_at: tuple[int, ...] = (3, 7)) -> Path:
    """A metrics.csv as the demo's logger writes it: lr rows, train rows (throughput from step 2), val rows."""
    path = run_dir / "csv" / "metrics.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for step in range(steps):
            lr = 1e-3 * (step + 1) / steps
            writer.writerow(
                {"step": step, "lr-AdamW/llm": lr, "lr-AdamW/llm_no_decay": lr, "lr-AdamW/projector": lr / 2}
            )
            row = {"epoch": 0, "step": step, "train/loss": 10.0 / (step + 1)}
            if step >= 2:
                row.update({"train/tokens_per_s": 1000.0 + step, "train/samples_per_s": 10.0 + step})
            writer.writerow(row)
            if step in validate_at:
                writer.writerow(
                    {
                        "epoch": 0,
                        "step": step,
                        "val/loss": 1.0 / (step + 1),
                        "val/answer_accuracy": 0.1 * step,
                        "val/chance": 0.25,
                        "val/question_only_baseline": 0.3,
                    }
                )
    return path


@pytest.fixture
def run_dir(tmp_path):
    """A run dir with a CSV log and metrics.json, and a pre_stage dir with a log of its own."""
    run = tmp_path / "run"
    write_csv_log(run)
    write_csv_log(run / "pre_stage", steps=5, validate_at=())
    metrics = {
        "val/answer_accuracy": 0.6,
        "val/answer_accuracy/colour": 0.9,
        "val/answer_accuracy/shape": 0.3,
        "val/chance": 0.25,
        "val/loss": 0.5,
        "val/question_only_baseline": 0.3,
        "data/train/records": 16.0,
    }
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return run
