"""Image loading and Florence-2 preprocessing with PIL and torch (no torchvision).

Florence-2 preprocessing: bicubic resize to ``size``×``size`` (no aspect preservation, no crop), /255,
then mean/std normalisation. The reference recipe's two policies:

- ``square``: resize directly (pretraining);
- ``pad``: first pad to a centred square with the mean colour, then resize (finetuning), so the padding
  normalises to ~0.

:func:`load_image` is the one decoder, for training and evaluation alike (and :func:`under_root` the one way a
relative image path is resolved). Every fault ends in an
:class:`ImageLoadError` naming the image (the dataset skips and counts it under ``image_policy=skip``):

- a missing, zero-byte or empty reference (:func:`probe_image`, also run by the scan without decoding);
- bytes that are no image, or a damaged one;
- a truncated file: always an error, even where ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is set (PIL would pad
  the missing rows silently);
- more than ``max_pixels`` pixels (default :data:`MAX_IMAGE_PIXELS`; ``data.max_image_pixels`` in training), read
  from the header before anything is decoded: a guard against decompression bombs that replaces PIL's own
  (which only warns below twice its limit).

The first frame of an animated GIF/PNG is used, the EXIF orientation applied, and any mode converted to RGB by
:func:`fvl.data.image_modes.to_rgb` (transparency onto white, CMYK, 16-bit, 32-bit integer and float). For
these loads PIL's two settings are switched (truncation an error, its pixel limit off) under a lock and restored
after: other threads that decode images with PIL at the same moment see them too.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps

from fvl.constants import IMAGENET_MEAN, IMAGENET_STD
from fvl.data.image_modes import to_rgb
from fvl.data.sample import ImageRef

IMAGE_POLICIES = ("square", "pad")
MAX_IMAGE_PIXELS = 100_000_000  # 10000 x 10000; PIL's own limit (89.5M) only warns, up to twice that
_PIL_SETTINGS = threading.Lock()


class ImageLoadError(OSError):
    """An image is missing, empty or cannot be decoded."""


@dataclass(frozen=True)
class ImageSettings:
    """How images become ``pixel_values``: output ``size``, ``policy`` (square|pad) and normalisation."""

    size: int = 768
    policy: str = "square"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.policy not in IMAGE_POLICIES:
            raise ValueError(f"image policy {self.policy!r} is unknown; use one of {IMAGE_POLICIES}")
        if self.size <= 0:
            raise ValueError(f"image size must be positive, got {self.size}")
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))

    @property
    def fill_colour(self) -> tuple[int, int, int]:
        """The padding colour: the normalisation mean in 0–255 RGB, truncated as the reference computes it
        (``tuple(int(x * 255) for x in image_mean)``): (123, 116, 103) for the ImageNet mean."""
        return tuple(int(m * 255) for m in self.mean)


def under_root(path: str | os.PathLike, root: str | os.PathLike | None) -> str:
    """An image path as data give it, resolved the one way training and evaluation both do: an absolute path (or
    any path without a ``root``) as it is, a relative one under ``root``."""
    return os.fspath(path) if root is None or os.path.isabs(path) else os.path.join(root, path)


def _unwrap(ref: ImageRef) -> ImageRef:
    if isinstance(ref, dict):  # a `datasets` Image value stored undecoded: {"bytes": ..., "path": ...}
        return ref["bytes"] if ref.get("bytes") is not None else ref.get("path")
    return ref


def describe(ref: ImageRef) -> str:
    """How messages name the image ``ref``: its file, or what kind of in-memory image it is."""
    if isinstance(ref, dict) and ref.get("path"):
        return f"image file {str(ref['path'])!r}" + (" (its bytes)" if ref.get("bytes") is not None else "")
    ref = _unwrap(ref)
    if isinstance(ref, (str, os.PathLike)):
        return f"image file {os.fspath(ref)!r}"
    if isinstance(ref, (bytes, bytearray)):
        return f"image bytes ({len(ref):,} bytes)"
    return f"in-memory image ({type(ref).__name__})"


def probe_image(ref: ImageRef) -> str | None:
    """A cheap check without decoding: why the image is unusable (empty, missing, zero-size file, a reference of
    an unknown type), or None."""
    ref = _unwrap(ref)
    if ref is None or isinstance(ref, (bytes, bytearray)) and not ref:
        return "empty image reference"
    if isinstance(ref, (str, os.PathLike)):
        path = Path(ref)
        if not path.is_file():
            return f"missing image file {str(path)!r}"
        if path.stat().st_size == 0:
            return f"zero-size image file {str(path)!r}"
    elif not isinstance(ref, (bytes, bytearray, Image.Image)):
        return f"unsupported image reference of type {type(ref).__name__}"
    return None


def _open(ref: ImageRef) -> Image.Image:
    ref = _unwrap(ref)
    if isinstance(ref, Image.Image):
        return ref
    if isinstance(ref, (bytes, bytearray)):
        return Image.open(io.BytesIO(ref))
    return Image.open(ref)


@contextmanager
def _strict_pil() -> Iterator[None]:
    """PIL's settings for one load (module docstring): truncated data raises, its pixel limit is off (ours
    is checked instead)."""
    with _PIL_SETTINGS:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS
        ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = False, None
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(image: Image.Image, ref: ImageRef, max_pixels: int | None) -> None:
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageLoadError(
            f"{describe(ref)} is {width}x{height} = {width * height:,} pixels, more than max_image_pixels="
            f"{max_pixels:,} (the guard against decompression bombs); shrink the image, or raise "
            "data.max_image_pixels when images this large are wanted"
        )
    if width == 0 or height == 0:
        raise ImageLoadError(f"{describe(ref)} has zero size {image.size}")


def load_image(ref: ImageRef, max_pixels: int | None = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open ``ref`` (a path, encoded bytes, a PIL image or a `datasets` dict) as an upright RGB image of at most
    ``max_pixels`` pixels (None: no limit); every failure raises :class:`ImageLoadError` (module docstring)."""
    reason = probe_image(ref)
    if reason is not None:
        raise ImageLoadError(reason)
    try:
        with _strict_pil():
            image = _open(ref)
            _check_pixels(image, ref, max_pixels)
            if image.tell():  # an animated image moved past its first frame
                image.seek(0)
            image = ImageOps.exif_transpose(image)
            image.load()
        return to_rgb(image)
    except ImageLoadError:
        raise
    except Exception as error:  # PIL raises many types (OSError, SyntaxError, ValueError, struct.error…)
        raise ImageLoadError(f"cannot decode {describe(ref)}: {type(error).__name__}: {error}") from error


def pad_to_square(image: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """Centre ``image`` on a square canvas of its longer side filled with ``colour``."""
    if image.width == image.height:
        return image
    side = max(image.size)
    canvas = Image.new("RGB", (side, side), colour)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


class ImageProcessor:
    """Turns an RGB PIL image into a normalised float tensor (3, size, size) following :class:`ImageSettings`."""

    def __init__(self, settings: ImageSettings) -> None:
        self.settings = settings
        self._mean = torch.tensor(settings.mean).view(3, 1, 1)
        self._std = torch.tensor(settings.std).view(3, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        if self.settings.policy == "pad":
            image = pad_to_square(image, self.settings.fill_colour)
        size = self.settings.size
        image = image.resize((size, size), Image.Resampling.BICUBIC)
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255)
        return (pixels - self._mean) / self._std
