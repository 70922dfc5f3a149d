"""One benchmark's prediction files in a run directory, written so that no finished batch is lost.

Under ``<run dir>/predictions/``:

- ``<name>.jsonl``: one record a line, ``{"index", "id", "question", "answers", …, "prediction"}`` (``index`` is
  the sample's position in the benchmark); in sample order once the benchmark is complete. A single process
  appends each batch to it as the batch finishes, flushed at once.
- ``<name>.rank<r>.jsonl``: under torchrun, rank ``r`` appends its batches here; merged into ``<name>.jsonl``
  and removed when the benchmark completes.
- ``<name>.fingerprint.json``: the conditions the predictions were made under (:mod:`fvl.eval.fingerprint`).

Reading tolerates a process killed mid-write: a line that cannot be read is dropped (its sample is predicted
again) and said.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fvl.eval.sample import EvalSample
from fvl.files import write_text_atomically

FOLDER = "predictions"


def prediction_record(index: int, sample: EvalSample, prediction: str) -> dict[str, Any]:
    """The line of one prediction: the sample's position, its description (no image) and the prediction."""
    return {"index": index, **sample.record(), "prediction": prediction}


def prediction_records(references: Sequence[EvalSample], predictions: Sequence[str]) -> list[dict[str, Any]]:
    """The records of a whole benchmark, in sample order (one prediction per sample)."""
    pairs = zip(references, predictions, strict=True)
    return [prediction_record(index, sample, prediction) for index, (sample, prediction) in enumerate(pairs)]


def _lines(records: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


@dataclass
class ReadRecords:
    """The records found, by sample index (the first of each index kept), and what was dropped, said per line."""

    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def _record(line: str) -> dict[str, Any] | None:
    """A prediction record parsed from `line`, or None when the line is not one."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    valid = isinstance(record, dict) and isinstance(record.get("prediction"), str)
    index = record.get("index") if valid else None
    return record if isinstance(index, int) and not isinstance(index, bool) and index >= 0 else None


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1)


class PredictionWriter:
    """Appends batches of records to one file, flushed after each batch."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        cut_off = path.is_file() and path.stat().st_size > 0 and _last_byte(path) != b"\n"
        self.path = path
        self._handle = path.open("a", encoding="utf-8")
        if cut_off:  # a line left unfinished by a killed run stays on its own line
            self._handle.write("\n")

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._handle.write(_lines(records))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


@dataclass(frozen=True)
class PredictionFiles:
    """The prediction files of benchmark `name` in the run directory `run_dir` (module docstring)."""

    run_dir: Path
    name: str

    @property
    def folder(self) -> Path:
        return Path(self.run_dir) / FOLDER

    @property
    def main(self) -> Path:
        return self.folder / f"{self.name}.jsonl"

    @property
    def fingerprint_file(self) -> Path:
        return self.folder / f"{self.name}.fingerprint.json"

    def part(self, rank: int) -> Path:
        return self.folder / f"{self.name}.rank{rank}.jsonl"

    def parts(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        pattern = re.compile(rf"{re.escape(self.name)}\.rank\d+\.jsonl")
        return sorted(path for path in self.folder.iterdir() if pattern.fullmatch(path.name))

    def existing(self) -> list[Path]:
        """The record files present: the main file first, then the rank parts."""
        return ([self.main] if self.main.is_file() else []) + self.parts()

    def read_fingerprint(self) -> dict[str, Any] | None:
        """The recorded fingerprint; None when there is none (or it cannot be read)."""
        try:
            recorded = json.loads(self.fingerprint_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return recorded.get("fingerprint") if isinstance(recorded, dict) else None

    def write_fingerprint(self, fingerprint: Mapping[str, Any]) -> None:
        payload = {"benchmark": self.name, "fingerprint": dict(fingerprint)}
        write_text_atomically(self.fingerprint_file, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")

    def read(self) -> ReadRecords:
        """Every record of the main file and the parts; unreadable lines are dropped and said."""
        found = ReadRecords()
        for path in self.existing():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                record = _record(line)
                if record is None:
                    where = "the last line" if number == len(lines) else f"line {number}"
                    reason = " (cut off mid-write)" if number == len(lines) else ""
                    found.dropped.append(f"dropped {where} of {path}{reason}: not a prediction record")
                else:
                    found.records.setdefault(record["index"], record)
        return found

    def replace_records(self, records: Iterable[Mapping[str, Any]]) -> Path:
        """Write `records` as the main file (atomically), then remove the rank parts; returns the main file."""
        write_text_atomically(self.main, _lines(records))
        for part in self.parts():
            part.unlink(missing_ok=True)
        return self.main

    def clear(self) -> None:
        """Remove the records and the fingerprint (starting afresh)."""
        for path in [*self.existing(), self.fingerprint_file]:
            path.unlink(missing_ok=True)

    def writer(self, rank: int, world_size: int) -> PredictionWriter:
        """Where this rank appends its batches: the main file in a single process, its part under torchrun."""
        return PredictionWriter(self.main if world_size == 1 else self.part(rank))
