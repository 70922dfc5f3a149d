"""Finding and loading a benchmark's local copy: hub parquet layouts, split-named files, `save_to_disk` folders.

Accepted `path`s:
- a data file (.parquet, .json, .jsonl, .csv, .arrow);
- a `datasets.save_to_disk` folder (a Dataset, or a DatasetDict whose split is picked), recognised as training
  data sources recognise one (`fvl.data.sources.hf.is_saved_dataset`);
- a snapshot of a hub dataset repository: data files anywhere below it, named `<split>-00000-of-00001….parquet`
  (hub convention, e.g. `data/test-…`, `en/dev-…`, `Accounting/validation-…`) or `<split>.<ext>` or
  `<split>/<n>.parquet`. With `subset` (a hub config such as "en" or "DocVQA"), the folder of that name is used
  when it exists.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fvl.data.sources.hf import is_saved_dataset

if TYPE_CHECKING:
    import datasets

BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv", ".arrow": "arrow"}
_METADATA_FILES = {"dataset_info.json", "state.json", "dataset_dict.json"}
_SHARD = re.compile(r"^(.+?)-\d+-of-\d+")


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


class SplitNotFoundError(ValueError):
    """The split asked for (or the benchmark's usual one) is not in the local copy."""


@dataclass(frozen=True)
class TableLocation:
    """Where one split of a local copy lies: its data files, or a `save_to_disk` folder and the splits to join."""

    files: tuple[Path, ...] = ()
    saved: Path | None = None
    splits: tuple[str, ...] = ()


def locate_table(
    path: str | Path, *, subset: str | None = None, split: str | None = None, default_split: str | None = None
) -> TableLocation:
    """Find one split of a local benchmark copy without reading it (see the module docstring for layouts).

    An explicit `split` must exist (files named `<split>_<part>` together also form it, e.g. CV-Bench's
    test_2d and test_3d). Without one, `default_split` (the benchmark's usual split) is used when present, else
    the only split there is. Raises FileNotFoundError (nothing readable there), SplitNotFoundError (listing the
    splits found) or ValueError (a split mixing file types); every message names the path.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"benchmark data not found at {path}; pass the folder or file of the local copy")
    if subset and (path / subset).is_dir():
        path = path / subset
    if path.is_file():
        if path.suffix not in BUILDERS:
            raise ValueError(f"{path} is not a data file; give a {', '.join(sorted(BUILDERS))} file or a folder")
        return TableLocation(files=(path,))
    if is_saved_dataset(path):
        if not (path / "dataset_dict.json").is_file():
            return TableLocation(saved=path)  # a single saved Dataset
        splits = json.loads((path / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        return TableLocation(saved=path, splits=tuple(choose_split(dict.fromkeys(splits), split, default_split, path)))
    files = data_files(path)
    if not files:
        raise FileNotFoundError(f"no data files ({', '.join(sorted(BUILDERS))}) under {path}")
    chosen = [file for name in choose_split(files, split, default_split, path) for file in files[name]]
    builders = {BUILDERS[file.suffix] for file in chosen}
    if len(builders) != 1:
        raise ValueError(f"one split mixes file types {sorted(builders)}: {[str(f) for f in chosen]}; keep one format")
    return TableLocation(files=tuple(chosen))


def read_table(
    path: str | Path,
    *,
    subset: str | None = None,
    split: str | None = None,
    default_split: str | None = None,
    cache_dir: str | Path | None = None,
) -> datasets.Dataset:
    """Load one split of a local benchmark copy (found by `locate_table`) as a `datasets.Dataset`."""
    import datasets

    location = locate_table(path, subset=subset, split=split, default_split=default_split)
    if location.saved is None:
        return _load_files(list(location.files), cache_dir)
    loaded = datasets.load_from_disk(str(location.saved))
    if isinstance(loaded, datasets.Dataset):
        return loaded
    return datasets.concatenate_datasets([loaded[name] for name in location.splits])


def choose_split(available: Mapping[str, Any], split: str | None, default_split: str | None, path: Path) -> list[str]:
    """The split names to load: see `locate_table`."""
    wanted = split or default_split
    if wanted in available:
        return [wanted]
    parts = sorted(name for name in available if wanted and name.startswith(f"{wanted}_"))
    if parts:
        return parts
    if split is None and len(available) == 1:
        return list(available)
    raise SplitNotFoundError(
        f"split {wanted!r} not found at {path}; splits found: {sorted(available)}. Choose one with split="
    )


def _load_files(files: list[Path], cache_dir: str | Path | None) -> datasets.Dataset:
    import datasets

    return datasets.load_dataset(
        BUILDERS[files[0].suffix],
        data_files=[str(file) for file in files],
        split="train",
        cache_dir=str(cache_dir) if cache_dir else None,
    )
