"""Finding the predictions a benchmark may reuse: made under the same conditions, for the same samples.

The run directories given are searched in order (this run's own first, then earlier runs of the task, newest
first: :func:`reuse_dirs`); the
first whose recorded fingerprint equals this run's is used. Its records are reused when each one's id and
question equal those of the sample at its index: a different question text or sample order means other
conditions, and then nothing of that file is reused. Whatever is passed over is said: this run's own files
always (``Reuse.notes``: they are about to be replaced), the newest earlier run's only when nothing matched
(``Reuse.passed_over``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fvl.eval.fingerprint import describe_differences
from fvl.eval.prediction_files import FOLDER, PredictionFiles
from fvl.eval.sample import EvalSample

RUN_PATTERNS = ("runs/*", "multiruns/*/*")  # the run directories of a task, as Hydra lays them out


@dataclass
class Reuse:
    """What a benchmark starts from: predictions by sample index, the records to carry over (those beyond the
    samples too, from a run with a larger ``limit``), the files they came from, and notes for the log: `notes`
    (warnings: this run's own files passed over, lines dropped) and `passed_over` (an earlier run's, for info)."""

    predictions: dict[int, str] = field(default_factory=dict)
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)


def _sample_mismatch(records: Mapping[int, Mapping[str, Any]], references: Sequence[EvalSample]) -> str | None:
    """Why `records` do not belong to `references` (the first differing record and their count), or None."""
    differing = [
        (index, record)
        for index, record in sorted(records.items())
        if index < len(references)
        and (record.get("id") != references[index].id or record.get("question") != references[index].question)
    ]
    if not differing:
        return None
    index, record = differing[0]
    sample = references[index]
    recorded = f"id {record.get('id')!r} and question {str(record.get('question'))[:80]!r}"
    now = f"id {sample.id!r} and question {sample.question[:80]!r}"
    return f"{len(differing)} of its records do not match the samples (sample {index}: recorded {recorded}, now {now})"


def find_reusable(
    name: str, fingerprint: Mapping[str, Any], run_dirs: Sequence[str | Path], references: Sequence[EvalSample]
) -> Reuse:
    """The predictions of benchmark `name` that may be reused (module docstring); an empty `Reuse` when none."""
    notes: list[str] = []
    passed_over: list[str] = []
    for position, run_dir in enumerate(run_dirs):
        files = PredictionFiles(Path(run_dir), name)
        existing = files.existing()
        if not existing:
            continue
        said = notes if position == 0 else passed_over
        recorded = files.read_fingerprint()
        if recorded is None:
            if position == 0:
                notes.append(f"not reusing {existing[0]}: no fingerprint is recorded beside it")
            continue
        if dict(recorded) != dict(fingerprint):
            said.append(
                f"not reusing the predictions in {existing[0]}: they were made under other conditions "
                f"({describe_differences(recorded, fingerprint)})"
            )
            continue
        read = files.read()
        mismatch = _sample_mismatch(read.records, references)
        if mismatch:
            said.append(f"not reusing the predictions in {existing[0]}: {mismatch}")
            continue
        notes += [f"{text}; its sample is predicted again" for text in read.dropped]
        predictions = {i: r["prediction"] for i, r in read.records.items() if i < len(references)}
        return Reuse(predictions, read.records, existing, notes)
    return Reuse(notes=notes, passed_over=passed_over[:1])


def earlier_runs(task_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """The run directories of a task (``<log_dir>/<task_name>``) that hold predictions, newest first, without
    `out_dir`."""
    own = Path(out_dir).resolve()
    found = {
        path.resolve() for pattern in RUN_PATTERNS for path in Path(task_dir).glob(pattern) if (path / FOLDER).is_dir()
    }
    found.discard(own)
    return sorted(found, key=lambda path: (path / FOLDER).stat().st_mtime, reverse=True)


def reuse_dirs(resume: bool | str | Path | None, out_dir: str | Path, task_dir: str | Path) -> list[Path]:
    """Where evaluate.py's ``resume`` looks for predictions: true, this run's directory then the task's earlier
    runs (newest first); a directory, this run's then that one; false or null, nowhere (everything anew)."""
    if resume is None or resume is False:
        return []
    if resume is True:
        return [Path(out_dir), *earlier_runs(task_dir, out_dir)]
    path = Path(resume).expanduser()
    if not (path / FOLDER).is_dir():
        raise FileNotFoundError(
            f"resume={resume}: no {FOLDER}/ folder there; give the run directory of an earlier evaluation, "
            "resume=true (this task's earlier runs) or resume=false"
        )
    return [Path(out_dir), path]
