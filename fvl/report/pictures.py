"""``python -m fvl.report.pictures <dir> ...``: (re)draw the pictures of training runs and evaluations from their files.

For a training run dir, each stage's (the run and its ``pre_stage/``, ``pre_stage/pre_stage/``, …):

- ``curves.png`` from ``csv/metrics.csv`` (:mod:`fvl.report.curves`);
- ``answer_accuracy.png`` from ``answer_accuracy.json`` (references per question type), else from
  ``metrics.json`` (references overall only), when the answer accuracy was measured.

For an evaluation dir, ``<benchmark>_per_type.png`` of each benchmark in ``results.json`` with per-category scores
(the chance line of the synthetic benchmark is drawn by ``evaluate.py`` only: it reads the generator's files).
The same pictures training and evaluation draw as they go; use this for runs made before they did, or while a
run is still going. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fvl.report.accuracy_bars import (
    ANSWER_ACCURACY_JSON,
    ANSWER_ACCURACY_PNG,
    from_metrics,
    per_type_scores,
    write_accuracy_bars,
)
from fvl.report.curves import METRICS_CSV, stage_dirs, write_curves
from fvl.report.figures import REFERENCES

METRICS_JSON = "metrics.json"  # fvl.training.run.METRICS_FILE
RESULTS_JSON = "results.json"  # fvl.eval.results
RESERVED_KEYS = ("settings", "skipped", "errors")  # fvl.eval.results.RESERVED_KEYS
PER_TYPE_SUFFIX = "_per_type.png"  # fvl.eval.result_pictures.PICTURE_SUFFIX
WHAT_TO_GIVE = "give the run dir of train.py or evaluate.py (outputs/<task>/runs/<time>)"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} cannot be read as JSON ({error}); rerun what wrote it") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a {type(data).__name__}, not the JSON object fvl writes")
    return data


def answer_accuracy_picture(stage_dir: Path) -> Path | None:
    """``answer_accuracy.png`` of one stage dir; None when it measured no accuracy per question type."""
    record, metrics = stage_dir / ANSWER_ACCURACY_JSON, stage_dir / METRICS_JSON
    if record.is_file():
        data = _read_json(record)
        scores, step = data.get("scores") or {}, data.get("step")
    elif metrics.is_file():
        scores, step = from_metrics(_read_json(metrics)), None
    else:
        return None
    per_type = per_type_scores(scores)
    if not per_type.per_type:
        return None
    at = f" at step {step}" if step is not None else " (final validation)"
    title = f"answer accuracy per question type{at}\n{stage_dir.name}"
    return write_accuracy_bars(per_type, stage_dir / ANSWER_ACCURACY_PNG, title)


def headline_metric(scores: dict) -> str | None:
    """The metric with per-category values (``accuracy`` first; results.json does not name the primary one)."""
    prefixes = [key.split("/", 1)[0] for key in scores if "/" in key]
    prefixes = [prefix for prefix in prefixes if prefix not in REFERENCES]
    return "accuracy" if "accuracy" in prefixes else (prefixes[0] if prefixes else None)


def results_pictures(eval_dir: Path) -> list[Path]:
    """``<benchmark>_per_type.png`` for each benchmark of ``eval_dir/results.json`` with per-category scores."""
    written = []
    for name, scores in _read_json(eval_dir / RESULTS_JSON).items():
        if name in RESERVED_KEYS or not isinstance(scores, dict):
            continue
        metric = headline_metric(scores)
        per_type = per_type_scores(scores, metric) if metric else None
        if per_type is not None and per_type.per_type:
            title = f"{name}: {metric} per category\n{eval_dir.name}"
            written.append(write_accuracy_bars(per_type, eval_dir / f"{name}{PER_TYPE_SUFFIX}", title))
    return written


def write_pictures(directory: str | Path) -> list[Path]:
    """Every picture the files under ``directory`` (a run or an evaluation dir) allow; raises ValueError when it
    is neither."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory; {WHAT_TO_GIVE}")
    written: list[Path] = []
    if (directory / RESULTS_JSON).is_file():
        written += results_pictures(directory)
    stages = [stage for stage in stage_dirs(directory) if (stage / METRICS_CSV).is_file()]
    for stage in stages:
        written += [path for path in (write_curves(stage), answer_accuracy_picture(stage)) if path]
    if not stages and not (directory / RESULTS_JSON).is_file():
        raise ValueError(
            f"{directory} is neither a training run dir (no {METRICS_CSV}) nor an evaluation dir (no {RESULTS_JSON}); "
            f"{WHAT_TO_GIVE}"
        )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fvl.report.pictures",
        description="(Re)draw the pictures of training runs (curves.png and answer_accuracy.png of each stage) and of "
        "evaluations (<benchmark>_per_type.png beside results.json) from their files.",
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="a run dir of train.py or evaluate.py")
    args = parser.parse_args(argv)
    for directory in args.dirs:
        try:
            paths = write_pictures(directory)
        except ValueError as error:
            print(f"{parser.prog}: {error}", file=sys.stderr)
            return 2
        for path in paths:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
