"""``python -m fvl.report <dir>`` in a subprocess, and the Hydra callback that runs the same at a multirun's end."""

import csv
import logging
import subprocess
import sys

from omegaconf import OmegaConf

from fvl.report.hydra_callback import SweepReport

REPORT_FILES = ["report.md", "report.csv", "report.png"]


def run_cli(directory):
    command = [sys.executable, "-m", "fvl.report", str(directory)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_cli_writes_the_three_files_and_says_where(fusion_sweep):
    result = run_cli(fusion_sweep)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"wrote {fusion_sweep / name}" for name in REPORT_FILES]
    with (fusion_sweep / "report.csv").open(newline="") as file:
        assert [row["job"] for row in csv.DictReader(file)] == ["0", "1", "2"]


def test_cli_fails_clearly_without_job_dirs(tmp_path):
    result = run_cli(tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert f"error: {tmp_path} holds no job dirs" in result.stderr


def test_callback_writes_the_report_into_the_sweep_dir(fusion_sweep):
    SweepReport().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(fusion_sweep)}}}))
    assert all((fusion_sweep / name).stat().st_size > 0 for name in REPORT_FILES)


def test_callback_warns_with_the_regenerate_command_instead_of_failing(tmp_path, caplog):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    with caplog.at_level(logging.WARNING, logger="fvl.report.hydra_callback"):
        SweepReport().on_multirun_end(config)
    (record,) = caplog.records
    assert "NoJobsError" in record.getMessage() and f"python -m fvl.report {tmp_path}" in record.getMessage()
    assert not (tmp_path / "report.md").exists()
