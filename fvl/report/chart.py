"""The sweep report's chart, ``report.png``: the optimized metric of each job as a bar, labelled by the job's
varying overrides, with the references the answer-accuracy callback logs (chance, question-only baseline) as
horizontal lines. Drawn in the style of :mod:`fvl.report.figures` (Agg canvas, no pyplot).
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

from fvl.report.figures import BAR_COLOR, BAR_WIDTH, REFERENCES, draw_reference, new_figure, save_png
from fvl.report.sweep import Job, Sweep

# The constants fvl.training.answer_accuracy logs beside the accuracy (not imported from there, as that module
# loads torch and Lightning): the references of fvl.report.figures under their logged names.
REFERENCE_LINES = {f"val/{name}": name for name in REFERENCES}
SIGNIFICANT_DIGITS = 3
# Figure width in inches: grows with the number of jobs and their labels, within bounds; labels tilt beyond a
# few jobs.
MIN_WIDTH, MAX_WIDTH, INCHES_PER_BAR, INCHES_PER_CHARACTER = 6.0, 16.0, 0.9, 0.065
UPRIGHT_LABELS_UP_TO = 6


def short_value(value: str) -> str:
    """An override value for a bar label: decimals to three significant digits (Optuna's learning rates)."""
    try:
        number = float(value)
    except ValueError:
        return value
    return value if value.lstrip("+-").isdigit() or not math.isfinite(number) else f"{number:.{SIGNIFICANT_DIGITS}g}"


def bar_label(job: Job, varying_overrides: list[str]) -> str:
    """``#<job>`` over one ``key=value`` line per varying override the job has."""
    lines = [f"{key}={short_value(job.overrides[key])}" for key in varying_overrides if key in job.overrides]
    return "\n".join([f"#{job.name}", *lines])


def metric_values(sweep: Sweep, name: str) -> list[float | None]:
    """The metric ``name`` per job (None where a job lacks it)."""
    return [job.metric(name) for job in sweep.jobs]


def labels_upright(labels: list[str]) -> bool:
    return len(labels) <= UPRIGHT_LABELS_UP_TO


def figure_width(labels: list[str]) -> float:
    """Room for each upright label's longest line (tilted labels need less), within the bounds."""
    longest = max(len(line) for label in labels for line in label.splitlines())
    per_bar = max(INCHES_PER_BAR, INCHES_PER_CHARACTER * longest) if labels_upright(labels) else INCHES_PER_BAR
    return min(MAX_WIDTH, max(MIN_WIDTH, per_bar * len(labels) + 2.0))


def draw_chart(sweep: Sweep) -> Figure:
    metric = sweep.optimized_metric
    values = metric_values(sweep, metric)
    labels = [bar_label(job, sweep.varying_overrides) for job in sweep.jobs]
    figure = new_figure(figure_width(labels), 4.8)
    axes = figure.add_subplot()
    positions = list(range(len(sweep.jobs)))
    bars = axes.bar(positions, [0.0 if value is None else value for value in values], BAR_WIDTH, color=BAR_COLOR)
    axes.bar_label(bars, ["no metrics" if value is None else f"{value:.3f}" for value in values], fontsize=8)
    for name in REFERENCE_LINES:
        references = metric_values(sweep, name)
        if any(value is not None for value in references):
            draw_reference(axes, REFERENCE_LINES[name], references)
    if labels_upright(labels):
        axes.set_xticks(positions, labels, fontsize=7)
    else:
        axes.set_xticks(positions, labels, fontsize=7, rotation=35, ha="right", rotation_mode="anchor")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} per job\nsweep {sweep.name}", fontsize=10)
    axes.margins(y=0.15)
    if axes.get_legend_handles_labels()[0]:
        figure.legend(fontsize=8, loc="outside lower center", ncols=len(REFERENCE_LINES))
    return figure


def write_chart(sweep: Sweep, path: Path) -> None:
    save_png(draw_chart(sweep), path)
