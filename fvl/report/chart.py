"""The sweep report's chart, ``report.png``: the optimized metric of each job as a bar, labelled by the job's
varying overrides, with the references the answer-accuracy callback logs (chance, question-only baseline) as
horizontal lines. When the sweep varies the seed (:mod:`fvl.report.seeds`), one bar per setting instead: the
mean over its seeds, ±1 sample standard deviation as an error bar and each seed's value as a dot. Drawn in the
style of :mod:`fvl.report.figures` (Agg canvas, no pyplot).
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fvl.report.figures import BAR_COLOR, BAR_WIDTH, REFERENCES, draw_reference, new_figure, save_png
from fvl.report.seeds import SeedGroup, averages_over_seeds, seed_groups, setting_keys
from fvl.report.sweep import Job, Sweep

# The constants fvl.training.answer_accuracy logs beside the accuracy (not imported from there, as that module
# loads torch and Lightning): the references of fvl.report.figures under their logged names.
REFERENCE_LINES = {f"val/{name}": name for name in REFERENCES}
SIGNIFICANT_DIGITS = 3
# Figure width in inches: grows with the number of jobs and their labels, within bounds; labels tilt beyond a
# few jobs.
MIN_WIDTH, MAX_WIDTH, INCHES_PER_BAR, INCHES_PER_CHARACTER = 6.0, 16.0, 0.9, 0.065
UPRIGHT_LABELS_UP_TO = 6
# What drawing the bars returns: their labels, and each reference's value per bar (None where unknown).
Bars = tuple[list[str], dict[str, list[float | None]]]
SEED_DOT_COLOR, ERROR_BAR_COLOR = "black", "dimgray"


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


def group_label(group: SeedGroup, keys: list[str]) -> str:
    """One ``key=value`` line per setting override the group has, over how many seeds its mean is of."""
    lines = [f"{key}={short_value(value)}" for key, value in zip(keys, group.setting, strict=True) if value is not None]
    return "\n".join([*lines, f"{len(group.finished)} seeds"])


def bar_text(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "no metrics"
    return f"{value:.3f}" if std is None else f"{value:.3f} ± {std:.3f}"


def draw_job_bars(axes: Axes, sweep: Sweep, metric: str) -> Bars:
    """One bar per job; returns the bar labels and each reference's value per bar."""
    values = metric_values(sweep, metric)
    bars = axes.bar(range(len(values)), [value or 0.0 for value in values], BAR_WIDTH, color=BAR_COLOR)
    axes.bar_label(bars, [bar_text(value) for value in values], fontsize=8)
    references = {name: metric_values(sweep, name) for name in REFERENCE_LINES}
    return [bar_label(job, sweep.varying_overrides) for job in sweep.jobs], references


def draw_group_bars(axes: Axes, groups: list[SeedGroup], keys: list[str], metric: str) -> Bars:
    """One bar per setting at its mean over seeds, ±1 std and a dot per seed; labels and references as above."""
    means, stds = [group.mean(metric) for group in groups], [group.std(metric) for group in groups]
    positions = range(len(groups))
    heights = [mean or 0.0 for mean in means]
    bars = axes.bar(positions, heights, BAR_WIDTH, color=BAR_COLOR)
    axes.errorbar(
        positions,
        heights,
        yerr=[s or 0.0 for s in stds],
        fmt="none",
        capsize=4,
        ecolor=ERROR_BAR_COLOR,
    )
    for position, group in zip(positions, groups, strict=True):
        seed_values = group.values(metric)
        axes.scatter([position] * len(seed_values), seed_values, s=12, color=SEED_DOT_COLOR, zorder=3)
    texts = [bar_text(mean, std) for mean, std in zip(means, stds, strict=True)]
    axes.bar_label(bars, texts, fontsize=8, label_type="center", color="white")  # clear of the error bar
    references = {name: [group.mean(name) for group in groups] for name in REFERENCE_LINES}
    return [group_label(group, keys) for group in groups], references


def draw_chart(sweep: Sweep) -> Figure:
    metric = sweep.optimized_metric
    groups = seed_groups(sweep)
    by_seed = averages_over_seeds(groups)
    figure = new_figure(6.0, 4.8)
    axes = figure.add_subplot()
    if by_seed:
        labels, references = draw_group_bars(axes, groups, setting_keys(sweep), metric)
    else:
        labels, references = draw_job_bars(axes, sweep, metric)
    figure.set_figwidth(figure_width(labels))
    for name, values in references.items():
        if any(value is not None for value in values):
            draw_reference(axes, REFERENCE_LINES[name], values)
    positions = list(range(len(labels)))
    if labels_upright(labels):
        axes.set_xticks(positions, labels, fontsize=7)
    else:
        axes.set_xticks(positions, labels, fontsize=7, rotation=35, ha="right", rotation_mode="anchor")
    axes.set_ylabel(metric)
    per = "setting, mean over seeds" if by_seed else "job"
    axes.set_title(f"{metric} per {per}\nsweep {sweep.name}", fontsize=10)
    axes.margins(y=0.15)
    if axes.get_legend_handles_labels()[0]:
        figure.legend(fontsize=8, loc="outside lower center", ncols=len(REFERENCE_LINES))
    return figure


def write_chart(sweep: Sweep, path: Path) -> None:
    save_png(draw_chart(sweep), path)
