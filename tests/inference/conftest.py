"""Fixtures of the inference tests: a tiny exported model whose replies vary with the input, its reference
``ModelPredictor`` (the evaluation path the commands must agree with), and small image files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))

from eval_models import varied_model  # noqa: E402

from fvl.eval.predictor import ModelPredictor  # noqa: E402
from fvl.models.loading import load  # noqa: E402

MAX_NEW_TOKENS = 8
COLOURS = {"red.png": (200, 30, 30), "green.png": (30, 200, 30), "blue.png": (30, 30, 200)}


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """`varied_model` exported with save_pretrained (the layout a run's model/ has)."""
    folder = tmp_path_factory.mktemp("inference") / "model"
    varied_model().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def predictor(model_dir) -> ModelPredictor:
    """The exported model as evaluation answers with it: greedy, MAX_NEW_TOKENS."""
    return ModelPredictor(load(model_dir), max_new_tokens=MAX_NEW_TOKENS, device="cpu")


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> Path:
    """A folder of three differently coloured, differently shaped images (and one in a subfolder)."""
    folder = tmp_path_factory.mktemp("images")
    for index, (name, colour) in enumerate(COLOURS.items()):
        Image.new("RGB", (64 + 16 * index, 64), colour).save(folder / name)
    (folder / "more").mkdir()
    Image.new("RGB", (48, 80), (240, 240, 20)).save(folder / "more" / "yellow.jpg")
    return folder
