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


def varied_model() -> FlorenceVL:
    """A tiny random FlorenceVL (hidden size 64, two-layer projector) with its LLM weights scaled up, so that its
    greedy replies differ from input to input (identical replies would make prediction comparisons vacuous)."""
    torch.manual_seed(0)
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 64}, {}, "mlp2x_gelu")
    with torch.no_grad():
        for parameter in model.llm.parameters():
            parameter.mul_(6.0)
    return model.eval()
