"""LLaVA-format files: a JSON array or JSON Lines of ``{"id", "image", "conversations": [{"from", "value"}]}``.

Records without an image (or with an empty one) are text-only samples. Image paths are relative to the
spec's ``image_root`` (or to the file's directory when no root is given).

Faults of the whole file raise a ``ValueError`` naming the file and the fix: text that is not UTF-8, an empty
file, a ``.json`` file that is not valid JSON (line and column named; several values: it is JSON Lines), a
top-level value that is not an array, a ``.jsonl`` file that holds an array. Faults of one row (a JSONL line
that is not JSON or not an object, an array element that is not an object) become a
:class:`~fvl.data.sources.MalformedRecord` in its place, which the scan counts or raises as ``sample_policy``
says, naming ``file:line``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from fvl.data.sources import MalformedRecord, RecordSource, SourceSpec

Row = Mapping[str, Any] | MalformedRecord
_FORMATS = "a LLaVA file is a JSON array of samples (.json) or one sample object per line (.jsonl)"


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _empty(path: Path) -> ValueError:
    return ValueError(f"{path} is empty: it holds no samples; {_FORMATS}. Write the samples or remove the source.")


def _array_in_jsonl(path: Path) -> ValueError:
    return ValueError(f"{path} holds a JSON array, not one object per line: rename it to .json (JSON Lines is .jsonl)")


def _jsonl_rows(path: Path) -> list[Row]:
    rows: list[Row] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError as error:
                rows.append(
                    MalformedRecord(where, f"the line is not UTF-8 text ({error.reason} at byte {error.start})")
                )
                continue
            except json.JSONDecodeError as error:
                if not rows and line.lstrip().startswith(b"["):
                    raise _array_in_jsonl(path) from error
                rows.append(MalformedRecord(where, f"invalid JSON line ({error.msg} at column {error.colno})"))
                continue
            if isinstance(record, list) and not rows:
                raise _array_in_jsonl(path)
            if not isinstance(record, Mapping):
                rows.append(MalformedRecord(where, f"the line holds a JSON {_json_kind(record)}, expected an object"))
                continue
            rows.append(record)
    if not rows:
        raise _empty(path)
    return rows


def _json_rows(path: Path) -> list[Row]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from error
    if not text.strip():
        raise _empty(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        hint = (
            "it holds more than one JSON value: if it has one sample per line (JSON Lines), rename it to .jsonl"
            if error.msg == "Extra data"
            else f"fix the file there; {_FORMATS}"
        )
        raise ValueError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno} ({error.msg}); {hint}"
        ) from error
    if isinstance(value, Mapping):
        hint = (
            "it looks like one sample: put it in a list ([{...}])"
            if "conversations" in value
            else f"if the samples are the value of one of its keys {list(value)[:5]}, save that list as the file"
        )
        raise ValueError(f"{path} holds a JSON object, expected an array of samples; {hint}")
    if not isinstance(value, list):
        raise ValueError(f"{path} holds a JSON {_json_kind(value)}, expected an array of samples; {_FORMATS}")
    return [
        row
        if isinstance(row, Mapping)
        else MalformedRecord(f"{path} record {position}", f"a JSON {_json_kind(row)}, expected an object")
        for position, row in enumerate(value)
    ]


def read_records(path: Path) -> list[Row]:
    """The rows of a ``.json`` array or ``.jsonl`` file: records, or :class:`MalformedRecord` where a row is not
    one; faults of the whole file raise naming the file and the fix (module docstring)."""
    if not path.is_file():
        raise FileNotFoundError(f"LLaVA data file {str(path)!r} does not exist")
    return _jsonl_rows(path) if path.suffix.lower() == ".jsonl" else _json_rows(path)


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

    def record(self, index: int) -> Row:
        return self._records[index]
