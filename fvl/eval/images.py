"""Turning whatever a dataset's image cell holds (PIL image, bytes, a path, a list of those) into an RGB image."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from PIL import Image


def to_pil(value: Any, root: Path | None = None) -> Image.Image | None:
    """Decode an image cell: PIL image, `{"bytes", "path"}` dict (hub layout), raw bytes, or a file path.

    Relative paths are resolved against `root` (the data file's folder or a user-given image root). A list
    (multi-image cell, e.g. SEED-Bench) yields its first image; `None` or an empty list yields `None`.
    """
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return to_pil(value[0], root) if value else None
    if isinstance(value, Image.Image):
        return value.convert("RGB")
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return to_pil(value["bytes"], root)
        return to_pil(value.get("path"), root)
    if isinstance(value, (bytes, bytearray)):
        with Image.open(io.BytesIO(value)) as image:
            return image.convert("RGB")
    if isinstance(value, (str, os.PathLike)):
        return _open_path(Path(value), root)
    raise TypeError(f"cannot read an image from a {type(value).__name__} cell; expected a path, bytes or PIL image")


def _open_path(path: Path, root: Path | None) -> Image.Image:
    resolved = path if path.is_absolute() or root is None else root / path
    if not resolved.is_file():
        raise FileNotFoundError(
            f"image {path} not found (looked at {resolved}); set the image root to the folder the paths are relative to"
        )
    with Image.open(resolved) as image:
        return image.convert("RGB")
