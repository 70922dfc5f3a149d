"""The sweep report's table, one row per job: its number, status, the overrides that vary across the sweep and
every final metric (per-question-type accuracies included), written as ``report.md`` and ``report.csv``.

The Markdown lists the overrides all jobs share once above the table, the best trial when the Optuna sweeper
left one, the chart, what each status means and, when the seed varies, the means over seeds
(:mod:`fvl.report.seeds`); numbers there have four decimals, in the CSV full precision.
"""

from __future__ import annotations

import csv
from pathlib import Path

from fvl.report.seeds import seed_summary
from fvl.report.sweep import FINISHED, STATUS_MEANINGS, Sweep

JOB_COLUMN = "job"
STATUS_COLUMN = "status"
MISSING = "—"

Cell = str | float | None
SEED_SUMMARY_NOTE = (
    "Per setting of the other varying overrides, each metric's mean ± sample standard deviation over the seeds "
    "that finished: read a difference between two rows against how much each varies from seed to seed."
)


def table_columns(sweep: Sweep) -> list[str]:
    return [JOB_COLUMN, STATUS_COLUMN, *sweep.varying_overrides, *sweep.metric_names]


def table_rows(sweep: Sweep) -> list[dict[str, Cell]]:
    """Per job, each column's value: a string (job, status, override), a float (metric) or None (absent)."""
    varying, metrics = sweep.varying_overrides, sweep.metric_names
    return [
        {
            JOB_COLUMN: job.name,
            STATUS_COLUMN: job.status,
            **{key: job.overrides.get(key) for key in varying},
            **{name: job.metric(name) for name in metrics},
        }
        for job in sweep.jobs
    ]


def markdown_cell(value: Cell) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.4f}"
    return value.replace("|", "\\|") or '""'


def markdown_table(columns: list[str], rows: list[dict[str, Cell]]) -> list[str]:
    lines = ["| " + " | ".join(markdown_cell(column) for column in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(markdown_cell(row[column]) for column in columns) + " |" for row in rows]
    return lines


def optuna_lines(results: dict) -> list[str]:
    """The Optuna sweeper's ``optimization_results.yaml``: its best trial (or Pareto front) in a sentence."""
    if "best_params" in results:
        params = ", ".join(f"`{key}={value}`" for key, value in results["best_params"].items())
        return [f"Optuna's best trial: {results.get('best_value')} with {params}.", ""]
    solutions = results.get("solutions") or []
    return [f"Optuna's Pareto front: {len(solutions)} trials (optimization_results.yaml).", ""]


def write_markdown(sweep: Sweep, path: Path, chart_name: str | None = None) -> None:
    finished = sum(job.status == FINISHED for job in sweep.jobs)
    lines = [
        f"# Sweep report: {sweep.name}",
        "",
        f"{len(sweep.jobs)} jobs ({finished} with metrics) in `{sweep.directory}`; "
        f"optimized metric: `{sweep.optimized_metric}`.",
        "",
    ]
    common = sweep.common_overrides
    if common:
        lines += ["Overrides of every job:", "", *(f"- `{key}={value}`" for key, value in common.items()), ""]
    if sweep.optuna_results:
        lines += optuna_lines(sweep.optuna_results)
    lines += markdown_table(table_columns(sweep), table_rows(sweep))
    statuses = dict.fromkeys(job.status for job in sweep.jobs)
    lines += ["", *(f"- {status}: {STATUS_MEANINGS[status]}" for status in statuses)]
    summary = seed_summary(sweep)
    if summary:
        lines += ["", "## Over seeds", "", SEED_SUMMARY_NOTE, "", *markdown_table(*summary)]
    if chart_name:
        lines += ["", f"![{sweep.optimized_metric} per job]({chart_name})"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_csv(sweep: Sweep, path: Path) -> None:
    """The table with empty cells for absent values and metrics at full precision."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=table_columns(sweep))
        writer.writeheader()
        for row in table_rows(sweep):
            writer.writerow({column: "" if value is None else value for column, value in row.items()})
