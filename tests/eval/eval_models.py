"""Tiny random FlorenceVL models for evaluation tests, in memory or exported (imported as ``eval_models``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fvl.models.builder import build_florence_vl
from fvl.models.florence_vl import FlorenceVL


def tiny_model(**input_format: Any) -> FlorenceVL:
    """A tiny random FlorenceVL (64 px images, 5 image tokens) in eval mode; ``input_format`` entries are recorded
    in it as training records them."""
    torch.manual_seed(0)
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}, {}, "linear")
    model.input_format.update(input_format)
    return model.eval()


def export_tiny_model(folder: Path, **input_format: Any) -> Path:
    """`tiny_model` saved with ``save_pretrained`` into ``folder``; returns the folder."""
    tiny_model(**input_format).save_pretrained(folder)
    return folder
