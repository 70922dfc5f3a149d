"""The token lengths of a run's data, ``<run dir>/token_lengths.png``: where to set ``data.max_length``.

One histogram per split (train, val) of the exact lengths the up-front scan measured (:mod:`fvl.data.scan.source_scan`:
image tokens included, after the template), with a vertical line at ``max_length`` and the share of records over it:
those truncated to it (they sit in the last bin, at ``max_length``) and those dropped (not in the histogram). Set
``data.max_length=null`` for a run that measures every record whole."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from fvl.report.figures import BAR_COLOR, new_figure, save_png

TOKEN_LENGTHS_FILE = "token_lengths.png"
MAX_BINS = 60
LINE_COLOR = "tab:red"


@dataclass(frozen=True)
class LengthPanel:
    """The lengths of one split's samples and what ``max_length`` did to its records."""

    name: str
    lengths: Sequence[int]
    max_length: int | None = None
    truncated: int = 0  # records cut to max_length (in ``lengths`` at max_length)
    dropped: int = 0  # records longer than max_length left out (not in ``lengths``)
    records: int | None = None  # records that encoded (kept + dropped); None: len(lengths) + dropped

    @property
    def over_share(self) -> float:
        """The share of the records longer than ``max_length`` (truncated or dropped)."""
        total = self.records if self.records is not None else len(self.lengths) + self.dropped
        return (self.truncated + self.dropped) / total if total else 0.0


def length_bins(lengths: Sequence[int], max_bins: int = MAX_BINS) -> np.ndarray:
    """Bin edges on whole tokens, each bin ``width`` tokens wide so that at most ``max_bins`` cover the lengths."""
    low, high = int(min(lengths)), int(max(lengths))
    width = max(1, math.ceil((high - low + 1) / max_bins))
    return np.arange(low, high + width + 1, width) - 0.5


def length_histogram(lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of ``lengths`` over :func:`length_bins`: the counts sum to ``len(lengths)``."""
    return np.histogram(np.asarray(lengths), bins=length_bins(lengths))


def describe(panel: LengthPanel) -> str:
    lengths = np.asarray(panel.lengths)
    text = f"{len(lengths):,} samples, median {np.median(lengths):.0f}, max {lengths.max()} tokens"
    if panel.max_length is None:
        return f"{text}; no max_length"
    over = f"{panel.over_share:.1%} of records over max_length {panel.max_length}"
    return f"{text}\n{over} ({panel.truncated} truncated, {panel.dropped} dropped)"


def draw_token_lengths(panels: Sequence[LengthPanel], title: str) -> Figure:
    panels = [panel for panel in panels if len(panel.lengths)]
    figure = new_figure(5.0 * max(1, len(panels)), 3.6)
    for axes, panel in zip(figure.subplots(1, max(1, len(panels)), squeeze=False)[0], panels, strict=False):
        counts, edges = length_histogram(panel.lengths)
        axes.stairs(counts, edges, fill=True, color=BAR_COLOR, alpha=0.85)
        if panel.max_length is not None:
            axes.axvline(panel.max_length, color=LINE_COLOR, linestyle="--", linewidth=1.3, label="max_length")
            axes.legend(fontsize=8)
        axes.set_title(f"{panel.name}: {describe(panel)}", fontsize=8)
        axes.set_xlabel("tokens per sample (image tokens included)")
        axes.set_ylabel("samples")
        axes.grid(alpha=0.3)
    figure.suptitle(title, fontsize=10)
    return figure


def write_token_lengths(panels: Sequence[LengthPanel], path: str | Path, title: str) -> Path | None:
    """The histograms of ``panels`` at ``path``; None (nothing written) when no panel has a length."""
    if not any(len(panel.lengths) for panel in panels):
        return None
    return save_png(draw_token_lengths(panels, title), Path(path))
