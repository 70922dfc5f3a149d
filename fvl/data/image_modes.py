"""Any PIL image mode to 8-bit RGB, keeping what the pixel values mean: :func:`to_rgb`.

- transparency (``RGBA``, ``LA``, ``PA``, premultiplied ``RGBa``/``La``, or a ``transparency`` entry: palette
  alphas, or the one transparent colour of an ``L``/``RGB`` image): composited onto white, so transparent
  text stays readable;
- palette (``P``): its colours;
- ``CMYK`` (print JPEGs; PIL undoes Adobe's inverted storage): ``R = (255 - C)(255 - K) / 255`` and so on, without
  an ICC profile;
- 16-bit greyscale (``I;16``, ``I;16B``, ...): by the 16-bit range, ``v * 255 / 65535``;
- 32-bit integer greyscale (``I``): black stays 0 and white is the top of the smallest range of 8, 16 or 31 bits
  that holds the largest value (``v * 255 / (2**bits - 1)``), so 8- and 16-bit data stored in 32 bits keep
  their brightness; an image with negative values is stretched from its minimum (black) to its maximum;
- 32-bit float greyscale (``F``): values within [0, 1] are multiplied by 255, values within [0, 255] are kept,
  any other range is stretched from its minimum to its maximum; NaN or infinite values raise ``ValueError``;
- anything else (``1``, ``L``, ``RGB``, ``YCbCr``, ``HSV``, ...): PIL's conversion.

Scaled values are rounded to the nearest 8-bit level.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_WHITE = (255, 255, 255, 255)


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` mapped linearly from ``[low, high]`` onto 0–255, rounded (all 0 when the range is empty)."""
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip(np.rint((values - low) * (255.0 / (high - low))), 0, 255).astype(np.uint8)


def _float_levels(values: np.ndarray) -> np.ndarray:
    if not np.isfinite(values).all():
        raise ValueError("the float image holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low >= 0 and high <= 1:
        return _scale(values, 0, 1)
    if low >= 0 and high <= 255:
        return _scale(values, 0, 255)
    return _scale(values, low, high)


def _integer_levels(values: np.ndarray, sixteen_bit: bool) -> np.ndarray:
    low, high = int(values.min()), int(values.max())
    if low < 0:
        return _scale(values, low, high)
    bits = 16 if sixteen_bit else next(bits for bits in (8, 16, 31) if high < 2**bits)
    return _scale(values, 0, 2**bits - 1)


def _deep_grey(image: Image.Image) -> Image.Image:
    values = np.asarray(image).astype(np.float64)
    if image.mode == "F":
        levels = _float_levels(values)
    else:
        levels = _integer_levels(values, sixteen_bit=image.mode.startswith("I;16"))
    return Image.fromarray(levels, "L")


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` (loaded, any mode) as 8-bit RGB, as the module docstring says."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return _deep_grey(image).convert("RGB")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        white = Image.new("RGBA", image.size, _WHITE)
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")
