"""Every data source opened and checked before the model is built: :func:`check_sources`.

Cheap and without a tokenizer, each source of ``data.<split>`` is coerced to a :class:`SourceSpec` (unknown keys
named), its ``path`` and ``image_root`` checked, and it is opened by the readers training uses
(:func:`~fvl.data.sources.llava.read_records`, :func:`~fvl.data.sources.hf.load_hf_dataset`). It must hold a
record, and its first record the ``conversations_column``. ``id_column`` and ``image_column`` are optional; only
a Hugging Face dataset's columns are a schema (a LLaVA file's first record may be text-only), so there a column
set to another name than the default must exist, and a missing default ``image`` column (every sample
text-only) is noted in the summary. Rows of a LLaVA file that are no record (a JSONL line that is not JSON, an
element that is not an object) are noted too, with the first one's ``file:line`` (the scan skips and counts
them), or raise under ``sample_policy="raise"``. Mistakes raise ``FileNotFoundError`` or ``ValueError``
naming the config key (``data.train[0].path``) and the fix; otherwise one summary line per source (key, name,
kind, record count, weight, path) comes back for the startup plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from fvl.data.sources.hf import load_hf_dataset
from fvl.data.sources.llava import read_records
from fvl.data.sources.spec import MalformedRecord, SourceSpec

SourceLike = SourceSpec | Mapping[str, Any] | str
# A relative path that does not exist may still name a hub dataset (``name`` or ``owner/name``) of kind hf.
HUB_NAME = re.compile(r"[\w.-]+(/[\w.-]+)?")
DEFAULT_COLUMNS = {f.name: f.default for f in fields(SourceSpec) if f.name.endswith("_column")}
READABLE = (
    "LLaVA data is a .json array or a .jsonl file; Hugging Face data is a save_to_disk directory, a .parquet/.json/"
    ".jsonl/.csv file or a directory of them, or a hub name (set kind=llava or kind=hf when the suffix misleads)"
)


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
    maybe_hub = spec.resolved_kind == "hf" and not path.is_absolute() and HUB_NAME.fullmatch(spec.path)
    if not path.exists() and not maybe_hub:
        raise FileNotFoundError(
            f"{key}.path={spec.path} does not exist (source {spec.name!r}); fix it: {key}.path=<file or directory>."
        )
    if spec.image_root is not None and not Path(spec.image_root).is_dir():
        raise FileNotFoundError(
            f"{key}.image_root={spec.image_root} is not a directory (source {spec.name!r}); set {key}.image_root to "
            "the directory its relative image paths start from."
        )


def _open(spec: SourceSpec, key: str) -> tuple[int, list[str], bool, list[MalformedRecord]]:
    """The record count, the first record's columns, whether they are the source's schema (Hugging Face
    datasets) and the rows that are no record, read as training reads them."""
    try:
        if spec.resolved_kind == "llava":
            rows = read_records(Path(spec.path))
            malformed = [row for row in rows if isinstance(row, MalformedRecord)]
            first = next((row for row in rows if not isinstance(row, MalformedRecord)), None)
            if first is None and malformed:
                raise ValueError(f"no row is a sample object, the first: {malformed[0]}")
            return len(rows), sorted(first) if first is not None else [], False, malformed
        dataset = load_hf_dataset(spec)
        return len(dataset), list(dataset.column_names), True, []
    except KeyError as error:  # load_hf_dataset: the split is not in the DatasetDict
        detail = error.args[0] if error.args else error
        raise ValueError(f"{key}.split={spec.split!r}: {detail}; set {key}.split to one of them.") from error
    except Exception as error:  # every reader's failure: missing files, bad JSON, hub errors
        kind = FileNotFoundError if isinstance(error, FileNotFoundError) else ValueError
        where = spec.path if Path(spec.path).exists() else f"{spec.path} (no such local path; tried as a hub name)"
        hint = f" {READABLE}." if spec.resolved_kind == "hf" else ""  # read_records' messages say the format
        raise kind(
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
    count, columns, schema, malformed = _open(spec, key)
    if count == 0:
        raise ValueError(
            f"{key} (source {spec.name!r}) holds no records at {spec.path}; point {key}.path at data with samples "
            "or remove the source."
        )
    notes = _check_columns(spec, key, columns, schema) + _malformed_note(spec, key, malformed, sample_policy)
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
