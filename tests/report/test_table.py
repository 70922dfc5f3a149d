"""report.md and report.csv: one row per job with the varying overrides and every metric."""

import csv

from expected_metrics import FUSION_METRICS

from fvl.report.sweep import read_sweep
from fvl.report.table import MISSING, table_columns, table_rows, write_csv, write_markdown


def test_rows_and_columns(fusion_sweep):
    sweep = read_sweep(fusion_sweep)
    assert table_columns(sweep) == ["job", "status", "model/fusion", *FUSION_METRICS]
    rows = table_rows(sweep)
    assert [(row["job"], row["status"], row["model/fusion"]) for row in rows] == [
        ("0", "ok", "channel_concat"),
        ("1", "ok", "average"),
        ("2", "no metrics", "adaptive"),
    ]
    assert rows[0]["val/answer_accuracy/color"] == 0.75 and rows[1]["val/loss"] == 1.0
    assert all(rows[2][column] is None for column in FUSION_METRICS)


def test_markdown_lists_common_overrides_once_and_tabulates_the_jobs(fusion_sweep, tmp_path):
    path = tmp_path / "report.md"
    write_markdown(read_sweep(fusion_sweep), path, chart_name="report.png")
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0] == "# Sweep report: demo/multiruns/2025-01-02_03-04-05"
    assert "3 jobs (2 with metrics)" in text and "optimized metric: `val/answer_accuracy`" in text
    assert text.count("trainer.max_steps=2") == 1 and "- `seed=7`" in lines
    header = lines.index("| job | status | model/fusion | " + " | ".join(FUSION_METRICS) + " |")
    assert lines[header + 2] == "| 0 | ok | channel_concat | 0.5000 | 0.7500 | 0.2500 | 0.3333 | 1.2500 | 0.3750 |"
    assert lines[header + 4] == "| 2 | no metrics | adaptive | " + " | ".join([MISSING] * 6) + " |"
    assert any(line.startswith("- no metrics: no metrics.json") for line in lines)
    assert lines[-1] == "![val/answer_accuracy per job](report.png)"


def test_markdown_names_optunas_best_trial(optuna_sweep, tmp_path):
    path = tmp_path / "report.md"
    write_markdown(read_sweep(optuna_sweep), path)
    text = path.read_text()
    assert "Optuna's best trial: 0.5 with `model/fusion=average`, `optim.lr.llm=0.0011001`." in text
    assert "| 10 | ok | 0.0011001000000000001 | average | 0.5000 | 0.4000 | 2.0000 |" in text


def test_csv_parses_back_to_the_same_values(fusion_sweep, tmp_path):
    path = tmp_path / "report.csv"
    write_csv(read_sweep(fusion_sweep), path)
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["job", "status", "model/fusion", *FUSION_METRICS]
    assert [row["model/fusion"] for row in rows] == ["channel_concat", "average", "adaptive"]
    assert float(rows[0]["val/chance"]) == 1 / 3 and float(rows[1]["val/answer_accuracy"]) == 0.625
    assert rows[2]["status"] == "no metrics" and all(rows[2][column] == "" for column in FUSION_METRICS)
