"""Checks of written pictures, for the tests of fvl.report and fvl.analysis (imported as ``picture_checks``: a
``conftest`` module name would be ambiguous beside tests/report's)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def assert_png(path: Path, min_side: int = 200, max_side: int = 4000) -> tuple[int, int]:
    """``path`` is a whole PNG of a sensible size; returns (width, height)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert min_side <= image.width <= max_side and min_side <= image.height <= max_side, image.size
        image.verify()
        return image.size
