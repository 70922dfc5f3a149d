"""Writes a sweep dir's report — ``report.md``, ``report.csv`` and ``report.png`` — from its job dirs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fvl.report.chart import write_chart
from fvl.report.sweep import read_sweep
from fvl.report.table import write_csv, write_markdown

MARKDOWN_FILE = "report.md"
CSV_FILE = "report.csv"
CHART_FILE = "report.png"


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    csv: Path
    chart: Path

    def __iter__(self):
        return iter((self.markdown, self.csv, self.chart))


def write_report(sweep_dir: str | Path) -> ReportFiles:
    """Reads the sweep dir (:func:`~fvl.report.sweep.read_sweep`; NoJobsError without job dirs) and writes the
    three report files into it, overwriting an earlier report."""
    sweep = read_sweep(sweep_dir)
    files = ReportFiles(*(sweep.directory / name for name in (MARKDOWN_FILE, CSV_FILE, CHART_FILE)))
    write_chart(sweep, files.chart)
    write_csv(sweep, files.csv)
    write_markdown(sweep, files.markdown, chart_name=files.chart.name)
    return files
