"""The alignment study's report: ``alignment.md``, ``alignment.csv`` and ``alignment.png`` in the study's dir.

One row per feature subset (:class:`SubsetResult`), ranked by its held-out caption loss (lower aligns better),
or by its training loss when the data has no held-out split. The picture has two panels: the loss of each subset
as a bar, and each subset's loss curves (held-out loss at every validation, running mean of the training loss)
from its run's CSV log. Nothing here imports torch.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from fvl.report.curves import METRICS_CSV, TRAIN_LOSS, VAL_LOSS, read_metrics_csv, running_mean
from fvl.report.figures import BAR_COLOR, BAR_WIDTH, new_figure, save_png
from fvl.report.table import markdown_table

REPORT_MD, REPORT_CSV, REPORT_PNG = "alignment.md", "alignment.csv", "alignment.png"
BEST_COLOR = "tab:green"
SMOOTHING_POINTS = 25  # the training-loss curves are running means over 1/25 of the steps


@dataclass
class SubsetResult:
    """What one feature subset's connector-only run gave."""

    subset: str
    features: list[str]
    run_dir: str
    connector_input_width: int | None = None
    visual_tokens: int | None = None
    trainable_params: int | None = None
    heldout_loss: float | None = None
    train_loss_last_k: float | None = None
    steps: int | None = None
    seconds: float | None = None
    frozen_unchanged: bool | None = None  # Florence-2 and the LLM bit-for-bit as they started

    @property
    def loss(self) -> float | None:
        """The loss the study ranks by: held-out when there is one, else the training loss."""
        return self.heldout_loss if self.heldout_loss is not None else self.train_loss_last_k


def mean_of_last(values: Sequence[float], k: int) -> float | None:
    return sum(values[-k:]) / len(values[-k:]) if values else None


def train_loss_last_k(run_dir: str | Path, k: int) -> float | None:
    """The mean ``train/loss`` of a run's last ``k`` logged steps (None without a CSV log)."""
    path = Path(run_dir) / METRICS_CSV
    if not path.is_file():
        return None
    series = read_metrics_csv(path).get(TRAIN_LOSS)
    return mean_of_last(series.values, k) if series else None


def ranks(results: Sequence[SubsetResult]) -> list[int | None]:
    known = sorted({r.loss for r in results if r.loss is not None and math.isfinite(r.loss)})
    return [known.index(r.loss) + 1 if r.loss in known else None for r in results]


def columns(last_k: int) -> dict[str, str]:
    """CSV field → Markdown header."""
    return {
        "rank": "rank",
        "subset": "subset",
        "features": "features",
        "connector_input_width": "connector input",
        "visual_tokens": "visual tokens",
        "trainable_params": "trainable",
        "heldout_loss": "held-out loss",
        "train_loss_last_k": f"train loss (last {last_k})",
        "steps": "steps",
        "seconds": "seconds",
        "frozen_unchanged": "vision + LLM unchanged",
    }


def rows(results: Sequence[SubsetResult]) -> list[dict]:
    table = []
    for rank, result in zip(ranks(results), results, strict=True):
        row = {key: value for key, value in asdict(result).items() if key != "run_dir"}
        table.append({**row, "rank": rank, "features": "+".join(result.features)})
    return table


def markdown_rows(results: Sequence[SubsetResult], last_k: int) -> list[str]:
    header = columns(last_k)

    def cell(key: str, value: object) -> str | float | None:
        if key == "seconds" and value is not None:
            return f"{value:.0f}"
        if value is None or isinstance(value, float):
            return value
        if isinstance(value, bool):
            return "yes" if value else "NO"
        if key == "trainable_params":
            return f"{value:,}"
        return str(value)

    table = [{header[key]: cell(key, row[key]) for key in header} for row in rows(results)]
    return markdown_table(list(header.values()), table)


def write_markdown(results: Sequence[SubsetResult], path: Path, setup: Sequence[str], last_k: int) -> None:
    lines = ["# Alignment study: caption loss per encoder-feature subset", "", *setup, ""]
    lines += markdown_rows(results, last_k)
    lines += [
        "",
        "Lower is better. The paper (Florence-VL, alignment analysis) finds that the depth and breadth features "
        "together align with the LLM better than any one of them; with random or briefly trained stand-ins for "
        "Florence-2 the ordering here need not match it.",
        "",
        f"![caption loss per subset]({REPORT_PNG})",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_csv(results: Sequence[SubsetResult], path: Path, last_k: int) -> None:
    fields = list(columns(last_k))
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        for row in rows(results):
            writer.writerow({key: "" if row[key] is None else row[key] for key in fields})


def draw(results: Sequence[SubsetResult], title: str) -> object:
    figure = new_figure(11.0, 4.2)
    bars, curves = figure.subplots(1, 2)
    names = [r.subset for r in results]
    values = [r.loss for r in results]
    best = min((v for v in values if v is not None), default=None)
    colors = [BEST_COLOR if v is not None and v == best else BAR_COLOR for v in values]
    drawn = bars.bar(range(len(results)), [v or 0.0 for v in values], BAR_WIDTH, color=colors)
    bars.bar_label(drawn, ["—" if v is None else f"{v:.4f}" for v in values], fontsize=8)
    known = [v for v in values if v is not None]
    if known and min(known) > 0:  # the differences, not the distance from zero, are the point
        spread = max(known) - min(known)
        bars.set_ylim(bottom=max(0.0, min(known) - max(spread, 0.05 * min(known))))
    bars.set_xticks(range(len(results)), names, fontsize=8, rotation=20 if len(names) > 5 else 0)
    heldout = all(r.heldout_loss is not None for r in results)
    bars.set_ylabel("held-out caption loss" if heldout else "train caption loss (mean of the last steps)")
    bars.margins(y=0.15)
    for index, result in enumerate(results):
        path = Path(result.run_dir) / METRICS_CSV
        series = read_metrics_csv(path) if path.is_file() else {}
        color = f"C{index % 10}"
        train, val = series.get(TRAIN_LOSS), series.get(VAL_LOSS)
        if train is not None:
            window = max(1, len(train.values) // SMOOTHING_POINTS)
            curves.plot(train.steps, running_mean(train.values, window), color=color, linewidth=1.0, alpha=0.45)
        if val is not None:
            curves.plot(val.steps, val.values, color=color, marker="o", markersize=3, label=result.subset)
        elif train is not None:
            curves.plot([], [], color=color, label=result.subset)
    curves.set_xlabel("step")
    curves.set_title("held-out loss (dots) and train loss (faint)", fontsize=9)
    if curves.get_legend_handles_labels()[0]:
        curves.legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    return figure


def write_report(
    results: Sequence[SubsetResult], out_dir: str | Path, setup: Sequence[str], last_k: int, title: str
) -> list[Path]:
    """Write the three files into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_markdown(results, out / REPORT_MD, setup, last_k)
    write_csv(results, out / REPORT_CSV, last_k)
    save_png(draw(results, title), out / REPORT_PNG)
    return [out / REPORT_MD, out / REPORT_CSV, out / REPORT_PNG]
