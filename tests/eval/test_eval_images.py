"""Evaluation decodes images exactly as training does (one decoder: ``fvl.data.images.load_image``)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from eval_models import tiny_model
from PIL import Image

from fvl.data.images import ImageProcessor, ImageSettings, load_image
from fvl.eval import get_benchmark
from fvl.eval.predictor import ModelPredictor

EXIF_ORIENTATION = 0x0112


@pytest.fixture(scope="module")
def predictor() -> ModelPredictor:
    return ModelPredictor(tiny_model(), input_format={"image_policy": "pad"})


def write_images(folder: Path) -> None:
    """A transparent-background PNG (its hidden colour black) and a JPEG stored sideways with an EXIF rotation."""
    rgba = np.zeros((12, 20, 4), dtype=np.uint8)
    rgba[3:9, 5:15] = (200, 30, 30, 255)
    Image.fromarray(rgba, "RGBA").save(folder / "logo.png")
    pixels = np.zeros((10, 24, 3), dtype=np.uint8)
    pixels[:, :12] = (250, 250, 0)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # shown rotated 90° clockwise
    Image.fromarray(pixels, "RGB").save(folder / "photo.jpg", exif=exif, quality=95)


def test_training_and_evaluation_decode_the_same_pixels(predictor: ModelPredictor, tmp_path: Path) -> None:
    write_images(tmp_path)
    records = [{"question": "What is it?", "answer": "x", "image": name} for name in ("logo.png", "photo.jpg")]
    (tmp_path / "set.json").write_text(json.dumps(records))
    samples = get_benchmark("custom", metric="exact_match").load(tmp_path / "set.json", cache_dir=tmp_path / "cache")
    model = predictor.model
    training = ImageProcessor(ImageSettings(model.image_size, "pad", model.image_mean, model.image_std))
    for index, name in enumerate(("logo.png", "photo.jpg")):
        expected = training(load_image(tmp_path / name))
        assert torch.equal(predictor.encode(samples[index])["pixel_values"], expected), name
        with Image.open(tmp_path / name) as image:
            plain = training(image.convert("RGB"))
        assert not torch.equal(plain, expected), f"{name}: the test image must need more than convert('RGB')"
    assert samples[0].image.getpixel((0, 0)) == (255, 255, 255)  # transparency composited on white
    assert samples[1].image.size == (10, 24)  # upright: the EXIF rotation applied
