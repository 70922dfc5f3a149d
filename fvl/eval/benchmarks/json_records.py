"""Checking a JSON or JSON Lines benchmark file (a ``custom`` benchmark's, typically) before a model is loaded.

The file must hold at least one record; each line of a JSON Lines file (or each element of a JSON array) must be
a JSON object with every field the benchmark reads, and a question that is not null. A problem raises
:class:`RecordsError`, naming the file, the line (or the array element) and the fix; up to five are listed.
Results are cached by the file's size and modification time, so checking twice reads the file once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

SHOWN_PROBLEMS = 5


class RecordsError(ValueError):
    """A JSON benchmark file is empty or malformed, or its records lack fields; the message holds the fix.
    `missing_fields`: some record lacks a field (then naming the file's own fields is a fix too)."""

    def __init__(self, message: str, missing_fields: bool = False) -> None:
        super().__init__(message)
        self.missing_fields = missing_fields


def _entries(text: str) -> Iterator[tuple[str, Any]]:
    """(where, parsed value or the JSONDecodeError) for each record: an array's elements, else each line."""
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            yield f"line {error.lineno}", error
            return
        for position, record in enumerate(records if isinstance(records, list) else [records]):
            yield f"array element {position}", record
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as error:
                yield f"line {number}", error


def _problem(where: str, value: Any, required: Sequence[str], question: str | None) -> str | None:
    if isinstance(value, json.JSONDecodeError):
        return f"{where}: not valid JSON ({value.msg} at column {value.colno})"
    if not isinstance(value, dict):
        return f"{where}: a JSON {type(value).__name__}, not an object"
    missing = [name for name in required if name not in value]
    if missing:
        return f"{where}: missing field(s) {missing} (it has {sorted(value)})"
    if question is not None and value.get(question) is None:
        return f"{where}: the question field {question!r} is null"
    return None


@lru_cache(maxsize=64)
def _check(path: str, _size: int, _mtime: int, required: tuple[str, ...], question: str | None) -> int:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RecordsError(f"{file} is not UTF-8 text ({error}); save it as UTF-8 JSON Lines") from error
    count, problems = 0, []
    for where, value in _entries(text):
        count += 1
        problem = _problem(where, value, required, question)
        if problem is not None:
            problems.append(problem)
    if problems:
        shown = "\n    ".join(problems[:SHOWN_PROBLEMS])
        more = f"\n    … and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise RecordsError(
            f"{file}: {len(problems)} of {count} records cannot be read:\n    {shown}{more}\n"
            f"  fix: one JSON object per line, each with the fields {list(required)}",
            missing_fields=any("missing field" in problem for problem in problems),
        )
    if not count:
        raise RecordsError(
            f"{file} holds no records (it is empty)\n  fix: write one JSON object per line, e.g. "
            '{"question": "What colour is the car?", "answer": "red", "image": "images/1.jpg"}'
        )
    return count


def check_json_records(path: str | Path, required: Sequence[str], question: str | None) -> int:
    """Check the JSON / JSON Lines file at `path` (module docstring); returns its number of records. `required`
    are the fields every record needs, `question` the one that must not be null (None: no such check)."""
    stat = Path(path).stat()
    return _check(str(path), stat.st_size, stat.st_mtime_ns, tuple(required), question)
