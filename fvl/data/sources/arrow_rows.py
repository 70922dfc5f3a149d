"""The rows of a data file, converted once into a memory-mapped Arrow file and read from there: :func:`open_row_table`.

A row is ``(text, line, problem)``: the exact JSON text of a record and where it is (``line``: a JSON Lines line
number or an array position), or, for a row that is no record, ``text`` None and ``problem`` saying why. Storing
each record's own JSON text (one ``large_string`` column) keeps every value exact, whatever shapes its fields
have; the reader parses one row when it is asked for it. The file is written with ``datasets``' ``ArrowWriter``
and opened with ``datasets.Dataset.from_file`` (memory-mapped), so a process holds a few MiB whatever the number
of rows, and the ranks of a node share the pages the operating system caches.

Cache: ``{stem}-{digest of the absolute path}.rows.arrow`` in the scan cache's directories
(:func:`~fvl.data.scan.cache.cache_dirs`: ``.fvl_cache/`` beside the data, else ``~/.cache/fvl/scan``; or the
given ``cache_dir``). The file holds what it was converted from: the absolute path, size, modification time and
SHA-256 of the data (:func:`~fvl.data.scan.key.data_fingerprint`). It is used when size and time still match
(with ``content_hash``: when the SHA-256 does); a data file modified within :data:`RACY_NS` of its conversion
time (file times are coarse) is checked by its SHA-256 too. Otherwise it is converted again and replaced.

Ranks: the first process to find no usable file converts under a file lock beside the target; the others wait
for the lock and then read what it wrote. Files are written to a temporary name and renamed, so nobody reads a
partial file; a process that has the old file mapped keeps reading it. When no cache directory is writable the
rows are kept in memory (:class:`InMemoryRows`, with a warning), as before the cache existed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets.arrow_writer import ArrowWriter
from filelock import FileLock

from fvl.data.scan.key import data_fingerprint, key_digest
from fvl.files import replace_atomically

log = logging.getLogger(__name__)

Row = tuple[str | None, int, str | None]  # (JSON text of the record | None, line or position, problem | None)
ROW_FEATURES = datasets.Features(
    {"text": datasets.Value("large_string"), "line": datasets.Value("int64"), "problem": datasets.Value("string")}
)
ROWS_FORMAT_VERSION = 1  # bump whenever a change to the readers changes the rows a file gives
RACY_NS = 2_000_000_000  # data modified this close to (or after) its conversion are compared by content
_BATCH_ROWS = 10_000


class InMemoryRows:
    """Rows held in a Python list: what :class:`RowTable` falls back to when nothing can be cached."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self._rows = list(rows)

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, index: int) -> Row:
        return self._rows[index]

    def malformed(self) -> list[tuple[int, int, str]]:
        """``(index, line, problem)`` of every row that is no record."""
        return [(index, line, problem) for index, (text, line, problem) in enumerate(self._rows) if text is None]


class RowTable:
    """Rows read from a memory-mapped Arrow file (module docstring); pickles as its file name, not its data."""

    def __init__(self, dataset: datasets.Dataset) -> None:
        self._dataset = dataset
        self._bind_columns()

    def _bind_columns(self) -> None:
        table = self._dataset.data
        self._text, self._line, self._problem = (table.column(name) for name in ROW_FEATURES)

    def __getstate__(self) -> dict[str, Any]:
        return {"_dataset": self._dataset}  # datasets pickles a memory-mapped table as its path

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._dataset = state["_dataset"]
        self._bind_columns()

    def __len__(self) -> int:
        return len(self._text)

    def row(self, index: int) -> Row:
        """Row ``index``; a record's ``line`` reads as -1 (it is only needed to name a row that is no record)."""
        text = self._text[index].as_py()
        if text is not None:
            return text, -1, None
        return None, self._line[index].as_py(), self._problem[index].as_py()

    def malformed(self) -> list[tuple[int, int, str]]:
        """``(index, line, problem)`` of every row that is no record, found without parsing any record."""
        indices = np.flatnonzero(pc.is_null(self._text).to_numpy(zero_copy_only=False))
        return [(int(i), self._line[int(i)].as_py(), self._problem[int(i)].as_py()) for i in indices]


def identity_of(table: datasets.Dataset) -> dict[str, Any]:
    """What a converted file was converted from (the identity :func:`convert_rows` stored)."""
    stored = json.loads(table.data.schema.metadata[b"huggingface"])
    return json.loads(stored["fingerprint"])


def _is_current(identity: dict[str, Any], path: Path, content_hash: bool) -> str | None:
    """None when ``identity`` describes ``path`` as it is now, else why not."""
    if identity.get("version") != ROWS_FORMAT_VERSION or identity.get("path") != os.path.abspath(path):
        return "it was written by another version or for another file"
    if not content_hash:
        now = data_fingerprint(path)
        if (identity["size"], identity["mtime_ns"]) != (now["size"], now["mtime_ns"]):
            return "the data file changed (size or modification time)"
        if now["mtime_ns"] < identity["converted_at_ns"] - RACY_NS:
            return None
    if data_fingerprint(path, content_hash=True)["sha256"] != identity["sha256"]:
        return "the data file changed (content)"
    return None


def _load(target: Path, path: Path, content_hash: bool) -> RowTable | None:
    if not target.is_file():
        return None
    try:
        table = datasets.Dataset.from_file(str(target), in_memory=False)
        reason = _is_current(identity_of(table), path, content_hash)
    except Exception as error:  # whatever a damaged or foreign file raises: Arrow, JSON or key errors
        log.warning("rows cache %s is unusable (%s: %s); converting again", target, type(error).__name__, error)
        return None
    if reason is not None:
        log.info("rows cache %s is out of date (%s); converting %s again", target, reason, path)
        return None
    return RowTable(table)


def convert_rows(rows: Iterable[Row], target: Path, identity: dict[str, Any]) -> None:
    """Write ``rows`` and ``identity`` to ``target`` atomically (:func:`~fvl.files.replace_atomically`)."""

    def write(stream: IO[bytes]) -> None:
        writer = ArrowWriter(features=ROW_FEATURES, stream=stream, fingerprint=json.dumps(identity, sort_keys=True))
        batch: dict[str, list[Any]] = {name: [] for name in ROW_FEATURES}
        for row in rows:
            for column, value in zip(batch.values(), row, strict=True):
                column.append(value)
            if len(batch["text"]) >= _BATCH_ROWS:
                writer.write_batch(batch)
                batch = {name: [] for name in ROW_FEATURES}
        writer.write_batch(batch)
        writer.finalize(close_stream=False)

    replace_atomically(target, write)


def rows_file_name(path: Path) -> str:
    """The cache file name of ``path``'s rows: one file per data file, replaced when the data change."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)[:64]
    return f"{stem}-{key_digest(os.path.abspath(path))[:20]}.rows.arrow"


def _convert(path: Path, rows: Callable[[], Iterable[Row]], target: Path) -> RowTable:
    converted_at = time.time_ns()  # before the data are read: a later change is newer than this
    identity = {
        "version": ROWS_FORMAT_VERSION,
        "path": os.path.abspath(path),
        **data_fingerprint(path),
        **data_fingerprint(path, content_hash=True),
        "converted_at_ns": converted_at,
    }
    log.info("converting %s into %s (once per version of the file; later runs map it)", path, target)
    started = time.perf_counter()
    convert_rows(rows(), target, identity)
    pa.default_memory_pool().release_unused()  # the pool keeps the freed write buffers: give them back
    table = RowTable(datasets.Dataset.from_file(str(target), in_memory=False))
    log.info("converted %s (%d rows) into %s in %.1f s", path, len(table), target, time.perf_counter() - started)
    return table


def open_row_table(
    path: Path, rows: Callable[[], Iterable[Row]], directories: list[Path], content_hash: bool = False
) -> RowTable | InMemoryRows:
    """The rows of ``path``: from its cache file in the first of ``directories`` that holds a current one, else
    converted from ``rows()`` into the first writable one, else (nothing writable) held in memory.

    ``rows``: reads the data file; what it raises (faults of the whole file) propagates and nothing is cached.
    """
    name = rows_file_name(path)
    for directory in directories:
        table = _load(directory / name, path, content_hash)
        if table is not None:
            return table
    failures = []
    for directory in directories:
        target = directory / name
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with FileLock(f"{target}.lock"):  # the first process converts; the others wait here, then read
                table = _load(target, path, content_hash)
                return table if table is not None else _convert(path, rows, target)
        except OSError as error:
            failures.append(f"{directory}: {error.strerror or error}")
            log.info("cannot write the rows cache in %s", failures[-1])
    log.warning(
        "could not cache the rows of %s (%s); they are held in memory: set scan_cache_dir to a writable directory",
        path,
        "; ".join(failures),
    )
    return InMemoryRows(rows())
