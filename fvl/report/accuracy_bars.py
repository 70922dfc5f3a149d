"""Accuracy per question type as bars, beside chance and the question-only baseline of each type.

Scores use results.json's names: ``accuracy`` and ``accuracy/<type>`` (any primary metric with per-category
values: ``circular_accuracy/<category>``, …), ``chance[/<type>]`` and ``question_only_baseline[/<type>]``;
metrics.json's ``val/answer_accuracy/<type>``, ``val/chance``, … read the same after :func:`from_metrics`. The
first bar is the overall value. A reference known per type is a segment over each bar, one known only overall
a line across.

Written as ``<run dir>/answer_accuracy.png`` by the answer-accuracy callback at every validation (with
``answer_accuracy.json`` beside it, the values it shows), and as ``<benchmark>_per_type.png`` beside an
evaluation's results.json (:mod:`fvl.eval.result_pictures`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from fvl.report.figures import BAR_COLOR, BAR_WIDTH, REFERENCES, draw_reference, new_figure, save_png

ANSWER_ACCURACY_PNG = "answer_accuracy.png"
ANSWER_ACCURACY_JSON = "answer_accuracy.json"
OVERALL = "all"
OVERALL_COLOR = "tab:cyan"
MIN_WIDTH, INCHES_PER_BAR = 5.0, 0.75


@dataclass(frozen=True)
class PerType:
    """A metric overall and per type, and each reference (:data:`~fvl.report.figures.REFERENCES`) overall and
    per type as far as known."""

    metric: str
    overall: float | None
    per_type: dict[str, float]
    references: dict[str, tuple[float | None, dict[str, float]]] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [OVERALL, *self.per_type]

    def values(self) -> list[float | None]:
        return [self.overall, *self.per_type.values()]

    def reference_values(self, name: str) -> list[float | None]:
        """The reference ``name`` at each bar (None where unknown); a reference known only overall is that value
        at every bar."""
        overall, per_type = self.references.get(name, (None, {}))
        if not per_type:
            return [overall] * len(self.labels)
        return [overall, *(per_type.get(kind) for kind in self.per_type)]


def _finite(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _split(scores: Mapping[str, object], name: str) -> tuple[float | None, dict[str, float]]:
    prefix = f"{name}/"
    per_type = {key[len(prefix) :]: _finite(value) for key, value in scores.items() if key.startswith(prefix)}
    return _finite(scores.get(name)), {kind: value for kind, value in per_type.items() if value is not None}


def per_type_scores(scores: Mapping[str, object], metric: str = "accuracy") -> PerType:
    """``metric`` and the references, overall and per type, from results.json-style ``scores``."""
    overall, per_type = _split(scores, metric)
    references = {name: _split(scores, name) for name in REFERENCES}
    references = {name: split for name, split in references.items() if split[0] is not None or split[1]}
    return PerType(metric, overall, per_type, references)


def from_metrics(metrics: Mapping[str, object]) -> dict[str, object]:
    """metrics.json's (or the callback's logged) names in results.json's: ``val/answer_accuracy/x`` →
    ``accuracy/x``, ``val/chance`` → ``chance``; other metrics are left out."""
    renamed = {}
    for key, value in metrics.items():
        name = key.removeprefix("val/").removeprefix("answer_")
        if name.split("/", 1)[0] in ("accuracy", *REFERENCES):
            renamed[name] = value
    return renamed


def read_chance(stats_file: str | Path) -> dict[str, float]:
    """``chance`` (the mean over the question types) and ``chance/<type>`` from the synthetic generator's
    ``stats.json`` (:mod:`fvl.data.synthetic.generate`)."""
    chance = json.loads(Path(stats_file).read_text(encoding="utf-8"))["chance"]
    return {"chance": float(chance["mean"]), **{f"chance/{k}": float(v) for k, v in chance["per_type"].items()}}


def draw_accuracy_bars(scores: PerType, title: str) -> Figure:
    labels, values = scores.labels, scores.values()
    figure = new_figure(max(MIN_WIDTH, INCHES_PER_BAR * len(labels) + 2.0), 4.0)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    colors = [OVERALL_COLOR, *[BAR_COLOR] * len(scores.per_type)]
    bars = axes.bar(positions, [0.0 if v is None else v for v in values], BAR_WIDTH, color=colors)
    axes.bar_label(bars, ["—" if v is None else f"{v:.3f}" for v in values], fontsize=8)
    for name in REFERENCES:
        if name in scores.references:
            draw_reference(axes, name, scores.reference_values(name))
    axes.set_xticks(positions, labels, fontsize=8, rotation=0 if len(labels) <= 8 else 35, ha="center")
    top = max([1.0, *(v for v in values if v is not None)])
    axes.set_ylim(0, top * 1.12)
    axes.set_ylabel(scores.metric)
    axes.set_title(title, fontsize=10)
    if axes.get_legend_handles_labels()[0]:
        figure.legend(fontsize=8, loc="outside lower center", ncols=len(REFERENCES))
    return figure


def write_accuracy_bars(scores: PerType, path: str | Path, title: str) -> Path:
    return save_png(draw_accuracy_bars(scores, title), path)


def write_answer_accuracy(run_dir: str | Path, scores: Mapping[str, float], step: int | None = None) -> Path:
    """``<run_dir>/answer_accuracy.json`` (``scores`` and the step) and the picture of it beside; returns the
    picture's path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {"step": step, "scores": {key: float(value) for key, value in scores.items()}}
    (run_dir / ANSWER_ACCURACY_JSON).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    at = f" at step {step}" if step is not None else ""
    title = f"answer accuracy per question type{at}\n{run_dir.name}"
    return write_accuracy_bars(per_type_scores(scores), run_dir / ANSWER_ACCURACY_PNG, title)
