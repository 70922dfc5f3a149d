"""Hugging Face ``datasets`` sources (kind ``hf``): a saved dataset directory, data files (parquet/json/csv), or a
hub name.

The image column may hold ``datasets.Image`` values (kept undecoded here, so scanning is cheap and decoding
happens in the data-loader workers), path strings (resolved against ``image_root``) or nothing (text-only).
The conversations column holds LLaVA turns (``from``/``value``) or chat turns (``role``/``content``).

``hf`` is the catch-all source kind: ``kind: auto`` gives it every path no other kind claims. :func:`is_saved_dataset`
is the one test for a ``save_to_disk`` folder (evaluation's benchmark files use it too). ``datasets`` is imported
when data are read, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fvl.data.sources.kinds import SOURCE_KINDS
from fvl.data.sources.spec import RecordSource, SourceContents, SourceSpec

if TYPE_CHECKING:
    import datasets

log = logging.getLogger(__name__)

_DATA_FILE_BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv"}
# A relative path that does not exist may still name a hub dataset (``name`` or ``owner/name``).
HUB_NAME = re.compile(r"[\w.-]+(/[\w.-]+)?")
READABLE = (
    "LLaVA data is a .json array or a .jsonl file; Hugging Face data is a save_to_disk directory, a .parquet/.json/"
    ".jsonl/.csv file or a directory of them, or a hub name (set kind=llava or kind=hf when the suffix misleads)"
)


def is_saved_dataset(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by ``DatasetDict.save_to_disk`` (``dataset_dict.json``) or
    ``Dataset.save_to_disk`` (``state.json`` and ``dataset_info.json``)."""
    path = Path(path)
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def load_hf_dataset(spec: SourceSpec) -> datasets.Dataset:
    """Load the split ``spec.split`` of whatever ``spec.path`` names (see :class:`SourceSpec`)."""
    import datasets

    path = Path(spec.path)
    if path.is_dir() and is_saved_dataset(path):
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


@SOURCE_KINDS.register("hf")
class HFSource(RecordSource):
    """Rows of a ``datasets.Dataset`` read through the spec's column mapping."""

    catch_all = True
    hint = READABLE

    def __init__(self, spec: SourceSpec, dataset: datasets.Dataset | None = None) -> None:
        import datasets

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

    @classmethod
    def remote(cls, path: str) -> bool:
        return not Path(path).is_absolute() and HUB_NAME.fullmatch(path) is not None

    @classmethod
    def inspect(cls, spec: SourceSpec) -> SourceContents:
        dataset = load_hf_dataset(spec)
        return SourceContents(len(dataset), list(dataset.column_names), schema=True)

    def __len__(self) -> int:
        return len(self._dataset)

    def record(self, index: int) -> Mapping[str, Any]:
        return self._dataset[index]
