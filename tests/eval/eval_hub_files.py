"""Writers of tiny benchmark copies in hub layouts: parquet with image bytes, CSV (imported as ``eval_hub_files``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import datasets
from PIL import Image

RED, GREEN, BLUE = (255, 0, 0), (0, 128, 0), (0, 0, 255)


def png(color: tuple[int, int, int] = RED, size: tuple[int, int] = (4, 4)) -> bytes:
    """A tiny single-colour PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def table(columns: dict[str, list[Any]]) -> datasets.Dataset:
    """A Dataset whose `bytes` columns become images and lists of `bytes` become image lists, as on the hub."""
    dataset = datasets.Dataset.from_dict(columns)
    for name, values in columns.items():
        first = next((value for value in values if value is not None), None)
        if isinstance(first, bytes):
            dataset = dataset.cast_column(name, datasets.Image())
        elif isinstance(first, list) and first and isinstance(first[0], bytes):
            dataset = dataset.cast_column(name, datasets.List(datasets.Image()))
    return dataset


def write_files(root: Path, files: dict[str, dict[str, list[Any]]]) -> None:
    """Write each `relative path → columns` as parquet or CSV under `root`."""
    for relative, columns in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            table(columns).to_csv(str(path), index=False)
        else:
            table(columns).to_parquet(str(path))


def first_row(columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A one-row copy, used as a decoy split or config that must not be loaded."""
    return {name: values[:1] for name, values in columns.items()}
