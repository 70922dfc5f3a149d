"""Finding and loading a benchmark's local copy: hub parquet layouts, split-named files, `save_to_disk` folders.

Accepted `path`s:
- a data file (.parquet, .json, .jsonl, .csv, .arrow);
- a `datasets.save_to_disk` folder (a Dataset, or a DatasetDict whose split is picked);
- a snapshot of a hub dataset repository: data files anywhere below it, named `<split>-00000-of-00001….parquet`
  (hub convention, e.g. `data/test-…`, `en/dev-…`, `Accounting/validation-…`) or `<split>.<ext>` or
  `<split>/<n>.parquet`. With `subset` (a hub config such as "en" or "DocVQA"), the folder of that name is used
  when it exists.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datasets

BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv", ".arrow": "arrow"}
_METADATA_FILES = {"dataset_info.json", "state.json", "dataset_dict.json"}
_SHARD = re.compile(r"^(.+?)-\d+-of-\d+")


def is_saved_dataset(path: Path) -> bool:
    """Whether `path` is a folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def split_of(file: Path) -> str:
    """The split a data file belongs to, from hub naming: `test-00000-of-00002-x.parquet` → "test"."""
    stem = file.name[: -len(file.suffix)] if file.suffix else file.name
    shard = _SHARD.match(stem)
    if shard:
        return shard.group(1)
    return file.parent.name if stem.isdigit() else stem


def data_files(root: Path) -> dict[str, list[Path]]:
    """Data files under `root` grouped by split (hidden folders and `save_to_disk` metadata skipped)."""
    found: dict[str, list[Path]] = defaultdict(list)
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root).parts
        if file.suffix in BUILDERS and file.is_file() and file.name not in _METADATA_FILES:
            if not any(part.startswith(".") for part in relative):
                found[split_of(file)].append(file)
    return dict(found)


def read_table(
    path: str | Path,
    *,
    subset: str | None = None,
    split: str | None = None,
    default_split: str | None = None,
    cache_dir: str | Path | None = None,
) -> datasets.Dataset:
    """Load one split of a local benchmark copy as a `datasets.Dataset` (see the module docstring for layouts).

    An explicit `split` must exist (files named `<split>_<part>` together also form it, e.g. CV-Bench's
    test_2d and test_3d). Without one, `default_split` (the benchmark's usual split) is used when present, else
    the only split there is. Errors name the path and list the splits found.
    """
    import datasets

    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"benchmark data not found at {path}; pass the folder or file of the local copy")
    if subset and (path / subset).is_dir():
        path = path / subset
    if path.is_file():
        return _load_files([path], cache_dir)
    if is_saved_dataset(path):
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.Dataset):
            return loaded
        names = choose_split(dict(loaded), split, default_split, path)
        return datasets.concatenate_datasets([loaded[name] for name in names])
    files = data_files(path)
    if not files:
        raise FileNotFoundError(f"no data files ({', '.join(sorted(BUILDERS))}) under {path}")
    names = choose_split(files, split, default_split, path)
    return _load_files([file for name in names for file in files[name]], cache_dir)


def choose_split(available: Mapping[str, Any], split: str | None, default_split: str | None, path: Path) -> list[str]:
    """The split names to load: see `read_table`."""
    wanted = split or default_split
    if wanted in available:
        return [wanted]
    parts = sorted(name for name in available if wanted and name.startswith(f"{wanted}_"))
    if parts:
        return parts
    if split is None and len(available) == 1:
        return list(available)
    raise ValueError(f"split {wanted!r} not found at {path}; splits found: {sorted(available)}. Choose one with split=")


def _load_files(files: list[Path], cache_dir: str | Path | None) -> datasets.Dataset:
    import datasets

    builders = {BUILDERS[file.suffix] for file in files}
    if len(builders) != 1:
        raise ValueError(f"one split mixes file types {sorted(builders)}: {[str(f) for f in files]}; keep one format")
    return datasets.load_dataset(
        builders.pop(),
        data_files=[str(file) for file in files],
        split="train",
        cache_dir=str(cache_dir) if cache_dir else None,
    )
