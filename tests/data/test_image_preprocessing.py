"""Image loading (modes, EXIF, failures) and Florence-2 preprocessing with the square and pad policies."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from data_helpers import save_image
from PIL import Image

from fvl.constants import IMAGENET_MEAN, IMAGENET_STD
from fvl.data.images import ImageLoadError, ImageProcessor, ImageSettings, load_image, probe_image

MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)
RED = (200, 30, 30)


def unnormalise(pixels: torch.Tensor) -> torch.Tensor:
    return pixels * STD + MEAN


def test_square_resizes_without_padding() -> None:
    pixels = ImageProcessor(ImageSettings(size=8, policy="square"))(Image.new("RGB", (32, 16), RED))
    assert pixels.shape == (3, 8, 8) and pixels.dtype == torch.float32
    expected = (torch.tensor(RED, dtype=torch.float32).view(3, 1, 1) / 255 - MEAN) / STD
    assert torch.allclose(pixels, expected.expand(3, 8, 8), atol=1e-5)


def test_pad_centres_the_image_on_the_truncated_mean_colour_which_normalises_to_about_zero() -> None:
    # 40x8 → a 40x40 canvas with the image in rows 16..23; size 40 means no resampling, so values are exact.
    pixels = ImageProcessor(ImageSettings(size=40, policy="pad"))(Image.new("RGB", (40, 8), RED))
    padding = torch.cat([pixels[:, :16], pixels[:, 24:]], dim=1)
    # (int(255 m) / 255 - m) / s per channel, the reference's colour (123, 116, 103): under one quantisation step
    expected = torch.tensor([(int(255 * m) / 255 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)])
    assert torch.allclose(padding, expected.view(3, 1, 1).expand_as(padding), atol=1e-5)
    assert padding.abs().max() < 0.02
    assert torch.allclose(unnormalise(pixels[:, 16:24]) * 255, torch.tensor(RED).float().view(3, 1, 1), atol=1e-3)
    resized = ImageProcessor(ImageSettings(size=8, policy="pad"))(Image.new("RGB", (64, 16), RED))
    assert resized.shape == (3, 8, 8) and resized[:, 0].abs().max() < 0.02 and resized[:, 7].abs().max() < 0.02


def test_pad_leaves_square_images_alone() -> None:
    image = Image.new("RGB", (16, 16), RED)
    settings = ImageSettings(size=8, policy="pad")
    assert torch.equal(ImageProcessor(settings)(image), ImageProcessor(ImageSettings(size=8))(image))


def test_grayscale_palette_and_alpha_become_rgb(tmp_path: Path) -> None:
    grey = load_image(Image.new("L", (4, 4), 100))
    assert grey.mode == "RGB" and grey.getpixel((0, 0)) == (100, 100, 100)
    transparent = load_image(Image.new("RGBA", (4, 4), (0, 0, 0, 0)))
    assert transparent.getpixel((0, 0)) == (255, 255, 255)  # composited onto white, not black
    half = load_image(Image.new("LA", (4, 4), (0, 128)))
    assert half.getpixel((0, 0))[0] in (127, 128)
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.info["transparency"] = 0
    assert load_image(palette).getpixel((0, 0)) == (10, 200, 30)
    deep = Image.frombytes("I;16", (2, 1), (65535).to_bytes(2, "little") + (256).to_bytes(2, "little"))
    assert [load_image(deep).getpixel((x, 0)) for x in range(2)] == [(255, 255, 255), (1, 1, 1)]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (20, 10), (255, 0, 0))
    image.paste((0, 0, 255), (10, 0, 20, 10))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = tmp_path / "rotated.png"
    image.save(path, exif=exif)
    upright = load_image(str(path))
    assert upright.size == (10, 20)
    assert upright.getpixel((5, 2)) == (255, 0, 0) and upright.getpixel((5, 17)) == (0, 0, 255)


def test_paths_bytes_and_dataset_dicts_load_alike(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png")
    data = path.read_bytes()
    for ref in (str(path), path, data, {"bytes": data, "path": None}, {"bytes": None, "path": str(path)}):
        assert load_image(ref).getpixel((0, 0)) == (200, 30, 30)


def test_bad_images_raise_with_the_reason(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.touch()
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG not really")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), RED).save(buffer, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(buffer.getvalue()[:60])
    cases = [
        (tmp_path / "nope.png", "missing image file"),
        (empty, "zero-size image file"),
        (corrupt, "cannot decode image"),
        (truncated, "cannot decode image"),
        (b"", "empty image reference"),
    ]
    for ref, message in cases:
        with pytest.raises(ImageLoadError, match=message):
            load_image(ref)


def test_probe_checks_files_without_decoding(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.touch()
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"junk")
    assert probe_image(str(tmp_path / "nope.png")).startswith("missing image file")
    assert probe_image(str(empty)).startswith("zero-size image file")
    assert probe_image(str(corrupt)) is None  # found at load time instead


def test_settings_validate() -> None:
    with pytest.raises(ValueError, match="policy 'crop' is unknown"):
        ImageSettings(policy="crop")
    assert ImageSettings().fill_colour == (123, 116, 103)  # the reference truncates the ImageNet mean
