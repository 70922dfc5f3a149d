"""Where samples come from: :class:`SourceSpec` (plain config) and the shared record-to-sample logic.

A source is an indexable collection of records (dict-like rows). :class:`RecordSource` turns row ``i`` into
a :class:`~fvl.data.sample.Sample` through the spec's column mapping (``id``, ``image``, ``conversations``),
resolving relative image paths against ``image_root``. Concrete sources (the source kinds registered in
:data:`~fvl.data.sources.kinds.SOURCE_KINDS`) only say how rows are read: :mod:`fvl.data.sources.llava`
(JSON / JSONL files) and :mod:`fvl.data.sources.hf` (Hugging Face ``datasets``).
A row that cannot be a record (a JSONL line that is not JSON, an array element that is not an object) is kept
as a :class:`MalformedRecord` in its place, so record numbers stay line numbers and the scan counts it (or
raises, under ``sample_policy=raise``) like any other malformed record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from fvl.data.images import under_root
from fvl.data.sample import ImageRef, Sample, SampleError, make_sample
from fvl.data.sources.kinds import AUTO, check_kind, resolve_kind


@dataclass(frozen=True)
class MalformedRecord:
    """What stands in for a row that is not a record: where it is (``file.jsonl:12``) and what is wrong."""

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass(frozen=True)
class SourceSpec:
    """One data source and its share of the mixture.

    ``path``: a LLaVA ``.json``/``.jsonl`` file, a directory saved with ``Dataset.save_to_disk``, a data file
    or directory ``datasets.load_dataset`` reads (parquet, json, csv), or a hub name (when online).
    ``kind``: a registered source kind (``llava`` | ``hf`` | ...) or ``auto``: the kind that claims the path
    (:func:`~fvl.data.sources.kinds.resolve_kind`: ``.json``/``.jsonl`` → llava, anything else → hf).
    ``weight``: copies per epoch; the integer part repeats every sample, the fraction adds a seeded subset.
    ``image_root``: the directory relative image paths are resolved against.
    ``split``: the split of a hub dataset or ``DatasetDict``. ``*_column``: the column mapping.
    ``name``: the name used in reports and default sample ids (default: the file's stem).
    """

    path: str
    kind: str = "auto"
    image_root: str | None = None
    weight: float = 1.0
    split: str = "train"
    id_column: str = "id"
    image_column: str = "image"
    conversations_column: str = "conversations"
    name: str | None = None

    def __post_init__(self) -> None:
        check_kind(self.kind, os.fspath(self.path))
        if not self.weight >= 0:
            raise ValueError(f"source {self.path!r}: weight must be >= 0, got {self.weight}")
        object.__setattr__(self, "path", os.fspath(self.path))
        if self.name is None:
            object.__setattr__(self, "name", Path(self.path).stem or self.path)

    @property
    def resolved_kind(self) -> str:
        return resolve_kind(self.path) if self.kind == AUTO else self.kind

    @classmethod
    def coerce(cls, value: SourceSpec | Mapping[str, Any] | str | os.PathLike) -> SourceSpec:
        """Accept a spec, a mapping of its fields (e.g. a Hydra node) or a bare path."""
        if isinstance(value, SourceSpec):
            return value
        if isinstance(value, (str, os.PathLike)):
            return cls(path=os.fspath(value))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"source spec has unknown keys {unknown}; known keys are {sorted(known)}")
        return cls(**{key: value[key] for key in value})


@dataclass
class SourceContents:
    """What the pre-flight check reads from a source: its row ``count``, the ``columns`` of its first record,
    whether they are the source's ``schema`` (every row has them) and the ``malformed`` rows (no record)."""

    count: int
    columns: list[str]
    schema: bool = False
    malformed: list[MalformedRecord] = field(default_factory=list)


class RecordSource:
    """Base of all sources: ``len(source)`` rows, ``source.sample(i)`` the validated sample of row ``i``.

    A subclass registered in :data:`~fvl.data.sources.kinds.SOURCE_KINDS` is a source kind; it provides
    ``__len__`` and ``record`` (a row as a mapping of column to value, or a :class:`MalformedRecord`), and may
    override the class-level parts below:

    - ``claims(path)``: whether ``kind: auto`` picks it for ``path`` (default: never); ``catch_all``: it takes the
      paths no other kind claims (one kind, ``hf``, is);
    - ``open(spec, cache_dir, content_hash)``: the source for a spec (default: ``cls(spec)``); ``cache_dir`` and
      ``content_hash`` are the scan cache's, for kinds that cache a conversion of their data;
    - ``inspect(spec)``: :class:`SourceContents` for the pre-flight check, cheaply (default: opens the source and
      reads its first record); raise ``KeyError`` when ``spec.split`` is not there, naming the splits that are;
    - ``remote(path)``: whether a path that does not exist locally may still name data (default: no);
      ``hint``: what this kind reads, added to the message when a source of it cannot be opened.
    """

    catch_all: ClassVar[bool] = False
    hint: ClassVar[str] = ""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.name: str = spec.name

    @classmethod
    def claims(cls, path: str) -> bool:
        return False

    @classmethod
    def remote(cls, path: str) -> bool:
        return False

    @classmethod
    def open(cls, spec: SourceSpec, cache_dir: str | None = None, content_hash: bool = False) -> RecordSource:
        return cls(spec)

    @classmethod
    def inspect(cls, spec: SourceSpec) -> SourceContents:
        source = cls.open(spec)
        first = source.record(0) if len(source) else None
        if isinstance(first, MalformedRecord):
            return SourceContents(len(source), [], malformed=[first])
        return SourceContents(len(source), sorted(first) if first is not None else [])

    def __len__(self) -> int:
        raise NotImplementedError

    def record(self, index: int) -> Mapping[str, Any]:
        """Row ``index`` as a mapping of column name to value."""
        raise NotImplementedError

    def sample(self, index: int) -> Sample:
        row = self.record(index)
        if isinstance(row, MalformedRecord):
            raise SampleError(str(row))
        if not isinstance(row, Mapping):
            raise SampleError(f"record {index} of source {self.name!r} is a {type(row).__name__}, not a mapping")
        sample_id = row.get(self.spec.id_column)
        sample_id = f"{self.name}:{index}" if sample_id is None else str(sample_id)
        if self.spec.conversations_column not in row:
            raise SampleError(
                f"sample {sample_id!r} of source {self.name!r} has no column {self.spec.conversations_column!r} "
                f"(columns: {sorted(row)}); set conversations_column in the source spec"
            )
        image = self._resolve_image(row.get(self.spec.image_column), sample_id)
        return make_sample(sample_id, row[self.spec.conversations_column], image)

    def _resolve_image(self, ref: ImageRef | None, sample_id: str) -> ImageRef | None:
        if isinstance(ref, (list, tuple)):
            if len(ref) > 1:
                raise SampleError(f"sample {sample_id!r} of source {self.name!r} has {len(ref)} images; one is allowed")
            ref = ref[0] if ref else None
        if isinstance(ref, (str, os.PathLike)):
            return self._resolve_path(ref) if os.fspath(ref) else None
        if isinstance(ref, dict) and ref.get("bytes") is None and ref.get("path"):
            return self._resolve_path(ref["path"])
        return ref

    def _resolve_path(self, path: str | os.PathLike) -> str:
        return under_root(path, self.spec.image_root)
