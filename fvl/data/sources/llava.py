"""LLaVA-format files (kind ``llava``; ``kind: auto`` picks it for ``.json``/``.jsonl``): a JSON array or JSON Lines
of ``{"id", "image", "conversations": [{"from", "value"}]}``.

Records without an image (or with an empty one) are text-only samples. Image paths are relative to the
spec's ``image_root`` (or to the file's directory when no root is given).

Faults of the whole file raise a ``ValueError`` naming the file and the fix: text that is not UTF-8, an empty
file, a ``.json`` file that is not valid JSON (line and column named; several values: it is JSON Lines), a
top-level value that is not an array, a ``.jsonl`` file that holds an array. Faults of one row (a JSONL line
that is not JSON or not an object, an array element that is not an object) become a
:class:`~fvl.data.sources.spec.MalformedRecord` in its place, which the scan counts or raises as ``sample_policy``
says, naming ``file:line``.

The file is parsed once into a memory-mapped Arrow file of each record's JSON text
(:mod:`fvl.data.sources.arrow_rows`, cached beside the scan cache and converted again when the file changes), and a
record is parsed from there when it is read, so a process's memory stays nearly flat in the number of records.
A ``.json`` array is read element by element (the elements' own text is stored), so converting it holds the
file's text but never all its records as Python objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from fvl.data.scan.cache import cache_dirs
from fvl.data.sources.arrow_rows import InMemoryRows, RowTable, open_row_table
from fvl.data.sources.arrow_rows import Row as StoredRow
from fvl.data.sources.kinds import SOURCE_KINDS
from fvl.data.sources.spec import MalformedRecord, RecordSource, SourceContents, SourceSpec

Row = Mapping[str, Any] | MalformedRecord
_FORMATS = "a LLaVA file is a JSON array of samples (.json) or one sample object per line (.jsonl)"


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _empty(path: Path) -> ValueError:
    return ValueError(f"{path} is empty: it holds no samples; {_FORMATS}. Write the samples or remove the source.")


def _array_in_jsonl(path: Path) -> ValueError:
    return ValueError(f"{path} holds a JSON array, not one object per line: rename it to .json (JSON Lines is .jsonl)")


def _jsonl_rows(path: Path) -> Iterator[StoredRow]:
    count = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            count += 1
            try:
                text = line.decode("utf-8-sig" if number == 1 else "utf-8")
                record = json.loads(text)
            except UnicodeDecodeError as error:
                yield None, number, f"the line is not UTF-8 text ({error.reason} at byte {error.start})"
                continue
            except json.JSONDecodeError as error:
                if count == 1 and line.lstrip().startswith(b"["):
                    raise _array_in_jsonl(path) from error
                yield None, number, f"invalid JSON line ({error.msg} at column {error.colno})"
                continue
            if isinstance(record, list) and count == 1:
                raise _array_in_jsonl(path)
            if not isinstance(record, Mapping):
                yield None, number, f"the line holds a JSON {_json_kind(record)}, expected an object"
                continue
            yield text.rstrip("\r\n"), number, None
    if not count:
        raise _empty(path)


class _NotAPlainArray(Exception):
    """The text is no JSON array, or one :func:`_array_elements` cannot read: ``json.loads`` names the fault."""


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, as the json module skips it
_DECODER = json.JSONDecoder()  # json.loads' settings


def _array_elements(text: str) -> Iterator[tuple[Any, str]]:
    """Each element of the JSON array ``text`` and its own text, read one at a time by the json module's parser;
    raises :class:`_NotAPlainArray` where ``text`` is not exactly one array (then nothing is guaranteed)."""
    position = _WHITESPACE.match(text).end()
    if not text.startswith("[", position):
        raise _NotAPlainArray
    position = _WHITESPACE.match(text, position + 1).end()
    closed = text.startswith("]", position)
    while not closed:
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise _NotAPlainArray from error
        yield value, text[position:end]
        position = _WHITESPACE.match(text, end).end()
        closed = text.startswith("]", position)
        if not closed:
            if not text.startswith(",", position):
                raise _NotAPlainArray
            position = _WHITESPACE.match(text, position + 1).end()
    if _WHITESPACE.match(text, position + 1).end() != len(text):  # position: the closing bracket
        raise _NotAPlainArray


def _json_rows(path: Path) -> Iterator[StoredRow]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from error
    del data
    if not text.strip():
        raise _empty(path)
    try:
        for position, (value, own_text) in enumerate(_array_elements(text)):
            if isinstance(value, Mapping):
                yield own_text, position, None
            else:
                yield None, position, f"a JSON {_json_kind(value)}, expected an object"
    except _NotAPlainArray:
        _raise_value_fault(path, text)


def _raise_value_fault(path: Path, text: str) -> None:
    """Raise why ``text`` is not a JSON array of samples, as ``json.loads`` and the checks below find it."""
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
    raise RuntimeError(f"{path} is a JSON array that fvl's array reader could not read; please report this file")


class LlavaRecords(Sequence):
    """The rows of one LLaVA file: a record (a new ``dict``, parsed from its stored JSON text when read) or a
    :class:`MalformedRecord` naming ``file:line`` (``file record N`` in a ``.json`` array)."""

    def __init__(self, path: Path, rows: RowTable | InMemoryRows) -> None:
        self.path = path
        self._rows = rows
        self._lines = path.suffix.lower() == ".jsonl"

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> Row:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        text, line, problem = self._rows.row(index)
        return json.loads(text) if text is not None else MalformedRecord(self._where(line), problem)

    def _where(self, line: int) -> str:
        return f"{self.path}:{line}" if self._lines else f"{self.path} record {line}"

    def malformed(self) -> list[MalformedRecord]:
        """Every row that is no record, in order, found without parsing the records."""
        return [MalformedRecord(self._where(line), problem) for _, line, problem in self._rows.malformed()]


def read_records(path: Path, cache_dir: str | None = None, content_hash: bool = False) -> LlavaRecords:
    """The rows of a ``.json`` array or ``.jsonl`` file: records, or :class:`MalformedRecord` where a row is not
    one; faults of the whole file raise naming the file and the fix (module docstring).

    The rows come from their Arrow cache file (:mod:`fvl.data.sources.arrow_rows`), converted here when there is
    none for the file as it is now; ``cache_dir`` and ``content_hash`` as the scan cache's (``ScanOptions``).
    """
    if not path.is_file():
        raise FileNotFoundError(f"LLaVA data file {str(path)!r} does not exist")
    reader = _jsonl_rows if path.suffix.lower() == ".jsonl" else _json_rows
    directories = cache_dirs(SourceSpec(path=str(path)), cache_dir)
    return LlavaRecords(path, open_row_table(path, lambda: reader(path), directories, content_hash))


@SOURCE_KINDS.register("llava")
class LlavaSource(RecordSource):
    """The records of one LLaVA JSON/JSONL file, read from its memory-mapped Arrow cache (:func:`read_records`)."""

    def __init__(self, spec: SourceSpec, cache_dir: str | None = None, content_hash: bool = False) -> None:
        path = Path(spec.path)
        if spec.image_root is None:
            spec = replace(spec, image_root=str(path.parent))
        super().__init__(spec)
        self._records = read_records(path, cache_dir, content_hash)

    @classmethod
    def claims(cls, path: str) -> bool:
        return Path(path).suffix.lower() in (".json", ".jsonl")

    @classmethod
    def open(cls, spec: SourceSpec, cache_dir: str | None = None, content_hash: bool = False) -> LlavaSource:
        return cls(spec, cache_dir, content_hash)

    @classmethod
    def inspect(cls, spec: SourceSpec) -> SourceContents:
        """The rows as training reads them; a record's keys are no schema (the next one may be text-only)."""
        rows = read_records(Path(spec.path))
        first = next((row for row in rows if not isinstance(row, MalformedRecord)), None)
        return SourceContents(len(rows), sorted(first) if first is not None else [], False, rows.malformed())

    def __len__(self) -> int:
        return len(self._records)

    def record(self, index: int) -> Row:
        return self._records[index]
