"""LLaVA-format files: a JSON array or JSON Lines of ``{"id", "image", "conversations": [{"from", "value"}]}``.

Records without an image (or with an empty one) are text-only samples. Image paths are relative to the
spec's ``image_root`` (or to the file's directory when no root is given).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from fvl.data.sources import RecordSource, SourceSpec


def read_records(path: Path) -> list[Mapping[str, Any]]:
    """All records of a ``.json`` array or ``.jsonl`` file; malformed content raises naming the file (and line)."""
    if not path.is_file():
        raise FileNotFoundError(f"LLaVA data file {str(path)!r} does not exist")
    if path.suffix.lower() == ".jsonl":
        records = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: invalid JSON line ({error})") from error
    else:
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: invalid JSON ({error}); LLaVA files are a JSON array or JSON Lines") from error
        if not isinstance(records, list):
            raise ValueError(f"{path}: expected a JSON array of samples, got a {type(records).__name__}")
    for position, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValueError(f"{path}: record {position} is a {type(record).__name__}, expected an object")
    return records


class LlavaSource(RecordSource):
    """The records of one LLaVA JSON/JSONL file, held in memory."""

    def __init__(self, spec: SourceSpec) -> None:
        path = Path(spec.path)
        if spec.image_root is None:
            spec = replace(spec, image_root=str(path.parent))
        super().__init__(spec)
        self._records = read_records(path)

    def __len__(self) -> int:
        return len(self._records)

    def record(self, index: int) -> Mapping[str, Any]:
        return self._records[index]
