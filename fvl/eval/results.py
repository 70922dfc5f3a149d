"""Evaluation results: `results.json` (scores, settings, code version, skipped and failed benchmarks), the
per-sample predictions of a finished benchmark, a compact table."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fvl
from fvl.eval.prediction_files import PredictionFiles
from fvl.files import write_text_atomically

RESERVED_KEYS = ("settings", "skipped", "errors")


@dataclass
class BenchmarkResult:
    """The scores of one benchmark, its headline key and the per-sample predictions."""

    name: str
    scores: dict[str, float]
    primary: str
    records: list[dict[str, Any]] = field(default_factory=list)


def code_version() -> dict[str, Any]:
    """fvl's version and, when run from a git checkout, the commit and whether the tree has local changes."""
    root = Path(fvl.__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    status = git("status", "--porcelain")
    return {
        "fvl_version": fvl.__version__,
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
    }


def _json_safe(value: Any) -> Any:
    """NaN/inf (a metric with nothing to score) become null, so that results.json stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def write_results(
    out_dir: str | Path,
    results: Sequence[BenchmarkResult],
    settings: Mapping[str, Any] | None = None,
    skipped: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Path:
    """Write `predictions/<benchmark>.jsonl` for each result and `results.json` (see `write_summary`) under
    `out_dir`; returns the path of results.json."""
    for result in results:
        write_predictions(out_dir, result)
    return write_summary(out_dir, results, settings, skipped, errors)


def write_predictions(out_dir: str | Path, result: BenchmarkResult) -> Path:
    """Write one benchmark's per-sample records to `out_dir/predictions/<benchmark>.jsonl` (replaced whole);
    returns its path."""
    return PredictionFiles(Path(out_dir), result.name).replace_records(result.records)


def write_summary(
    out_dir: str | Path,
    results: Sequence[BenchmarkResult],
    settings: Mapping[str, Any] | None = None,
    skipped: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Path:
    """(Re)write `out_dir/results.json`: `{benchmark: {metric: value}, "settings": {...}, "skipped": {...},
    "errors": {benchmark: message}}`; returns its path. The file is replaced whole (a temporary file in the same
    folder, then `os.replace`), so that a reader never sees it half written.

    `settings` are the generation settings; the code version (fvl version, git commit) is added to them.
    """
    clash = [result.name for result in results if result.name in RESERVED_KEYS]
    if clash:
        raise ValueError(f"benchmark names {clash} clash with the reserved keys {RESERVED_KEYS} of results.json")
    payload: dict[str, Any] = {result.name: result.scores for result in results}
    payload["settings"] = {"generation": dict(settings or {}), "code": code_version()}
    if skipped:
        payload["skipped"] = dict(skipped)
    if errors:
        payload["errors"] = dict(errors)
    path = Path(out_dir) / "results.json"
    write_text_atomically(path, json.dumps(_json_safe(payload), indent=2) + "\n")
    return path


def _format_value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.4f}" if abs(value) <= 1 else f"{value:.1f}"


def format_table(
    results: Sequence[BenchmarkResult],
    skipped: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> str:
    """One line per benchmark: name, headline metric, its value and the number of scored samples; then the
    failed and the skipped ones."""
    rows = [("benchmark", "metric", "value", "scored")]
    for result in results:
        scored = result.scores.get("num_scored")
        rows.append(
            (result.name, result.primary, _format_value(result.scores.get(result.primary)), f"{scored or 0:.0f}")
        )
    rows += [(name, "FAILED", "-", "-") for name in errors or {}]
    rows += [(name, "skipped", "-", "-") for name in skipped or {}]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * width for width in widths), *lines[1:]])


def print_table(
    results: Sequence[BenchmarkResult],
    skipped: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> None:
    """Print `format_table`."""
    print(format_table(results, skipped, errors))
