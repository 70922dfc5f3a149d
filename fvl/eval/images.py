"""Turning whatever a dataset's image cell holds (PIL image, bytes, a path, a list of those) into an RGB image.

This module only unwraps cells and resolves relative paths; the decoding itself is training's
(:func:`fvl.data.images.load_image`: EXIF rotation, alpha composited on white, 16-bit greyscale, palettes), so
that a model sees the same pixels in evaluation as in training.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PIL import Image

from fvl.data.images import ImageLoadError, load_image, under_root
from fvl.data.sample import ImageRef


def to_pil(value: Any, root: Path | None = None) -> Image.Image | None:
    """Decode an image cell: PIL image, `{"bytes", "path"}` dict (hub layout), raw bytes, or a file path.

    Relative paths are resolved against `root` (the data file's folder or a user-given image root). A list
    (multi-image cell, e.g. SEED-Bench) yields its first image; `None` or an empty list yields `None`.
    Raises `fvl.data.images.ImageLoadError` (an OSError) when the image cannot be decoded.
    """
    ref = image_ref(value, root)
    if ref is None:
        return None
    try:
        return load_image(ref)
    except ImageLoadError as error:
        if isinstance(ref, Path) and str(ref) not in str(error):  # name the file that does not decode
            raise ImageLoadError(f"{ref}: {error}") from error
        if isinstance(ref, (bytes, bytearray)):  # PIL's message would show a BytesIO object
            cause = type(error.__cause__).__name__ if error.__cause__ is not None else "ImageLoadError"
            raise ImageLoadError(f"the {len(ref)} image bytes stored in the data do not decode ({cause})") from error
        raise


def image_ref(value: Any, root: Path | None = None) -> ImageRef | None:
    """What `load_image` decodes for a cell: the cell's image, bytes, or resolved path (see `to_pil`)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return image_ref(value[0], root) if value else None
    if isinstance(value, dict):
        return image_ref(value["bytes"] if value.get("bytes") is not None else value.get("path"), root)
    if isinstance(value, (str, os.PathLike)):
        return _resolve(Path(value), root)
    if isinstance(value, (Image.Image, bytes, bytearray)):
        return value
    raise TypeError(f"cannot read an image from a {type(value).__name__} cell; expected a path, bytes or PIL image")


def _resolve(path: Path, root: Path | None) -> Path:
    resolved = Path(under_root(path, root))
    if not resolved.is_file():
        raise FileNotFoundError(
            f"image {path} not found (looked at {resolved}); set the image root to the folder the paths are relative to"
        )
    return resolved
