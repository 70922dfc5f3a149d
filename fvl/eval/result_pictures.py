"""The picture beside results.json: ``<benchmark>_per_type.png``, a benchmark's headline metric per category.

Drawn for every benchmark whose scores hold its primary metric per category (``accuracy/<question type>`` of the
synthetic benchmark, ``accuracy/<subject>`` of MMMU, …), with its question-only baseline per category when the
benchmark computes one and, for the synthetic benchmark, chance per type from the generator's ``stats.json``
beside its eval file (:func:`fvl.report.accuracy_bars.read_chance`). Rank zero draws it as each benchmark finishes
(:func:`fvl.eval.suite.evaluate_suite`); a failure to draw is a logged warning.
"""

from __future__ import annotations

from pathlib import Path

from fvl.eval.benchmarks.synthetic import SyntheticBenchmark
from fvl.eval.checks import PlannedBenchmark
from fvl.eval.results import BenchmarkResult
from fvl.report.accuracy_bars import per_type_scores, read_chance, write_accuracy_bars
from fvl.report.figures import try_drawing

PICTURE_SUFFIX = "_per_type.png"
STATS_FILE = "stats.json"


def picture_path(out_dir: str | Path, benchmark: str) -> Path:
    return Path(out_dir) / f"{benchmark}{PICTURE_SUFFIX}"


def stats_file(run: PlannedBenchmark) -> Path | None:
    """The synthetic generator's ``stats.json`` beside the benchmark's eval file, when there is one."""
    if not isinstance(run.benchmark, SyntheticBenchmark):
        return None
    path = Path(run.path).expanduser()
    candidate = (path if path.is_dir() else path.parent) / STATS_FILE
    return candidate if candidate.is_file() else None


def write_result_picture(
    out_dir: str | Path, result: BenchmarkResult, run: PlannedBenchmark | None = None
) -> Path | None:
    """``<out_dir>/<benchmark>_per_type.png`` of ``result``; None (nothing written) when it has no per-category
    values of its primary metric."""
    scores = dict(result.scores)
    stats = stats_file(run) if run is not None else None
    if stats is not None:  # chance of a type: one over its possible answers, whichever samples are scored
        scores.update({key: value for key, value in read_chance(stats).items() if key not in scores})
    per_type = per_type_scores(scores, result.primary)
    if not per_type.per_type:
        return None
    scored = scores.get("num_scored")
    count = f", {scored:.0f} scored" if scored is not None else ""
    title = f"{result.name}: {result.primary} per category{count}\n{Path(out_dir).name}"
    return write_accuracy_bars(per_type, picture_path(out_dir, result.name), title)


def draw_result_picture(out_dir: str | Path, result: BenchmarkResult, run: PlannedBenchmark | None = None) -> None:
    """:func:`write_result_picture`, a failure logged instead of raised."""
    try_drawing(f"the per-category picture of {result.name}", lambda: write_result_picture(out_dir, result, run))
