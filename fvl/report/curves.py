"""A run's training curves, ``<run dir>/curves.png``, from the CSV logger's ``<run dir>/csv/metrics.csv``.

One figure, a panel each for what the run logged:

- **loss**: ``train/loss`` per step (faint) with its running mean, and ``val/loss`` at each validation;
- **learning rate**: every ``lr-<optimizer>/<group>`` column (groups with the same schedule share one line);
- **throughput**: ``train/tokens_per_s`` and, on the right axis, ``train/samples_per_s``;
- **answer accuracy** (when the answer-accuracy callback ran): ``val/answer_accuracy`` with chance and the
  question-only baseline.

Each stage of a run has its own run dir (``pre_stage/``, ``pre_stage/pre_stage/``) and its own picture;
:func:`stage_dirs` lists them. Written at the end of each stage (:mod:`fvl.training.run`) and by
``python -m fvl.report.pictures <run dir>``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fvl.report.figures import REFERENCE_STYLES, REFERENCE_WIDTH, REFERENCES, new_figure, save_png

METRICS_CSV = Path("csv") / "metrics.csv"
CURVES_FILE = "curves.png"
PRE_STAGE_DIR = "pre_stage"  # fvl.training.run.PRE_STAGE_DIR (not imported: that module loads torch)
STEP_COLUMN = "step"
LR_PREFIX = "lr-"
TRAIN_LOSS, VAL_LOSS = "train/loss", "val/loss"
TOKENS_PER_S, SAMPLES_PER_S = "train/tokens_per_s", "train/samples_per_s"
ACCURACY = "val/answer_accuracy"
SMOOTHING_POINTS = 50  # the running mean of the training loss spans 1/50 of the logged steps
PANEL_WIDTH, PANEL_HEIGHT = 4.6, 3.2


@dataclass
class Series:
    """One logged column: its (step, value) pairs in log order, empty cells and non-numbers left out."""

    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


def read_metrics_csv(path: str | Path) -> dict[str, Series]:
    """Every column of a Lightning CSV log (``step`` aside) as a :class:`Series`; a row without a step is skipped."""
    series: dict[str, Series] = {}
    with Path(path).open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            step = _number(row.get(STEP_COLUMN))
            if step is None:
                continue
            for name, cell in row.items():
                value = _number(cell)
                if name and name != STEP_COLUMN and value is not None:
                    entry = series.setdefault(name, Series())
                    entry.steps.append(step)
                    entry.values.append(value)
    return series


def _number(cell: str | None) -> float | None:
    try:
        value = float(cell) if cell not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def running_mean(values: Sequence[float], window: int) -> np.ndarray:
    """The mean of each value and the ``window - 1`` before it (fewer at the start)."""
    data = np.asarray(values, dtype=float)
    sums = np.cumsum(np.concatenate([[0.0], data]))
    ends = np.arange(1, len(data) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def learning_rate_groups(series: Mapping[str, Series]) -> dict[str, Series]:
    """The ``lr-*`` columns by parameter group (``lr-AdamW/llm`` → ``llm``); groups on the same schedule are one
    entry, their names joined (``llm, llm_no_decay``)."""
    groups: dict[tuple, tuple[list[str], Series]] = {}
    for name, entry in series.items():
        if name.startswith(LR_PREFIX):
            group = name[len(LR_PREFIX) :].split("/", 1)[-1]
            key = (tuple(entry.steps), tuple(entry.values))
            groups.setdefault(key, ([], entry))[0].append(group)
    return {", ".join(names): entry for names, entry in groups.values()}


def draw_loss(axes: Axes, series: Mapping[str, Series]) -> None:
    train = series.get(TRAIN_LOSS)
    if train is not None:
        axes.plot(train.steps, train.values, color="tab:blue", alpha=0.25, linewidth=0.8)
        window = max(1, len(train.values) // SMOOTHING_POINTS)
        label = f"train (mean of {window} steps)" if window > 1 else "train"
        axes.plot(train.steps, running_mean(train.values, window), color="tab:blue", linewidth=1.5, label=label)
    val = series.get(VAL_LOSS)
    if val is not None:
        axes.plot(val.steps, val.values, color="tab:green", marker="o", markersize=4, linewidth=1.2, label="val")
    if train is not None and min(train.values) > 0 and max(train.values) / min(train.values) > 30:
        axes.set_yscale("log")
    axes.set_title("loss")
    axes.legend(fontsize=7)


def draw_learning_rate(axes: Axes, series: Mapping[str, Series]) -> None:
    for name, entry in learning_rate_groups(series).items():
        axes.plot(entry.steps, entry.values, linewidth=1.3, label=name)
    axes.set_title("learning rate")
    axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    axes.legend(fontsize=7)


def draw_throughput(axes: Axes, series: Mapping[str, Series]) -> None:
    tokens, samples = series.get(TOKENS_PER_S), series.get(SAMPLES_PER_S)
    if tokens is not None:
        axes.plot(tokens.steps, tokens.values, color="tab:purple", linewidth=1.2)
        axes.set_ylabel("tokens/s", color="tab:purple")
    if samples is not None:
        right = axes.twinx() if tokens is not None else axes
        right.plot(samples.steps, samples.values, color="tab:brown", linewidth=1.0, alpha=0.8)
        right.set_ylabel("samples/s", color="tab:brown")
    axes.set_title("throughput")


def draw_accuracy(axes: Axes, series: Mapping[str, Series]) -> None:
    accuracy = series[ACCURACY]
    axes.plot(accuracy.steps, accuracy.values, color="tab:blue", marker="o", markersize=4, label="answer accuracy")
    for name, (label, color) in REFERENCES.items():
        reference = series.get(f"val/{name}")
        if reference is not None:
            value = reference.values[-1]
            style = {"linestyle": REFERENCE_STYLES[name], "linewidth": REFERENCE_WIDTH}
            axes.axhline(value, color=color, **style, label=f"{label} ({value:.3f})")
    axes.set_ylim(0, 1.05)
    axes.set_title("answer accuracy (val)")
    axes.legend(fontsize=7)


# Each panel: whether the log has what it shows, and how it is drawn.
PANELS = (
    (lambda series: TRAIN_LOSS in series or VAL_LOSS in series, draw_loss),
    (lambda series: any(name.startswith(LR_PREFIX) for name in series), draw_learning_rate),
    (lambda series: TOKENS_PER_S in series or SAMPLES_PER_S in series, draw_throughput),
    (lambda series: ACCURACY in series, draw_accuracy),
)


def draw_curves(series: Mapping[str, Series], title: str) -> Figure | None:
    """A panel per :data:`PANELS` entry the log has (in a row, two rows of two for four); None when it has none."""
    drawers = [draw for has, draw in PANELS if has(series)]
    if not drawers:
        return None
    columns = 2 if len(drawers) == 4 else len(drawers)
    rows = math.ceil(len(drawers) / columns)
    figure = new_figure(PANEL_WIDTH * columns, PANEL_HEIGHT * rows + 0.3)
    for axes, draw in zip(figure.subplots(rows, columns, squeeze=False).flat, drawers, strict=True):
        draw(axes, series)
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    figure.suptitle(title, fontsize=10)
    return figure


def last_step(series: Mapping[str, Series]) -> float:
    return max((max(entry.steps) for entry in series.values() if entry.steps), default=0.0)


def stage_dirs(run_dir: str | Path) -> list[Path]:
    """``run_dir`` and the run dirs of its earlier stages (``pre_stage/``, ``pre_stage/pre_stage/``, …)."""
    dirs = [Path(run_dir)]
    while (dirs[-1] / PRE_STAGE_DIR).is_dir():
        dirs.append(dirs[-1] / PRE_STAGE_DIR)
    return dirs


def write_curves(run_dir: str | Path, title: str | None = None) -> Path | None:
    """Draw ``<run_dir>/curves.png`` from ``<run_dir>/csv/metrics.csv``; None (nothing written) without a log or
    with none of the panels' columns in it."""
    run_dir = Path(run_dir)
    log = run_dir / METRICS_CSV
    if not log.is_file():
        return None
    series = read_metrics_csv(log)
    figure = draw_curves(series, f"{title or run_dir} ({last_step(series):.0f} steps)")
    return None if figure is None else save_png(figure, run_dir / CURVES_FILE)
