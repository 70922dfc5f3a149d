"""Hugging Face ``datasets`` sources: a saved dataset directory, data files (parquet/json/csv), or a hub name.

The image column may hold ``datasets.Image`` values (kept undecoded here, so scanning is cheap and decoding
happens in the data-loader workers), path strings (resolved against ``image_root``) or nothing (text-only).
The conversations column holds LLaVA turns (``from``/``value``) or chat turns (``role``/``content``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import datasets

from fvl.data.sources.spec import RecordSource, SourceSpec

log = logging.getLogger(__name__)

_DATA_FILE_BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv"}
_SAVED_DATASET_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


def load_hf_dataset(spec: SourceSpec) -> datasets.Dataset:
    """Load the split ``spec.split`` of whatever ``spec.path`` names (see :class:`SourceSpec`)."""
    path = Path(spec.path)
    if path.is_dir() and any((path / marker).exists() for marker in _SAVED_DATASET_MARKERS):
        loaded = datasets.load_from_disk(str(path))
    elif path.is_file() and path.suffix.lower() in _DATA_FILE_BUILDERS:
        loaded = datasets.load_dataset(_DATA_FILE_BUILDERS[path.suffix.lower()], data_files=str(path))
    else:  # a data directory or a hub name
        loaded = datasets.load_dataset(spec.path)
    if isinstance(loaded, datasets.DatasetDict):
        if spec.split not in loaded:
            raise KeyError(f"source {spec.name!r}: split {spec.split!r} not found; available: {sorted(loaded)}")
        loaded = loaded[spec.split]
    return loaded


class HFSource(RecordSource):
    """Rows of a ``datasets.Dataset`` read through the spec's column mapping."""

    def __init__(self, spec: SourceSpec, dataset: datasets.Dataset | None = None) -> None:
        super().__init__(spec)
        dataset = load_hf_dataset(spec) if dataset is None else dataset
        if spec.conversations_column not in dataset.column_names:
            raise KeyError(
                f"source {spec.name!r} has no column {spec.conversations_column!r} (columns: {dataset.column_names}); "
                "set conversations_column in the source spec"
            )
        if spec.image_column not in dataset.column_names:
            log.info("source %r has no column %r: all its samples are text-only", spec.name, spec.image_column)
        elif isinstance(dataset.features[spec.image_column], datasets.Image):
            dataset = dataset.cast_column(spec.image_column, datasets.Image(decode=False))
        self._dataset = dataset

    def __len__(self) -> int:
        return len(self._dataset)

    def record(self, index: int) -> Mapping[str, Any]:
        return self._dataset[index]
