"""Every data source opened and checked before the model is built: :func:`check_sources`.

Cheap and without a tokenizer, each source of ``data.<split>`` is coerced to a :class:`SourceSpec` (unknown keys
named), its ``path`` and ``image_root`` checked, and it is opened by the reader of its kind, as training opens
it (:meth:`~fvl.data.sources.spec.RecordSource.inspect` of the kind in
:data:`~fvl.data.sources.kinds.SOURCE_KINDS`). It must hold a record, and its first record the
``conversations_column``. ``id_column`` and ``image_column`` are optional; only a source whose columns are a
schema (a Hugging Face dataset; a LLaVA file's first record may be text-only) must have a column set to another
name than the default, and a missing default ``image`` column (every sample text-only) is noted in the summary.
Rows that are no record (a JSONL line that is not JSON, an element that is not an object) are noted too, with the
first one's ``file:line`` (the scan skips and counts them), or raise under ``sample_policy="raise"``. Mistakes
raise ``FileNotFoundError`` or ``ValueError`` naming the config key (``data.train[0].path``) and the fix;
otherwise one summary line per source (key, name, kind, record count, weight, path) comes back for the startup
plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from fvl.data.sources.kinds import SOURCE_KINDS
from fvl.data.sources.spec import MalformedRecord, SourceContents, SourceSpec

SourceLike = SourceSpec | Mapping[str, Any] | str
DEFAULT_COLUMNS = {f.name: f.default for f in fields(SourceSpec) if f.name.endswith("_column")}


def coerce_source(item: Any, key: str) -> SourceSpec:
    """``item`` as a :class:`SourceSpec`, a mistake raising a ValueError that names ``key``."""
    if isinstance(item, Mapping) and "path" not in item:
        raise ValueError(f"{key} has no path; set {key}.path=<LLaVA .json/.jsonl file, dataset directory or hub name>")
    try:
        return SourceSpec.coerce(item)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{key}: {error}") from error


def _check_paths(spec: SourceSpec, key: str) -> None:
    path = Path(spec.path)
    if not path.exists() and not SOURCE_KINDS.get(spec.resolved_kind).remote(spec.path):
        raise FileNotFoundError(
            f"{key}.path={spec.path} does not exist (source {spec.name!r}); fix it: {key}.path=<file or directory>."
        )
    if spec.image_root is not None and not Path(spec.image_root).is_dir():
        raise FileNotFoundError(
            f"{key}.image_root={spec.image_root} is not a directory (source {spec.name!r}); set {key}.image_root to "
            "the directory its relative image paths start from."
        )


def _open(spec: SourceSpec, key: str) -> SourceContents:
    """What the source's kind reads from it (:class:`SourceContents`), as training reads it."""
    kind = SOURCE_KINDS.get(spec.resolved_kind)
    try:
        contents = kind.inspect(spec)
        if contents.count and len(contents.malformed) == contents.count:
            raise ValueError(f"no row is a sample object, the first: {contents.malformed[0]}")
        return contents
    except KeyError as error:  # inspect: the split is not in the dataset
        detail = error.args[0] if error.args else error
        raise ValueError(f"{key}.split={spec.split!r}: {detail}; set {key}.split to one of them.") from error
    except Exception as error:  # every reader's failure: missing files, bad JSON, hub errors
        error_type = FileNotFoundError if isinstance(error, FileNotFoundError) else ValueError
        where = spec.path if Path(spec.path).exists() else f"{spec.path} (no such local path; tried as a hub name)"
        hint = f" {kind.hint}." if kind.hint else ""  # kinds without a hint say the format in their messages
        raise error_type(
            f"{key} (source {spec.name!r}, kind {spec.resolved_kind}) cannot be opened from {where}: "
            f"{str(error).rstrip('.')}.{hint}"
        ) from error


def _check_columns(spec: SourceSpec, key: str, columns: list[str], schema: bool) -> list[str]:
    """Raise naming every configured column the first record lacks (optional ones: only in a ``schema`` and
    when renamed); the notes on a schema without the default image column."""
    missing, notes = [], []
    for option, default in DEFAULT_COLUMNS.items():
        column = getattr(spec, option)
        if column in columns or (option != "conversations_column" and not schema):
            continue
        if option == "conversations_column" or column != default:
            missing.append((option, column))
        elif option == "image_column":
            notes.append(f"text-only (no column {column!r})")
    if missing:
        lacking = ", ".join(f"no column {column!r} ({option})" for option, column in missing)
        settings = ", ".join(f"{key}.{option}" for option, _ in missing)
        raise ValueError(
            f"{key} (source {spec.name!r}, {spec.path}): the first record has {lacking}; its columns are "
            f"{columns}. Set {settings} to one of them."
        )
    return notes


def _malformed_note(spec: SourceSpec, key: str, malformed: list[MalformedRecord], sample_policy: str) -> list[str]:
    if not malformed:
        return []
    rows = f"{len(malformed):,} row" + (" is" if len(malformed) == 1 else "s are") + " no sample object"
    if sample_policy == "raise":
        raise ValueError(
            f"{key} (source {spec.name!r}): {rows}, the first: {malformed[0]}. Fix the file, or set "
            "data.sample_policy=skip to skip and count such rows."
        )
    return [f"{rows} (skipped and counted), the first: {malformed[0]}"]


def check_source(item: SourceLike, key: str, sample_policy: str = "skip") -> str:
    """Check one source (module docstring) named ``key`` in the config; its summary line."""
    spec = coerce_source(item, key)
    _check_paths(spec, key)
    contents = _open(spec, key)
    count = contents.count
    if count == 0:
        raise ValueError(
            f"{key} (source {spec.name!r}) holds no records at {spec.path}; point {key}.path at data with samples "
            "or remove the source."
        )
    notes = _check_columns(spec, key, contents.columns, contents.schema)
    notes += _malformed_note(spec, key, contents.malformed, sample_policy)
    records = f"{count:,} record" + ("" if count == 1 else "s")
    summary = f"{key} {spec.name!r}: {spec.resolved_kind}, {records}, weight {spec.weight:g}, {spec.path}"
    return "; ".join([summary, *notes])


def check_sources(
    specs: Sequence[SourceLike] | SourceLike | None, split: str, sample_policy: str = "skip"
) -> list[str]:
    """Check every source of ``data.<split>`` (``split``: ``train`` or ``val``, naming the config keys
    ``data.<split>[i]``) before the model is built; one summary line per source (module docstring).
    ``sample_policy``: ``data.sample_policy`` (``raise``: rows that are no record raise here)."""
    if specs is None:
        return []
    if isinstance(specs, (SourceSpec, Mapping, str)):
        specs = [specs]
    return [check_source(item, f"data.{split}[{position}]", sample_policy) for position, item in enumerate(specs)]
