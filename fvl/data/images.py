"""Image loading and Florence-2 preprocessing with PIL and torch (no torchvision).

Florence-2 preprocessing: bicubic resize to ``size``×``size`` (no aspect preservation, no crop), /255,
then mean/std normalisation. The recipe's two policies (DESIGN.md §2):

- ``square``: resize directly (pretraining);
- ``pad``: first pad to a centred square with the mean colour, then resize (finetuning), so the padding
  normalises to ~0.

Loading applies the EXIF orientation and converts any mode to RGB: palette and alpha images are composited
onto white (so transparent text stays readable), 16-bit greyscale is scaled to 8 bits.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from fvl.constants import IMAGENET_MEAN, IMAGENET_STD
from fvl.data.sample import ImageRef

IMAGE_POLICIES = ("square", "pad")


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
        """The padding colour: the normalisation mean in 0–255 RGB."""
        return tuple(round(m * 255) for m in self.mean)


def _unwrap(ref: ImageRef) -> ImageRef:
    if isinstance(ref, dict):  # a `datasets` Image value stored undecoded: {"bytes": ..., "path": ...}
        return ref["bytes"] if ref.get("bytes") is not None else ref.get("path")
    return ref


def probe_image(ref: ImageRef) -> str | None:
    """A cheap check without decoding: why the image is unusable (empty, missing, zero-size file), or None."""
    ref = _unwrap(ref)
    if ref is None or isinstance(ref, (bytes, bytearray)) and not ref:
        return "empty image reference"
    if isinstance(ref, (str, os.PathLike)):
        path = Path(ref)
        if not path.is_file():
            return f"missing image file {str(path)!r}"
        if path.stat().st_size == 0:
            return f"zero-size image file {str(path)!r}"
    return None


def _open(ref: ImageRef) -> Image.Image:
    reason = probe_image(ref)
    if reason is not None:
        raise ImageLoadError(reason)
    ref = _unwrap(ref)
    if isinstance(ref, Image.Image):
        return ref
    if isinstance(ref, (bytes, bytearray)):
        return Image.open(io.BytesIO(ref))
    if isinstance(ref, (str, os.PathLike)):
        return Image.open(ref)
    raise ImageLoadError(f"unsupported image reference of type {type(ref).__name__}")


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I;16"):
        image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def load_image(ref: ImageRef) -> Image.Image:
    """Open ``ref`` (a path, encoded bytes, a PIL image or a `datasets` dict) as an upright RGB image."""
    try:
        image = _open(ref)
        image = ImageOps.exif_transpose(image)
        image.load()
    except ImageLoadError:
        raise
    except Exception as error:  # PIL raises many types (OSError, SyntaxError, ValueError, DecompressionBomb…)
        raise ImageLoadError(f"cannot decode image: {type(error).__name__}: {error}") from error
    if image.width == 0 or image.height == 0:
        raise ImageLoadError(f"image has zero size {image.size}")
    return _to_rgb(image)


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
