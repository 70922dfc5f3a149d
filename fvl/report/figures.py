"""The one plotting style of fvl's pictures: figures on matplotlib's Agg canvas, the reference lines (chance,
question-only baseline) and PNG files written whole.

Figures are drawn on :class:`FigureCanvasAgg` directly (no pyplot, no display, no global backend switched), so
they work headless and inside a training process; :func:`save_png` writes through
:func:`fvl.files.replace_atomically`, so a picture rewritten at every validation is never seen half written.
Used by the sweep chart (:mod:`fvl.report.chart`), the run pictures (:mod:`fvl.report.curves`,
:mod:`fvl.report.accuracy_bars`, :mod:`fvl.report.token_lengths`) and the feature maps (:mod:`fvl.analysis`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fvl.files import replace_atomically

log = logging.getLogger(__name__)

DPI = 120
BAR_COLOR = "tab:blue"
BAR_WIDTH = 0.8
# The references the answer-accuracy callback and the synthetic benchmark give beside the accuracy, by score name
# (results.json's names; metrics.json prefixes them with ``val/``), with their label and colour; line styles that
# differ, so that both show where they coincide (chance and the baseline often do).
REFERENCES = {
    "chance": ("chance", "tab:red"),
    "question_only_baseline": ("question-only baseline", "tab:orange"),
}
REFERENCE_STYLES = {"chance": (0, (5, 3)), "question_only_baseline": (0, (1.5, 1.5))}
REFERENCE_WIDTH = 1.6


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` × ``height`` inches on its own Agg canvas, laid out by matplotlib."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Write ``figure`` to ``path`` as a PNG, atomically; returns the path."""
    replace_atomically(path, lambda file: figure.savefig(file, format="png", dpi=dpi))
    return Path(path)


def draw_reference(axes: Axes, name: str, values: Sequence[float | None]) -> None:
    """The reference ``name`` (a key of :data:`REFERENCES`) over bars at 0, 1, …: one line across the axes when
    every known value is the same, else a segment over each bar that has one."""
    label, color = REFERENCES[name]
    style = {"linestyle": REFERENCE_STYLES[name], "linewidth": REFERENCE_WIDTH}
    known = [value for value in values if value is not None]
    if not known:
        return
    if max(known) - min(known) <= 1e-9:
        axes.axhline(known[0], color=color, **style, label=f"{label} ({known[0]:.3f})")
        return
    positions = [index for index, value in enumerate(values) if value is not None]
    axes.hlines(
        known,
        [index - BAR_WIDTH / 2 for index in positions],
        [index + BAR_WIDTH / 2 for index in positions],
        colors=color,
        linestyles=style["linestyle"],
        linewidth=style["linewidth"],
        label=label,
    )


def try_drawing(what: str, draw: Callable[[], Path | None]) -> Path | None:
    """``draw()``, whose failure is logged as a warning naming ``what`` instead of raised: a picture never stops
    the training or evaluation that draws it. Returns the picture's path (None when nothing was drawn)."""
    try:
        path = draw()
    except Exception as error:  # whatever plotting or reading a log raises
        log.warning("could not draw %s (%s: %s); the run goes on without it", what, type(error).__name__, error)
        return None
    if path is not None:
        log.info("drew %s: %s", what, path)
    return path
